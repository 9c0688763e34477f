"""The article format: the seed, tolerated variations, errors naming the line, and
property tests that the parser raises nothing but ArticleFormatError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles.format import ArticleFormatError, parse_article, parse_article_bytes

SEED = (Path(__file__).resolve().parent.parent / "seeds" / "000_6477664cfccc58b9.txt").read_text(
    encoding="utf-8"
)

MINIMAL = """Science 2026-11-01T10:00:00+00:00
Science Desk
A title

science, Space

First paragraph. Second sentence.
"""


def test_seed_article_fields() -> None:
    article = parse_article(SEED)
    assert article.category == "Politics"
    assert article.published_at == datetime(
        2024, 7, 15, 4, 48, 11, tzinfo=timezone(timedelta(hours=3))
    )
    assert article.published_at.utcoffset() == timedelta(hours=3)
    assert article.source == "Ukrainian news"
    assert article.title == "Britain holds secret talks with russia on Ukraine"
    assert [t.name for t in article.tags] == [
        "negotiations",
        "United Kingdom",
        "negotiations with Russia",
        "negotiations on Ukraine",
    ]
    assert [t.key for t in article.tags][1] == "united kingdom"
    assert article.summary == (
        "British and russian officials held a number of diplomatic talks amid the war in Ukraine."
    )
    assert article.body.startswith("British and russian officials")
    assert article.body.endswith('"All wars end with negotiation, don’t they?" he added.')
    assert article.body.count("\n\n") == 8
    assert article.url is None


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("crlf", lambda t: t.replace("\n", "\r\n")),
        ("bom", lambda t: "\ufeff" + t),
        ("trailing spaces", lambda t: t.replace("\n", "   \n")),
        ("extra blank lines", lambda t: t.replace("\n\n", "\n\n\n\n")),
        ("leading blank lines", lambda t: "\n\n" + t),
        ("no final newline", lambda t: t.rstrip("\n")),
        (
            "no repeated title",
            lambda t: t.replace(
                "Britain holds secret talks with russia on Ukraine\n\n"
                "Britain holds secret talks with russia on Ukraine\n",
                "Britain holds secret talks with russia on Ukraine\n",
            ),
        ),
    ],
)
def test_tolerated_variations_parse_to_the_same_article(name: str, transform: object) -> None:
    assert callable(transform)
    variant = parse_article(transform(SEED))
    original = parse_article(SEED)
    assert variant == original, name
    assert variant.fingerprint == original.fingerprint


def test_bytes_with_bom_and_crlf() -> None:
    data = ("\ufeff" + SEED.replace("\n", "\r\n")).encode("utf-8")
    assert parse_article_bytes(data).title == "Britain holds secret talks with russia on Ukraine"


def test_link_line_before_tags_becomes_url() -> None:
    text = MINIMAL.replace("\nscience, Space", "\nhttps://example.org/a?b=1&c=2\n\nscience, Space")
    article = parse_article(text)
    assert article.url == "https://example.org/a?b=1&c=2"
    assert "example.org" not in article.body


def test_link_line_as_last_paragraph_becomes_url() -> None:
    article = parse_article(MINIMAL + "\nhttps://example.org/story\n")
    assert article.url == "https://example.org/story"
    assert article.body == "First paragraph. Second sentence."


def test_link_in_the_middle_of_the_body_is_an_error() -> None:
    text = MINIMAL + "\nhttps://example.org/story\n\nMore text.\n"
    with pytest.raises(ArticleFormatError, match=r"^line 9: a link line may stand only"):
        parse_article(text)


def test_z_timestamp_is_accepted() -> None:
    article = parse_article(MINIMAL.replace("+00:00", "Z"))
    assert article.published_at == datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: expected '<Category> <ISO timestamp>', got an empty file"),
        ("\n\n  \n", "line 1: expected '<Category> <ISO timestamp>', got an empty file"),
        (
            MINIMAL.replace("Science 2026-11-01T10:00:00+00:00", "Science yesterday"),
            "line 1: expected '<Category> <ISO timestamp>', got 'Science yesterday': "
            "'yesterday' is not an ISO timestamp",
        ),
        (
            MINIMAL.replace("Science 2026-11-01T10:00:00+00:00", "2026-11-01T10:00:00+00:00"),
            "line 1: expected '<Category> <ISO timestamp>', got '2026-11-01T10:00:00+00:00'",
        ),
        (
            MINIMAL.replace("+00:00", ""),
            "line 1: expected '<Category> <ISO timestamp>': the timestamp "
            "'2026-11-01T10:00:00' needs a UTC offset, e.g. +03:00 or Z",
        ),
        (
            MINIMAL.replace("Science Desk\n", "\n"),
            "line 2: expected the source name, got an empty line",
        ),
        (
            MINIMAL.replace("A title\n", "\n"),
            "line 3: expected the title, got an empty line",
        ),
        (
            MINIMAL.replace("A title\n", "A title\nsubtitle\n"),
            "line 4: expected a blank line after the title, got 'subtitle'",
        ),
        (
            "Science 2026-11-01T10:00:00+00:00\nDesk\nA title\n",
            "line 4: expected a line of comma-separated tags, got the end of the file",
        ),
        (
            MINIMAL.split("First paragraph", maxsplit=1)[0],
            "line 5: expected body paragraphs after the tags line, got the end of the file",
        ),
        # No tags line: the body right after the title (the seed's own text, a paragraph
        # that once made a 60-character "tag", and one paragraph that once left no body).
        (
            SEED.replace(
                "negotiations, United Kingdom, negotiations with Russia, negotiations on Ukraine"
                "\n\n",
                "",
            ),
            "line 7: the tags line is missing: expected one line of comma-separated tags "
            "(e.g. 'economy, Europe') before the body",
        ),
        (
            "Science 2026-11-01T10:00:00+00:00\nDesk\nA title\n\nThe probe landed on the moon.\n",
            "line 5: the tags line is missing: expected one line of comma-separated tags "
            "(e.g. 'economy, Europe') before the body",
        ),
        (
            "Science 2026-11-01T10:00:00+00:00\nDesk\nA title\n\n"
            "The probe landed on the moon.\nIt sent pictures.\n",
            "line 5: the tags line is missing: expected one line of comma-separated tags "
            "(e.g. 'economy, Europe') before the body",
        ),
        (
            MINIMAL.replace("science, Space", " , ,"),
            "line 5: expected at least one tag, e.g. 'economy, Europe'",
        ),
        (
            MINIMAL.replace("science, Space", "science\nSpace"),
            "line 5: expected one line of comma-separated tags followed by a blank line",
        ),
        (
            MINIMAL.replace("science, Space", "x" * 51),
            "line 5: tag 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is longer than 50 characters",
        ),
        (
            MINIMAL.replace("science, Space", ", ".join(f"t{n}" for n in range(31))),
            "line 5: expected at most 30 tags, got 31",
        ),
        (
            MINIMAL.replace("A title\n", "A title\n\nhttps://e.org/" + "x" * 2040 + "\n"),
            "line 5: the link is 2,054 characters long; at most 2,048",
        ),
        (
            MINIMAL + "\nhttps://e.org/?" + "&a=b" * 600 + "\n",
            "line 9: the link is 2,415 characters long; at most 2,048",
        ),
        (
            MINIMAL.replace("First", "Fi\x00rst"),
            "line 7: unexpected control character U+0000; expected plain text",
        ),
    ],
)
def test_errors_name_the_line_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ArticleFormatError) as caught:
        parse_article(text)
    assert str(caught.value).startswith(message) or message in str(caught.value)


def test_undecodable_bytes_name_the_line() -> None:
    data = MINIMAL.encode().replace(b"First", b"\xff\xfe")
    with pytest.raises(ArticleFormatError, match=r"^line 7: expected UTF-8 text"):
        parse_article_bytes(data)


def test_oversized_input_is_refused() -> None:
    with pytest.raises(ArticleFormatError, match="larger than 1,000,000 bytes"):
        parse_article_bytes(MINIMAL.encode() + b"x" * 1_000_001)


def test_fingerprint_ignores_body_but_content_hash_does_not() -> None:
    a = parse_article(MINIMAL)
    b = parse_article(MINIMAL.replace("Second sentence.", "A corrected sentence."))
    assert a.fingerprint == b.fingerprint
    assert a.content_hash != b.content_hash


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_raises_only_format_errors(text: str) -> None:
    try:
        article = parse_article(text)
    except ArticleFormatError as error:
        assert str(error)
    else:
        assert article.title
        assert article.tags
        assert article.summary


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_any_bytes_raise_only_format_errors(data: bytes) -> None:
    try:
        parse_article_bytes(data)
    except ArticleFormatError as error:
        assert str(error)


_line = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_article_shaped_lines_raise_only_format_errors(lines: list[str], newline: str) -> None:
    text = newline.join(["Science 2026-11-01T10:00:00+00:00", *lines])
    try:
        article = parse_article(text)
    except ArticleFormatError as error:
        assert error.line is None or error.line >= 1
    else:
        assert len(article.summary) <= 200


def test_thirty_tags_and_a_2048_character_link_are_accepted() -> None:
    link = "https://e.org/?" + "&" * (2048 - 15)
    text = MINIMAL.replace("science, Space", ", ".join(f"t{n}" for n in range(30)))
    article = parse_article(text.replace("A title\n", f"A title\n\n{link}\n"))
    assert len(article.tags) == 30
    assert article.url == link
