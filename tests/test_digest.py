"""Pure digest selection and rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from telegram.constants import MessageLimit

from bot.delivery.digest import (
    TagArticles,
    article_payload,
    is_story_payload,
    pack,
    parse_payload,
    parse_story_payload,
    render_article,
    render_digest,
    select_articles,
    story_payload,
)
from bot.delivery.entry import DigestItem, Labels, cut, render_item, render_line
from bot.delivery.outbox import Chunk, ChunkFormatError, chunks_from_json, chunks_to_json
from bot.i18n import translator
from bot.telegram.lengths import tg_len
from emulator.html import parse_html
from emulator.utf16 import utf16_len

EN = translator("en")

LIMIT = MessageLimit.MAX_TEXT_LENGTH

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def visible_len(html: str) -> int:
    """What Telegram checks: the text after entity parsing, in UTF-16 units (the
    emulator's parser, independent of bot.telegram.lengths.tg_len)."""
    text, _ = parse_html(html)
    return utf16_len(text)


def test_select_newest_first_once_each_with_remaining() -> None:
    candidates = [
        (1, T0, 1),
        (2, T0 + timedelta(hours=2), 2),
        (1, T0, 1),
        (3, T0 + timedelta(hours=1), 3),
    ]
    selection = select_articles(candidates, 2)
    assert selection.article_ids == [2, 3]
    assert selection.remaining == 1
    assert select_articles(candidates, 2, total=40).remaining == 38
    assert select_articles([], 10).article_ids == []


def test_payload_round_trip() -> None:
    assert article_payload(42) == "a42"
    assert parse_payload("a42") == 42
    assert parse_payload("a0") is None
    assert parse_payload("x42") is None
    assert parse_payload("a" + "9" * 30) is None


def test_payload_of_a_story_round_trips_and_a_forged_one_is_known_as_meant_for_one() -> None:
    assert story_payload(42) == "s42"
    assert parse_story_payload("s42") == 42
    for forged in ("s0", "s", "sabc", "s-1", "s" + "9" * 30, "s42x"):
        assert parse_story_payload(forged) is None
        assert is_story_payload(forged)
    assert not is_story_payload("a42")


def test_render_digest_escapes_and_links_the_headline() -> None:
    item = DigestItem(
        7,
        "A < B & C",
        "x > y",
        "https://e.org/?a=1&b=2",
        meta="Kyiv & Co · 2h ago",
        tags=("United Kingdom",),
        words=("grain",),
    )
    [chunk] = render_digest(
        [item], header="Head", footer="+3 more stories waiting; later", limit=LIMIT
    )
    text, entities = parse_html(chunk.text)
    assert text == (
        "Head\n\nA < B & C\nx > y\nKyiv & Co · 2h ago · 🏷 United Kingdom · 🔎 grain"
        "\n\n+3 more stories waiting; later"
    )
    assert {"type": "text_link", "offset": 6, "length": 9, "url": "https://e.org/?a=1&b=2"} in (
        entities
    )
    assert {"type": "italic", "offset": 22, "length": 18} in entities
    assert chunk.article_ids == (7,)
    assert chunk.buttons == ()


def test_compact_layout_is_one_line_per_story() -> None:
    items = [
        DigestItem(
            n, f"Story {n}", "A summary nobody sees.", f"https://e.org/{n}", meta="S · 1h ago"
        )
        for n in range(1, 4)
    ]
    [chunk] = render_digest(items, header="Head", footer="more", limit=LIMIT, compact=True)
    text, entities = parse_html(chunk.text)
    assert text.splitlines() == [
        "Head",
        "Story 1 · S · 1h ago",
        "Story 2 · S · 1h ago",
        "Story 3 · S · 1h ago",
        "more",
    ]
    assert [e["url"] for e in entities if e["type"] == "text_link"] == [
        "https://e.org/1",
        "https://e.org/2",
        "https://e.org/3",
    ]
    update = DigestItem(9, "T" * 5000, "s", "https://e.org", meta="M" * 5000, update=True)
    line = render_line(update, 300, Labels())
    assert visible_len(line) <= 300 and parse_html(line)[0].startswith("Update: TTT")


def test_the_show_all_buttons_go_under_the_message_of_their_entry_within_the_limit() -> None:
    items = [
        DigestItem(
            n,
            f"Story {n}",
            "S.",
            "https://e.org",
            button=(f"Show {n}", f"https://t.me/b?start=s{n}"),
        )
        for n in range(1, 8)
    ]
    chunks = render_digest(items, header="H", footer=None, limit=LIMIT, max_buttons=3)
    assert [len(c.buttons) for c in chunks] == [3, 3, 1]
    assert [b for c in chunks for b in c.buttons] == [i.button for i in items]
    for chunk in chunks:  # each button under the message that holds its entry
        for text, _ in chunk.buttons:
            assert f"Story {text.split()[-1]}" in chunk.text
    assert chunks_from_json(chunks_to_json(chunks)) == tuple(chunks)
    # A row stored before buttons existed reads as a message without any.
    assert Chunk.from_json({"text": "t", "article_ids": [1]}).buttons == ()
    with pytest.raises(ChunkFormatError):
        Chunk.from_json({"text": "t", "buttons": [["only text"]]})


def test_pack_never_splits_a_block_and_respects_the_limit() -> None:
    blocks = [(f"block {n} " + "x" * 90, [n], ()) for n in range(10)]
    chunks = pack(blocks, limit=250)
    assert all(tg_len(c.text) <= 250 for c in chunks)
    assert [a for c in chunks for a in c.article_ids] == list(range(10))
    assert "\n\n".join(c.text for c in chunks) == "\n\n".join(b for b, _, _ in blocks)


def test_render_article_splits_between_paragraphs() -> None:
    body = "\n\n".join(f"Paragraph {n}. " + "word " * 300 for n in range(6))
    parts = render_article(
        EN, title="T", source="S", published_at=T0, tags=["a"], body=body, url=None, limit=LIMIT
    )
    assert len(parts) > 1
    assert all(visible_len(p) <= LIMIT for p in parts)
    for part in parts[1:]:
        assert part.startswith("Paragraph ")


def test_render_article_splits_one_giant_paragraph_between_words() -> None:
    parts = render_article(
        EN,
        title="T",
        source="S",
        published_at=T0,
        tags=[],
        body="& " * 5000,
        url="https://e.org",
        limit=LIMIT,
    )
    assert all(visible_len(p) <= LIMIT for p in parts)
    assert all(parse_html(p) for p in parts)
    assert parts[-1].endswith('<a href="https://e.org">Original article</a>')


def test_tag_articles_merge_dedupe_and_count() -> None:
    t = [T0 + timedelta(hours=h) for h in range(6)]
    index = TagArticles()
    index.add(1, [(5, t[5], 5), (3, t[3], 3), (1, t[1], 1)])
    index.add(2, [(2, t[2], 2), (5, t[5], 5), (4, t[4], 4)])
    assert 1 in index
    assert 3 not in index
    selection = index.select([1, 2], {4}, 3)
    assert selection.article_ids == [5, 3, 2]
    assert selection.remaining == 1  # article 1; article 4 was delivered
    assert index.select([1], set(), 10) == select_articles(
        [(5, t[5], 5), (3, t[3], 3), (1, t[1], 1)], 10
    )
    assert index.select([2], {2, 4, 5}, 10).article_ids == []


# ---- lengths as Telegram counts them


def test_stories_are_one_entry_counted_once_with_updates_and_story_mutes() -> None:
    t = [T0 + timedelta(hours=h) for h in range(8)]
    index = TagArticles()
    # Story 1: articles 1, 2 and 6; story 3 alone; story 4: articles 4 and 5.
    index.add(10, [(1, t[1], 1), (2, t[2], 1), (3, t[3], 3), (6, t[6], 1)])
    index.add(11, [(4, t[4], 4), (5, t[5], 4)])
    index.add(-7, [(5, t[5], 4)])  # a muted word in article 5
    selection = index.select([10, 11], set(), 2)
    assert selection.story_ids == [1, 4]  # by each story's newest article: 6, then 5
    assert selection.article_ids == [6, 5]
    assert selection.remaining == 1  # story 3
    assert selection.updates == frozenset()
    # A mute takes the whole story: article 4 has no muted word, but article 5 does.
    assert index.select([10, 11], set(), 10, muted=[-7]).story_ids == [1, 3]
    # Had story 1 (articles 1 and 2): article 6 is an update; all of it had: nothing.
    update = index.select([10], {1, 2}, 10, had={1})
    assert (update.story_ids, update.updates, update.remaining) == ([1, 3], frozenset({1}), 0)
    done = index.select([10], {1, 2, 6}, 10, had={1})
    assert (done.story_ids, done.updates, done.remaining) == ([3], frozenset(), 0)
    assert done == select_articles([(3, t[3], 3)], 10, 1, {1})


def test_a_story_entry_names_other_sources_and_an_update_says_so() -> None:
    item = DigestItem(
        7,
        "Deal <signed>",
        "Summary.",
        "https://a.org/1",
        meta="BBC · 3h ago",
        tags=("Ukraine",),
        also=(("Kyiv & Independent", "https://k.org/?a=1&b=2"), ("Reuters", "https://r.org")),
        more=2,
        update=True,
        ledger_ids=(7, 8, 9),
    )
    labels = Labels(update="Update:", also="Also:")
    html = render_item(item, LIMIT, labels)
    assert html.splitlines() == [
        '<b>Update: <a href="https://a.org/1">Deal &lt;signed&gt;</a></b>',
        "Summary.",
        "<i>BBC · 3h ago</i> · 🏷 Ukraine",
        'Also: <a href="https://k.org/?a=1&amp;b=2">Kyiv &amp; Independent</a> · '
        '<a href="https://r.org">Reuters</a> · +2',
    ]
    [chunk] = render_digest([item], header="H", footer=None, limit=LIMIT, labels=labels)
    assert chunk.article_ids == (7, 8, 9)
    # Names that do not fit a quarter of the message join the "+N".
    crowded = DigestItem(1, "T", "S", "https://a.org", also=(("N" * 40, "https://n.org"),) * 30)
    line = render_item(crowded, 400, labels).splitlines()[-1]
    assert visible_len(line) <= 100 and line.endswith(" · +28")


def test_a_later_report_says_who_reported_first_when_it_fits() -> None:
    item = DigestItem(
        2, "T", "S", "https://e.org", meta="BBC · 1h ago", first="first reported by AP, 5h ago"
    )
    assert parse_html(render_item(item, LIMIT))[0].splitlines()[-1] == (
        "BBC · 1h ago · first reported by AP, 5h ago"
    )
    # Where it does not fit a quarter of the message, the source line keeps its own part.
    assert parse_html(render_item(item, 100))[0].splitlines()[-1] == "BBC · 1h ago"


def test_tg_len_counts_visible_utf16_units_not_markup() -> None:
    html = '<b>a &amp; b</b>\n<a href="https://e.org/?x=1&amp;y=2">Full text</a> 😀'
    assert tg_len(html) == visible_len(html) == len("a & b\nFull text ") + 2


def test_cut_never_splits_a_surrogate_pair_and_marks_the_cut() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcdef", 4) == "abc…"
    assert cut("😀😀😀", 4) == "😀…"
    assert utf16_len(cut("😀" * 10, 5)) <= 5
    assert cut("anything", 0) == ""


# ---- hostile rows already in the database (the parser refuses them now)

LEGACY_TAGS = tuple(f"tag number {n} with a fairly long name" for n in range(250))
LEGACY_LINK = "https://example.org/story?" + "&".join(f"k{n}=v" for n in range(300))
QUOTES_TITLE = '"' * 300


def test_an_item_with_250_tags_is_shortened_tags_first() -> None:
    item = DigestItem(1, "Title", "Summary line.", "https://e.org", meta="S", tags=LEGACY_TAGS)
    block = render_item(item, LIMIT)
    text, _ = parse_html(block)
    assert visible_len(block) <= LIMIT
    assert text.startswith("Title\nSummary line.\nS · 🏷 tag number 0 with")


def test_summary_is_cut_before_the_title() -> None:
    item = DigestItem(1, "T" * 300, "S" * 5000, "https://e.org", meta="Src · 1h ago", tags=("x",))
    text, _ = parse_html(render_item(item, LIMIT))
    title, summary, source = text.split("\n")
    assert title == "T" * 300
    assert summary.endswith("…")
    assert source == "Src · 1h ago"  # the why went first
    assert utf16_len(text) <= LIMIT


def test_a_2000_character_link_full_of_ampersands_does_not_count() -> None:
    assert 2000 < len(LEGACY_LINK) <= 2048
    item = DigestItem(1, QUOTES_TITLE, "s", LEGACY_LINK, tags=LEGACY_TAGS)
    [chunk] = render_digest([item], header="Head", footer=None, limit=LIMIT)
    text, entities = parse_html(chunk.text)
    assert text.startswith("Head\n\n" + QUOTES_TITLE)
    assert {"type": "text_link", "offset": 6, "length": 300, "url": LEGACY_LINK} in entities


items = st.builds(
    DigestItem,
    article_id=st.integers(1, 10),
    title=st.text(max_size=3000),
    summary=st.text(max_size=6000),
    link=st.sampled_from(["https://e.org/?a=1&b=2", "https://t.me/b?start=a1"]),
    meta=st.text(max_size=3000),
    first=st.text(max_size=300),
    tags=st.lists(st.text(max_size=300), max_size=3).map(tuple),
    words=st.lists(st.text(max_size=60), max_size=2).map(tuple),
    also=st.lists(st.tuples(st.text(max_size=90), st.just("https://x.org")), max_size=40).map(
        tuple
    ),
    more=st.integers(0, 100),
    update=st.booleans(),
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(items, st.booleans())
def test_any_entry_in_either_layout_fits_its_limit_as_valid_html(
    item: DigestItem, compact: bool
) -> None:
    for limit in (LIMIT, 200):
        html = (render_line if compact else render_item)(item, limit, Labels())
        assert visible_len(html) <= limit


def test_render_article_of_a_legacy_row_never_raises() -> None:
    parts = render_article(
        EN,
        title="😀" * 5000,
        source="S" * 500,
        published_at=T0,
        tags=LEGACY_TAGS,
        body="word " * 3000,
        url=LEGACY_LINK,
        limit=LIMIT,
    )
    assert all(visible_len(p) <= LIMIT for p in parts)
    assert parts[-1].endswith(">Original article</a>")


def test_a_link_telegram_cannot_show_is_left_out_of_the_article() -> None:
    for url in ("javascript:alert(1)", "https://e.org/" + "x" * 3000, "https://a b"):
        parts = render_article(
            EN, title="T", source="S", published_at=T0, tags=[], body="b", url=url, limit=LIMIT
        )
        assert "Original article" not in parts[-1]


# ---- the outbox's JSON


def test_chunks_round_trip_through_json() -> None:
    chunks = (Chunk("<b>a</b>", (1, 2)), Chunk("b"))
    assert chunks_from_json(chunks_to_json(chunks)) == chunks


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "x"},
        [{"text": "", "article_ids": []}],
        [{"text": 5, "article_ids": []}],
        [{"text": "x", "article_ids": ["1"]}],
        [{"text": "x", "article_ids": [True]}],
        ["x"],
    ],
)
def test_forged_outbox_json_is_refused(data: object) -> None:
    with pytest.raises(ChunkFormatError):
        chunks_from_json(data)


