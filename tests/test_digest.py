"""Pure digest selection and rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest import (
    DigestItem,
    TagArticles,
    article_payload,
    pack,
    parse_payload,
    render_article,
    render_digest,
    select_articles,
    tg_len,
)
from emulator.html import parse_html

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_select_newest_first_once_each_with_remaining() -> None:
    candidates = [(1, T0), (2, T0 + timedelta(hours=2)), (1, T0), (3, T0 + timedelta(hours=1))]
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


def test_render_digest_escapes_and_links() -> None:
    item = DigestItem(7, "A < B & C", "x > y", "https://e.org/?a=1&b=2", ("United Kingdom",))
    [chunk] = render_digest([item], remaining=3, header="Head", more_hint="later")
    text, entities = parse_html(chunk.text)
    assert text == (
        "Head\n\nA < B & C\nx > y\nFull text  #United_Kingdom\n\n+3 more articles waiting; later"
    )
    assert {"type": "text_link", "offset": 22, "length": 9, "url": "https://e.org/?a=1&b=2"} in (
        entities
    )
    assert chunk.article_ids == [7]


def test_pack_never_splits_a_block_and_respects_the_limit() -> None:
    blocks = [(f"block {n} " + "x" * 90, [n]) for n in range(10)]
    chunks = pack(blocks, limit=250)
    assert all(tg_len(c.text) <= 250 for c in chunks)
    assert [a for c in chunks for a in c.article_ids] == list(range(10))
    assert "\n\n".join(c.text for c in chunks) == "\n\n".join(b for b, _ in blocks)


def test_render_article_splits_between_paragraphs() -> None:
    body = "\n\n".join(f"Paragraph {n}. " + "word " * 300 for n in range(6))
    parts = render_article(title="T", source="S", published_at=T0, tags=["a"], body=body, url=None)
    assert len(parts) > 1
    assert all(tg_len(p) <= 4096 for p in parts)
    for part in parts[1:]:
        assert part.startswith("Paragraph ")


def test_render_article_splits_one_giant_paragraph_between_words() -> None:
    parts = render_article(
        title="T", source="S", published_at=T0, tags=[], body="& " * 5000, url="https://e.org"
    )
    assert all(tg_len(p) <= 4096 for p in parts)
    assert all(parse_html(p) for p in parts)
    assert parts[-1].endswith('<a href="https://e.org">Original article</a>')


def test_tag_articles_merge_dedupe_and_count() -> None:
    t = [T0 + timedelta(hours=h) for h in range(6)]
    index = TagArticles()
    index.add(1, [(5, t[5]), (3, t[3]), (1, t[1])])
    index.add(2, [(2, t[2]), (5, t[5]), (4, t[4])])
    assert 1 in index
    assert 3 not in index
    selection = index.select([1, 2], {4}, 3)
    assert selection.article_ids == [5, 3, 2]
    assert selection.remaining == 1  # article 1; article 4 was delivered
    assert index.select([1], set(), 10) == select_articles([(5, t[5]), (3, t[3]), (1, t[1])], 10)
    assert index.select([2], {2, 4, 5}, 10).article_ids == []
