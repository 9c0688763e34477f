"""Feeds into articles: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.1
through a small typed model, HTML to plain text through BeautifulSoup.

Pure code: bytes in, a `ParsedFeed` out, or `FeedError` with a reason an admin can act
on. Nothing here fetches, stores or talks to Telegram.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
import xml.sax
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.articles.format import (
    MAX_FIELD_LENGTH,
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
)
from bot.articles.plaintext import one_line, shorten, storable
from bot.articles.summary import summary_line
from bot.articles.tags import MAX_TAG_LENGTH, make_tag
from bot.i18n import N_, Problem
from storage.records import ParsedArticle, Tag, content_digest

# A feed keeps its newest entries; a body is cut here (a digest shows one line of it,
# `/start a<id>` the rest, split between messages).
MAX_ENTRIES = 500
MAX_BODY = 20_000
UNTITLED_WORDS = 12  # an entry without a title is named by the first words of its text
DEFAULT_CATEGORY = "News"

_WHITESPACE = re.compile(r"\s+")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_BLOCKS = (
    "p", "div", "section", "article", "header", "footer", "aside", "blockquote", "pre",
    "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "figure", "figcaption", "hr", "main", "nav", "address",
)  # fmt: skip
_INVISIBLE = ("script", "style", "noscript", "template", "iframe", "object", "embed", "head")
_JSON_FEED_VERSION = "https://jsonfeed.org/version/1"


class FeedError(Problem):
    """The response is not a usable feed; str() is a clear one-line reason for the admin."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str  # guid/id, else link, else title + date: stable across polls
    title: str
    link: str | None
    published: datetime | None
    body: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    category: str | None
    entries: tuple[FeedEntry, ...]  # the newest MAX_ENTRIES
    skipped: tuple[str, ...]  # one reason per entry that could not be read
    dropped: int = 0  # older entries beyond the newest MAX_ENTRIES, not read

    @property
    def found(self) -> int:
        """The feed's readable entries, the dropped ones included."""
        return len(self.entries) + self.dropped


@dataclass(frozen=True, slots=True)
class FeedArticle(ParsedArticle):
    """An entry as an article (what storage.repo.upsert_articles stores), known by its
    feed and its key there rather than by its source, time and title."""

    feed_id: int
    entry_key: str
    dated: bool  # False: published_at is when the entry was first seen

    @property
    def fingerprint(self) -> str:
        """Identity: the feed and the entry's key. Never equal to a typed article's."""
        identity = f"feed\x1f{self.feed_id}\x1f{self.entry_key}"
        return hashlib.sha256(identity.encode()).hexdigest()

    @property
    def content_hash(self) -> str:
        """Changes whenever anything stored changes; an undated entry's first-seen time
        is left out, so polling it again finds it unchanged."""
        return content_digest(self, self.published_at.isoformat() if self.dated else "")


# ---------------------------------------------------------------------- text


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", storable(text)).strip()


def _visible(text: str) -> bool:
    return any(ch.isprintable() and not ch.isspace() for ch in text)


def html_to_text(html: str) -> str:
    """Plain-text paragraphs ("\\n\\n" between them) of an HTML fragment: scripts and
    styles dropped, block elements and <br> as breaks, entities decoded."""
    if "<" not in html and "&" not in html:
        return plain_paragraphs(html)
    # feedparser and BeautifulSoup are imported where feeds are read: they add 0.07 s
    # to the start of every process, and most never read a feed.
    from bs4 import BeautifulSoup
    from bs4 import Tag as HtmlTag

    soup = BeautifulSoup(html, "html.parser")
    for node in soup.find_all(_INVISIBLE):
        node.decompose()
    # In HTML every run of whitespace is one space, line breaks included (but in <pre>).
    for string in soup.find_all(string=True):
        if string.find_parent("pre") is None:
            string.replace_with(_WHITESPACE.sub(" ", string))
    for node in soup.find_all("br"):
        node.replace_with("\n")
    for node in soup.find_all(_BLOCKS):
        if isinstance(node, HtmlTag):
            node.insert_before("\n\n")
            node.insert_after("\n\n")
    text = storable(soup.get_text())
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(text):
        lines = [_clean(line) for line in block.split("\n")]
        if paragraph := "\n".join(line for line in lines if line):
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def plain_paragraphs(text: str) -> str:
    """Plain text as paragraphs: blank lines separate them, other whitespace collapses."""
    return "\n\n".join(p for p in (_clean(x) for x in _PARAGRAPH_BREAK.split(text)) if p)


def _plain_title(raw: str, kind: str = "text/html") -> str:
    """A title as plain text. feedparser says whether a title is HTML ("Atom <i>Herald</i>")
    or text that happens to hold brackets ("Ceasefire <agreed>"); only HTML is stripped."""
    if "html" not in kind:
        return _clean(raw)
    return _clean(html_to_text(raw).replace("\n", " "))


def _detail(raw: Any, field: str) -> str:
    detail = raw.get(f"{field}_detail") or {}
    return str(detail.get("type") or "text/html")