# ---- never raises, always fits (property)

any_text = st.text(
    st.characters(exclude_categories=["Cs"]) | st.sampled_from("<>&\"'😀\u202e\n "),
    max_size=6000,
)
items = st.builds(
    DigestItem,
    article_id=st.integers(1, 10**9),
    title=any_text,
    summary=any_text,
    link=st.sampled_from(["https://e.org/?a=1&b=2", LEGACY_LINK, "https://t.me/bot?start=a1"]),
    tags=st.lists(st.text(max_size=60), max_size=300).map(tuple),
    also=st.lists(
        st.tuples(st.text(max_size=200), st.sampled_from(["https://e.org/?a=1&b=2", LEGACY_LINK])),
        max_size=4,
    ).map(tuple),
    more=st.integers(0, 10**6),
    update=st.booleans(),
)


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.lists(items, max_size=12), st.integers(0, 10**6), st.integers(300, LIMIT))
def test_render_digest_never_raises_and_every_message_fits(
    digest_items: list[DigestItem], remaining: int, limit: int
) -> None:
    footer = f"+{remaining} more articles waiting" if remaining else None
    chunks = render_digest(digest_items, header="📰 Head", footer=footer, limit=limit)
    for chunk in chunks:
        assert tg_len(chunk.text) == visible_len(chunk.text) <= limit
    expected = [a for i in digest_items for a in (i.ledger_ids or (i.article_id,))]
    assert [a for c in chunks for a in c.article_ids] == expected


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    any_text,
    any_text,
    st.lists(st.text(max_size=60), max_size=300),
    any_text,
    st.one_of(st.none(), st.text(max_size=3000), st.just(LEGACY_LINK)),
)
def test_render_article_never_raises_and_every_message_fits(
    title: str, source: str, tags: list[str], body: str, url: str | None
) -> None:
    parts = render_article(
        EN, title=title, source=source, published_at=T0, tags=tags, body=body, url=url, limit=LIMIT
    )
    assert parts
    assert all(0 < visible_len(p) <= LIMIT for p in parts)
