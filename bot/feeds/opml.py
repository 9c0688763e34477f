"""OPML, the outline format feed readers exchange subscriptions in. Pure code.

Parsed with defusedxml: a document with entity definitions or external references is
refused, so it can neither expand into gigabytes nor read local files.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from bot.i18n import N_, Problem

MAX_FEEDS = 1000
MAX_DEPTH = 20


class OpmlError(Problem):
    """The document is not OPML; str() is one clear reason."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None
    tags: tuple[str, ...]  # from the outline's category attribute and its folders


def _categories(value: str | None) -> list[str]:
    """OPML 2.0 categories: comma-separated (a leading "/" of a path is dropped)."""
    if not value:
        return []
    return [name for item in value.split(",") if (name := item.strip().strip("/").strip())]


def parse_opml(content: bytes) -> list[OpmlFeed]:
    """The feeds an OPML document lists, folders flattened (a folder's name becomes a
    tag of the feeds in it), each URL once."""
    if not content.strip():
        raise OpmlError(N_("the file is empty"))
    try:
        root = SafeET.fromstring(content)
    except DefusedXmlException:
        raise OpmlError(N_("it defines XML entities, which are refused")) from None
    except ET.ParseError as error:
        line, _ = error.position
        raise OpmlError(N_("invalid XML at line {line}"), line=line) from None
    if root.tag.lower() != "opml":
        raise OpmlError(N_("the root element is <{tag}>, not <opml>"), tag=root.tag[:40])
    body = root.find("body")
    if body is None:
        raise OpmlError(N_("it has no <body>"))
    feeds: dict[str, OpmlFeed] = {}

    def walk(node: ET.Element, folders: tuple[str, ...], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise OpmlError(N_("outlines are nested more than {limit} deep"), limit=MAX_DEPTH)
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip() or None
            if url:
                if len(feeds) >= MAX_FEEDS and url not in feeds:
                    raise OpmlError(N_("it lists more than {limit} feeds"), limit=MAX_FEEDS)
                tags = [*folders, *_categories(outline.get("category"))]
                feeds.setdefault(url, OpmlFeed(url, title, tuple(dict.fromkeys(tags))))
            walk(outline, (*folders, title) if not url and title else folders, depth + 1)

    walk(body, (), 0)
    return list(feeds.values())


def build_opml(feeds: Sequence[OpmlFeed], *, title: str = "newsbot feeds") -> bytes:
    """OPML 2.0 with one outline per feed; tags go in its category attribute."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        name = _safe(feed.title or feed.url)
        attributes = [
            'type="rss"',
            f"text={quoteattr(name)}",
            f"title={quoteattr(name)}",
            f"xmlUrl={quoteattr(_safe(feed.url))}",
        ]
        if feed.tags:
            attributes.append(f"category={quoteattr(_safe(','.join(feed.tags)))}")
        lines.append(f"    <outline {' '.join(attributes)}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _safe(value: str) -> str:
    """Characters XML 1.0 cannot hold, dropped."""
    return _NOT_XML.sub("", value)


def _text(value: str) -> str:
    return _safe(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