def _link(raw: object, base: str) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    url = urljoin(base, raw.strip()) if base else raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL_LENGTH:
        return None
    if any(ch.isspace() or ch in '<>"' for ch in url):
        return None
    return url


def _entry(
    *, key: str, title: str, link: str | None, published: datetime | None, body: str,
    categories: Iterable[str], number: int,
) -> FeedEntry | str:  # fmt: skip
    """The entry, or why it was skipped."""
    body = shorten(body, MAX_BODY)
    title = one_line(title)
    if not _visible(title):  # zero-width and bidi controls alone show nothing
        title = ""
    if not title:
        words = body.split()[:UNTITLED_WORDS]
        if not words:
            return f"entry {number}: no title and no text"
        title = " ".join(words) + ("…" if len(body.split()) > UNTITLED_WORDS else "")
    title = shorten(title, MAX_TITLE_LENGTH)
    if not key:
        key = link or f"{title}\x1f{published.isoformat() if published else ''}"
    names = [_clean(c) for c in categories]
    return FeedEntry(
        key=key[:2000],
        title=title,
        link=link,
        published=published,
        body=body,
        categories=tuple(dict.fromkeys(n for n in names if n)),
    )


# ---------------------------------------------------------------------- XML feeds


def _sniff(content: bytes, content_type: str | None) -> str:
    """ "json", "html" or "xml", from the content type and the first bytes."""
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    kind = (content_type or "").split(";")[0].strip().lower()
    # The first byte beats the label: servers mislabel feeds both ways.
    json_label = kind in ("application/feed+json", "application/json")
    if head.startswith(b"{") or (json_label and not head.startswith(b"<")):
        return "json"
    if head.startswith((b"<!doctype html", b"<html")) or (
        kind in ("text/html", "application/xhtml+xml") and b"<rss" not in content[:2048]
        and b"<feed" not in content[:2048] and b"<rdf" not in content[:2048]
    ):  # fmt: skip
        return "html"
    return "xml"


def _struct_time(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _as_text(value: str, kind: str) -> str:
    return html_to_text(value) if "html" in kind else plain_paragraphs(value)


def _entry_body(entry: Any) -> str:
    """The content, else the summary, as plain text (HTML or not, as feedparser says)."""
    for content in entry.get("content") or []:
        value = content.get("value") if isinstance(content, dict) else None
        if isinstance(value, str) and value.strip():
            return _as_text(value, str(content.get("type") or "text/html"))
    value = entry.get("summary")
    if isinstance(value, str) and value.strip():
        return _as_text(value, _detail(entry, "summary"))
    return ""


def _xml_error(parsed: Any, content: bytes) -> FeedError | None:
    error = parsed.get("bozo_exception")
    if not parsed.get("bozo") or not isinstance(error, xml.sax.SAXException):
        return None
    if isinstance(error, xml.sax.SAXParseException):
        line = error.getLineNumber() or 1
        # feedparser puts an XML declaration in front of a document that has none.
        if not content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
            line = max(1, line - 1)
        return FeedError(
            N_("invalid XML at line {line}: {error}"), line=line, error=error.getMessage()
        )
    return FeedError(N_("invalid XML: {error}"), error=error.getMessage())


def _parse_xml(content: bytes, content_type: str | None, url: str) -> ParsedFeed:
    # No feed needs its own entities; declaring them is how entity bombs and external
    # entities start, and expat spends seconds before its amplification limit trips.
    if _ENTITY_DECLARATION.search(content):
        raise FeedError(N_("the feed declares XML entities (<!ENTITY …>); refused"))
    import feedparser  # see html_to_text

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False)
    if problem := _xml_error(parsed, content):
        raise problem
    if not parsed.get("version"):
        raise FeedError(N_("not RSS, Atom or JSON Feed: no <rss>, <feed> or <rdf:RDF> root"))
    feed = parsed.get("feed", {})
    base = _link(feed.get("link"), url) or url
    title = shorten(
        _plain_title(str(feed.get("title") or ""), _detail(feed, "title")), MAX_TITLE_LENGTH
    )
    category = next((str(t.get("term")) for t in feed.get("tags") or [] if t.get("term")), None)
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for number, raw in enumerate(parsed.get("entries", []), start=1):
        published = _struct_time(raw.get("published_parsed")) or _struct_time(
            raw.get("updated_parsed")
        )
        link = _link(raw.get("link"), base)
        made = _entry(
            key=_clean(str(raw.get("id") or "")),
            title=_plain_title(str(raw.get("title") or ""), _detail(raw, "title")),
            link=link,
            published=published,
            body=_entry_body(raw),
            categories=(str(t.get("term") or "") for t in raw.get("tags") or []),
            number=number,
        )
        (skipped.append if isinstance(made, str) else entries.append)(made)  # type: ignore[arg-type]
    return _finish(title or _host(url), category, entries, skipped)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "Untitled feed"


