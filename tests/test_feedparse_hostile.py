"""Hostile input for the feed parser: huge, lying, invisible and entity-bombed feeds."""

from __future__ import annotations

import tracemalloc

import pytest

from bot.articles.format import MAX_TAGS, MAX_TITLE_LENGTH
from bot.feeds.parse import FeedError, entry_article, parse_feed

NOW_RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{}</channel></rss>'


def rss(items: str) -> bytes:
    return NOW_RSS.format(items).encode()


def item(guid: str, title: str = "Headline", link: str = "", extra: str = "") -> str:
    link_xml = f"<link>{link}</link>" if link else ""
    return (
        f"<item><title>{title}</title><guid>{guid}</guid>{link_xml}"
        f"<description>Something happened in the harbour today.</description>{extra}</item>"
    )


def test_thousands_of_categories_give_at_most_the_article_tag_limit() -> None:
    cats = "".join(
        f"<category>topic {i}</category>" for i in range(2_000)
    )  # 50,000 takes ~65 s in feedparser: see report
    parsed = parse_feed(rss(item("g1", extra=cats)))
    (entry,) = parsed.entries
    from datetime import UTC, datetime

    article = entry_article(
        entry, feed_id=1, source="Wire", feed_tags=[], feed_category=None,
        now=datetime(2026, 11, 28, tzinfo=UTC),
    )  # fmt: skip
    assert len(article.tags) == MAX_TAGS
    assert article.category == "topic 0"


def test_a_100_kb_entry_id_is_cut_to_a_storable_key() -> None:
    parsed = parse_feed(rss(item("x" * 100_000)))
    assert len(parsed.entries[0].key) == 2000


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "http://wire.example/a b",
        "https://wire.example/" + "a" * 3000,
        "vbscript:msgbox",
        "file:///etc/passwd",
    ],
)
def test_dangerous_or_broken_links_are_dropped(link: str) -> None:
    parsed = parse_feed(rss(item("g1", link=link)), url="https://wire.example/feed")
    assert parsed.entries[0].link is None


@pytest.mark.parametrize(
    "title", ["   \t  ", "\u200b\u200b", "\u200b \ufeff \u2060", "\u202e\u2066 "]
)
def test_an_invisible_title_is_replaced_by_the_first_words(title: str) -> None:
    parsed = parse_feed(rss(item("g1", title=title)))
    assert parsed.entries[0].title == "Something happened in the harbour today."


def test_an_rtl_override_inside_a_visible_title_is_dropped() -> None:
    # The compact digest writes "· source · time" after the headline on its line, which
    # an unterminated override would turn around (bot.articles.plaintext.one_line).
    parsed = parse_feed(rss(item("g1", title="Harbour \u202eswen")))
    assert parsed.entries[0].title == "Harbour swen"
    assert len(parsed.entries[0].title) <= MAX_TITLE_LENGTH


def _bomb(levels: int) -> bytes:
    ents = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{(f"&l{i - 1};") * 10}">' for i in range(1, levels + 1)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{ents}]><rss version="2.0"><channel>'
        f"<title>&l{levels};</title>{item('g1', title=f'x &l{levels};')}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("levels", [3, 9, 12])
def test_an_entity_bomb_served_as_a_feed_is_refused_before_expanding(levels: int) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(FeedError, match="entit"):
            parse_feed(_bomb(levels), content_type="application/rss+xml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # refused before any expansion


def test_an_external_entity_is_refused() -> None:
    doc = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<rss version="2.0"><channel><title>&x;</title>{item("g1")}</channel></rss>'
    ).encode()
    with pytest.raises(FeedError, match="entit"):
        parse_feed(doc)


def test_a_plain_doctype_without_entities_still_parses() -> None:
    doc = (
        '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        f'<rss version="0.91"><channel><title>Old</title>{item("g1")}</channel></rss>'
    ).encode()
    assert len(parse_feed(doc).entries) == 1


def test_rss_labelled_as_json_is_read_as_rss() -> None:
    parsed = parse_feed(rss(item("g1")), content_type="application/json")
    assert [e.key for e in parsed.entries] == ["g1"]


def test_json_feed_labelled_as_rss_is_read_as_json() -> None:
    doc = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", '
        b'"items": [{"id": "1", "content_text": "Hello there"}]}'
    )
    parsed = parse_feed(doc, content_type="application/rss+xml")
    assert [e.key for e in parsed.entries] == ["1"]


def test_the_same_guid_twice_in_one_feed_is_parsed_as_given() -> None:
    # Storage keeps one article for the key (see test_feeds_hostile).
    parsed = parse_feed(rss(item("dup", title="First") + item("dup", title="Second")))
    assert [e.key for e in parsed.entries] == ["dup", "dup"]
