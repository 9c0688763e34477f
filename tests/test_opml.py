"""OPML in and out: folders, duplicates, refusals, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feeds.opml import MAX_FEEDS, OpmlError, OpmlFeed, build_opml, parse_opml
from tests.auxil.feedserver import FIXTURES


def test_nested_outlines_are_flattened_with_folders_as_tags() -> None:
    feeds = parse_opml((FIXTURES / "nested.opml").read_bytes())
    assert feeds == [
        OpmlFeed(
            "https://gazette.example/rss.xml", "Harbour & Hill Gazette", ("World", "regional")
        ),
        OpmlFeed("https://herald.example/atom.xml", "Atom Herald", ("World", "Europe")),
        OpmlFeed("https://journal.example/feed.json", "JSON Journal", ("transport", "labour")),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        ((FIXTURES / "page.html").read_bytes(), "invalid XML at line"),
        ((FIXTURES / "rss20.xml").read_bytes(), "the root element is <rss>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "it has no <body>"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "invalid XML at line 1"),
        ((FIXTURES / "billion-laughs.opml").read_bytes(), "it defines XML entities"),
        ((FIXTURES / "xxe.opml").read_bytes(), "it defines XML entities"),
        (
            b"<opml><body>" + b"<outline>" * 30 + b"</outline>" * 30 + b"</body></opml>",
            "outlines are nested more than 20 deep",
        ),
        (
            b"<opml><body>"
            + b"".join(
                b'<outline xmlUrl="https://x.example/%d"/>' % n for n in range(MAX_FEEDS + 1)
            )
            + b"</body></opml>",
            f"it lists more than {MAX_FEEDS} feeds",
        ),
    ],
)
def test_what_is_not_opml_gets_one_clear_error(content: bytes, reason: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(content)
    assert str(caught.value).startswith(reason)


def test_export_escapes_and_drops_what_xml_cannot_hold() -> None:
    feeds = [
        OpmlFeed("https://x.example/?a=1&b=<2>", 'Quotes " & <tags>\x01', ("a,b", "Україна")),
        OpmlFeed("https://y.example/feed", None, ()),
    ]
    document = build_opml(feeds)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert parse_opml(document) == [
        OpmlFeed("https://x.example/?a=1&b=<2>", 'Quotes " & <tags>', ("a", "b", "Україна")),
        OpmlFeed("https://y.example/feed", "https://y.example/feed", ()),
    ]


names = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=",/"), min_size=1
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            OpmlFeed,
            st.integers(1, 10**6).map(lambda n: f"https://feeds.example/{n}"),
            names,
            st.lists(names, max_size=3, unique=True).map(tuple),
        ),
        max_size=8,
        unique_by=lambda feed: feed.url,
    )
)
def test_export_then_import_gives_the_same_feeds(feeds: list[OpmlFeed]) -> None:
    assert parse_opml(build_opml(feeds)) == feeds