def _finish(
    title: str, category: str | None, entries: list[FeedEntry], skipped: list[str]
) -> ParsedFeed:
    dropped = max(0, len(entries) - MAX_ENTRIES)
    if dropped:
        oldest = datetime.min.replace(tzinfo=UTC)
        entries = sorted(entries, key=lambda e: e.published or oldest, reverse=True)
        entries = entries[:MAX_ENTRIES]
    clean_category = shorten(_clean(category), MAX_FIELD_LENGTH) if category else None
    return ParsedFeed(
        title=shorten(title, MAX_TITLE_LENGTH),
        category=clean_category or None,
        entries=tuple(entries),
        skipped=tuple(skipped),
        dropped=dropped,
    )


# ---------------------------------------------------------------------- JSON Feed


class _JsonItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    summary: str | None = None
    # Strings: a date that does not parse makes the item undated, not invalid.
    date_published: str | None = None
    date_modified: str | None = None
    tags: list[str] = []


class _JsonFeed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    title: str = ""
    home_page_url: str | None = None
    items: list[dict[str, Any]]


def _rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_json(content: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FeedError(N_("JSON Feed must be UTF-8; got undecodable bytes")) from None
    except json.JSONDecodeError as error:
        raise FeedError(
            N_("invalid JSON at line {line}: {error}"), line=error.lineno, error=error.msg
        ) from None
    try:
        feed = _JsonFeed.model_validate(data)
    except ValidationError as error:
        where = ".".join(str(p) for p in error.errors()[0]["loc"]) or "the document"
        raise FeedError(
            N_("not a JSON Feed: {where}: {error}"), where=where, error=error.errors()[0]["msg"]
        ) from None
    if not feed.version.startswith(_JSON_FEED_VERSION):
        raise FeedError(N_("not a JSON Feed: version {version!r}"), version=feed.version[:60])
    base = _link(feed.home_page_url, url) or url
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for number, raw in enumerate(feed.items, start=1):
        try:
            item = _JsonItem.model_validate(raw)
        except ValidationError as error:
            where = ".".join(str(p) for p in error.errors()[0]["loc"])
            skipped.append(f"entry {number}: {where}: {error.errors()[0]['msg']}")
            continue
        if item.content_html:
            body = html_to_text(item.content_html)
        else:
            body = plain_paragraphs(item.content_text or item.summary or "")
        made = _entry(
            key=_clean(str(item.id)),
            title=_plain_title(item.title or "", "text/plain"),
            link=_link(item.url or item.external_url, base),
            published=_rfc3339(item.date_published) or _rfc3339(item.date_modified),
            body=body,
            categories=item.tags,
            number=number,
        )
        (skipped.append if isinstance(made, str) else entries.append)(made)  # type: ignore[arg-type]
    return _finish(_plain_title(feed.title, "text/plain") or _host(url), None, entries, skipped)


# ---------------------------------------------------------------------- the API


def parse_feed(content: bytes, *, content_type: str | None = None, url: str = "") -> ParsedFeed:
    """The feed in ``content``; raises `FeedError` saying why it is not one."""
    if not content.strip():
        raise FeedError(N_("the response is empty"))
    kind = _sniff(content, content_type)
    if kind == "html":
        raise FeedError(N_("the address serves an HTML page, not a feed; look for its RSS link"))
    if kind == "json":
        return _parse_json(content, url)
    return _parse_xml(content, content_type, url)


def tags_from_names(names: Sequence[str]) -> list[Tag]:
    """Tags from names: normalized, repeats and over-long ones dropped."""
    seen: dict[str, Tag] = {}
    for name in names:
        tag = make_tag(name)
        if tag.key and len(tag.name) <= MAX_TAG_LENGTH and tag.key not in seen:
            seen[tag.key] = tag
    return list(seen.values())


def entry_article(
    entry: FeedEntry,
    *,
    feed_id: int,
    source: str,
    feed_tags: Sequence[Tag],
    feed_category: str | None,
    now: datetime,
) -> FeedArticle:
    """The article an entry becomes. ``now`` stands in for a missing date and caps a
    future one."""
    tags: dict[str, Tag] = {}
    for tag in [*feed_tags, *tags_from_names(entry.categories)]:
        tags.setdefault(tag.key, tag)
    category = feed_category or (entry.categories[0] if entry.categories else DEFAULT_CATEGORY)
    published = min(entry.published, now) if entry.published else now
    return FeedArticle(
        feed_id=feed_id,
        entry_key=entry.key,
        category=shorten(category, MAX_FIELD_LENGTH),
        published_at=published,
        dated=entry.published is not None,
        source=shorten(_clean(source) or "Feed", MAX_FIELD_LENGTH),
        title=entry.title,
        tags=tuple(list(tags.values())[:MAX_TAGS]),
        body=entry.body,
        summary=summary_line(entry.body),
        url=entry.link,
    )


def feed_articles(
    parsed: ParsedFeed, *, feed_id: int, name: str | None, tags: Sequence[str], now: datetime
) -> list[FeedArticle]:
    """The articles a feed's entries become: its ``name`` (else its title) as their
    source, its ``tags`` on each."""
    source = name or parsed.title
    feed_tags = [make_tag(tag) for tag in tags]
    return [
        entry_article(
            entry,
            feed_id=feed_id,
            source=source,
            feed_tags=feed_tags,
            feed_category=parsed.category,
            now=now,
        )
        for entry in parsed.entries
    ]
