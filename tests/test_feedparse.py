"""Feeds into entries and entries into articles: every format, every fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles.format import MAX_TAGS, MAX_TITLE_LENGTH
from bot.articles.tags import make_tag
from bot.feeds.parse import (
    MAX_BODY,
    MAX_ENTRIES,
    FeedArticle,
    FeedEntry,
    FeedError,
    entry_article,
    html_to_text,
    parse_feed,
)
from tests.auxil.feedserver import FIXTURES

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def fixture(name: str, content_type: str | None = None) -> list[tuple[str, str | None]]:
    feed = parse_feed(
        (FIXTURES / name).read_bytes(), content_type=content_type, url="https://x.example/feed"
    )
    return [(e.title, e.link) for e in feed.entries]


@pytest.mark.parametrize(
    ("name", "title", "entries"),
    [
        (
            "rss091.xml",
            "Old Style Wire",
            [("Wire service resumes", "https://wire.example/resumes")],
        ),
        (
            "rss10.rdf",
            "RDF Review",
            [("Observatory opens to the public", "https://rdf.example/1")],
        ),
        (
            "rss20.xml",
            "Harbour & Hill Gazette",
            [
                ("Ferry timetable changes on Monday", "https://gazette.example/ferry"),
                # A relative link is resolved against the channel's link.
                ("Council approves the new library", "https://gazette.example/library"),
            ],
        ),
        (
            "atom.xml",
            "Atom Herald",
            [
                ("Negotiations resume in Vienna", "https://herald.example/vienna"),
                ("Вибори до міської ради призначено на березень", "https://herald.example/kyiv"),
                ("مؤتمر صحفي في القاهرة", "https://herald.example/cairo"),
            ],
        ),
        (
            "jsonfeed.json",
            "JSON Journal",
            [
                ("Rail strike called off", "https://journal.example/1"),
                (
                    "A text-only item without a title. It has two sentences.",
                    "https://journal.example/2",
                ),
                ("Broken date is not fatal", None),
            ],
        ),
        ("cp1251.xml", "Київські новини", [("Переговори тривають", "https://enc.example/1")]),
        ("latin1.xml", "Café Gazette", [("Fête de la musique à Genève", "https://enc.example/1")]),
        ("utf16.xml", "Sixteen Times", [("Zürich grüßt", "https://enc.example/1")]),
    ],
)
def test_every_format_and_encoding_parses(
    name: str, title: str, entries: list[tuple[str, str | None]]
) -> None:
    feed = parse_feed((FIXTURES / name).read_bytes(), url="https://x.example/feed")
    assert feed.title == title
    assert [(e.title, e.link) for e in feed.entries] == entries
    assert feed.skipped == ()


def test_html_is_removed_from_titles_and_bodies_scripts_and_all() -> None:
    feed = parse_feed((FIXTURES / "rss20.xml").read_bytes())
    ferry = feed.entries[0]
    assert ferry.title == "Ferry timetable changes on Monday"
    assert ferry.body == (
        "The morning ferry leaves 10 minutes earlier from Monday. The evening one is "
        "unchanged.\n\nTickets stay the same price.\nSeason passes too."
    )
    assert "alert" not in ferry.body
    assert ferry.key == "gazette-ferry-2026"
    assert ferry.published == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert ferry.categories == ("transport", "Harbour")
    assert feed.category == "Regional"
    # The date's offset is honoured: 18:00 +02:00 is 16:00 UTC.
    assert feed.entries[1].published == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain text", "plain text"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("a<br>b", "a\nb"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("&lt;not a tag&gt; &amp; &#1050;", "<not a tag> & К"),
        ("<style>p{}</style><script>x()</script>Visible", "Visible"),
        ("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo"),
        ("<p>  spaced \n\n  out  </p>", "spaced out"),
        ("<pre>line 1\nline 2</pre>", "line 1\nline 2"),
        ("", ""),
        ("<p></p>", ""),
        ("<div dir='rtl'>مرحبا بالعالم</div>", "مرحبا بالعالم"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"", None, "the response is empty"),
        (b"   \n", None, "the response is empty"),
        ((FIXTURES / "invalid.xml").read_bytes(), None, "invalid XML at line 5: mismatched tag"),
        (
            (FIXTURES / "page.html").read_bytes(),
            "text/html",
            "the address serves an HTML page, not a feed; look for its RSS link",
        ),
        (
            b"<html><body>no doctype</body></html>",
            "application/rss+xml",
            "the address serves an HTML page, not a feed; look for its RSS link",
        ),
        ((FIXTURES / "other.xml").read_bytes(), None, "not RSS, Atom or JSON Feed"),
        (
            (FIXTURES / "not-jsonfeed.json").read_bytes(),
            None,
            "not a JSON Feed: version: Field required",
        ),
        (b'{"version": "1", "items": []}', None, "not a JSON Feed: version '1'"),
        (b'{"version": ', None, "invalid JSON at line 1"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}',
            None,
            "not a JSON Feed: items",
        ),
        (b"\xff\xfe{\x00", "application/json", "JSON Feed must be UTF-8"),
        (b"\x00\x01\x02 binary", None, "invalid XML"),
    ],
)
def test_what_is_not_a_feed_says_why(
    content: bytes, content_type: str | None, reason: str
) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(content, content_type=content_type)
    assert str(caught.value).startswith(reason)


def test_entries_missing_things_are_kept_or_skipped_with_a_reason() -> None:
    feed = parse_feed((FIXTURES / "faults.xml").read_bytes())
    untitled, undated, future = feed.entries
    assert untitled.title == "An entry with no title, only text that goes on for a…"
    assert (undated.title, undated.link, undated.published) == ("No link and no date", None, None)
    assert future.published == datetime(2099, 1, 1, tzinfo=UTC)
    # A javascript: link is no link; an entry with neither title nor text is skipped.
    assert feed.skipped == ("entry 4: no title and no text", "entry 5: no title and no text")


def rss(items: str, channel: str = "<title>T</title>") -> bytes:
    head = '<?xml version="1.0"?><rss version="2.0">'
    return f"{head}<channel>{channel}{items}</channel></rss>".encode()


def test_brackets_in_a_plain_title_are_text_and_html_in_an_html_title_goes() -> None:
    feed = parse_feed(
        rss(
            "<item><title>Ceasefire &lt;agreed&gt;, x &lt; y</title></item>"
            "<item><title>&lt;b&gt;Bold&lt;/b&gt; move</title></item>"
        )
    )
    assert [e.title for e in feed.entries] == ["Ceasefire <agreed>, x < y", "Bold move"]


def test_what_no_database_can_store_is_dropped() -> None:
    document = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Nul\\u0000Feed",'
        b' "items": [{"id": "a\\u0000b", "title": "Bad \\ud800 title\\u0007",'
        b' "content_html": "<p>Body \\u0000 text\\udfff.</p>", "tags": ["x\\u0001y"]}]}'
    )
    feed = parse_feed(document)
    [item] = feed.entries
    assert (feed.title, item.key, item.title, item.body, item.categories) == (
        "NulFeed", "ab", "Bad title", "Body text.", ("xy",),
    )  # fmt: skip


def test_a_huge_entry_is_cut_not_refused() -> None:
    body = "<p>" + "Word " * 400_000 + "</p>"  # 2 MB
    title = "T" * 5_000
    feed = parse_feed(
        rss(f"<item><title>{title}</title><description><![CDATA[{body}]]></description></item>")
    )
    [entry] = feed.entries
    assert len(entry.body) == MAX_BODY
    assert entry.body.endswith("…")
    assert len(entry.title) == MAX_TITLE_LENGTH


def test_a_feed_with_too_many_entries_keeps_the_newest() -> None:
    items = "".join(
        f"<item><title>n{i}</title><guid>g{i}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=i), usegmt=True)}</pubDate></item>"
        for i in range(MAX_ENTRIES + 20)
    )
    feed = parse_feed(rss(items))
    assert len(feed.entries) == MAX_ENTRIES
    assert feed.entries[0].title == "n0"
    assert feed.entries[-1].title == f"n{MAX_ENTRIES - 1}"
    # Dropped, not skipped: they are readable entries, only older than the newest 500.
    assert (feed.skipped, feed.dropped, feed.found) == ((), 20, MAX_ENTRIES + 20)


def entry(**changes: object) -> FeedEntry:
    base: dict[str, object] = {
        "key": "k1",
        "title": "Talks resume",
        "link": "https://x.example/1",
        "published": NOW - timedelta(hours=1),
        "body": "Delegations met again. More tomorrow.",
        "categories": ("negotiations", "Europe"),
    }
    return FeedEntry(**{**base, **changes})  # type: ignore[arg-type]


def test_an_entry_becomes_an_article() -> None:
    article = entry_article(
        entry(), feed_id=7, source="Herald", feed_tags=[make_tag("World")],
        feed_category=None, now=NOW,
    )  # fmt: skip
    assert article.title == "Talks resume"
    assert article.summary == "Delegations met again."
    assert article.url == "https://x.example/1"
    assert article.source == "Herald"
    assert article.category == "negotiations"  # no feed category: the first entry category
    assert [t.name for t in article.tags] == ["World", "negotiations", "Europe"]
    assert article.published_at == NOW - timedelta(hours=1)


def test_identity_is_the_feed_and_the_entry() -> None:
    def article(feed_id: int = 7, **changes: object) -> FeedArticle:
        return entry_article(
            entry(**changes), feed_id=feed_id, source="S", feed_tags=[], feed_category=None,
            now=NOW,
        )  # fmt: skip

    first, edited = article(), article(title="Talks resume (updated)")
    assert first.fingerprint == edited.fingerprint
    assert first.content_hash != edited.content_hash
    assert article(feed_id=8).fingerprint != first.fingerprint
    assert article(key="k2").fingerprint != first.fingerprint


def test_missing_and_future_dates() -> None:
    undated = entry_article(
        entry(published=None), feed_id=1, source="S", feed_tags=[], feed_category="C", now=NOW
    )
    later = entry_article(
        entry(published=None), feed_id=1, source="S", feed_tags=[], feed_category="C",
        now=NOW + timedelta(hours=1),
    )  # fmt: skip
    future = entry_article(
        entry(published=NOW + timedelta(days=400)), feed_id=1, source="S", feed_tags=[],
        feed_category="C", now=NOW,
    )  # fmt: skip
    assert undated.published_at == NOW
    assert future.published_at == NOW
    # Polled again later, an undated entry is the same article, unchanged.
    assert undated.content_hash == later.content_hash
    assert undated.category == "C"


def test_tags_are_normalized_deduplicated_and_capped() -> None:
    categories = ("Economy", " economy ", "#Europe", "x" * 80, *[f"t{i}" for i in range(40)])
    article = entry_article(
        entry(categories=categories), feed_id=1, source="S",
        feed_tags=[make_tag("economy")], feed_category=None, now=NOW,
    )  # fmt: skip
    names = [t.name for t in article.tags]
    assert names[:2] == ["economy", "Europe"]
    assert len(names) == MAX_TAGS
    assert all(len(name) <= 50 for name in names)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_arbitrary_bytes_give_a_feed_or_a_feed_error(content: bytes) -> None:
    try:
        feed = parse_feed(content)
    except FeedError as error:
        assert str(error)
    else:
        assert all(e.title for e in feed.entries)
