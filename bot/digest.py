"""Digest selection and rendering: which articles a subscriber gets, and the HTML they see.

Pure code: no Telegram, no database. Messages use Telegram's HTML parse mode; every piece
of article text is escaped here and nowhere else.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from html import escape, unescape
from typing import Any

from bot.i18n import Translator
from bot.tags import hashtag
from bot.texts import FULL_TEXT, ORIGINAL_ARTICLE

PAYLOAD_PREFIX = "a"
_PAYLOAD = re.compile(r"a([1-9][0-9]{0,17})")
_MARKUP = re.compile(r"<[^>]*>")
_SAFE_LINK = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
MAX_LINK_LENGTH = 2048
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (most emoji are two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@lru_cache(maxsize=16_384)
def tg_len(html: str) -> int:
    """The length Telegram checks against its limit: of the text after entity parsing, so
    tags, hrefs and escapes do not count. Valid for the HTML rendered here, where every
    ``<`` of article text is escaped."""
    return utf16_len(unescape(_MARKUP.sub("", html)))


def prefix(text: str, units: int) -> str:
    """The longest start of ``text`` within ``units`` UTF-16 units; never splits a
    surrogate pair."""
    kept = 0
    for index, char in enumerate(text):
        kept += 2 if ord(char) > 0xFFFF else 1
        if kept > units:
            return text[:index]
    return text


def cut(text: str, units: int) -> str:
    """``text`` within ``units`` UTF-16 units, ending in "…" when shortened."""
    if utf16_len(text) <= units:
        return text
    if units <= 0:
        return ""
    return prefix(text, units - 1).rstrip() + ELLIPSIS


def safe_link(url: str | None) -> str | None:
    """``url`` when Telegram can show it as a link: one http(s) URL within 2,048
    characters. Legacy rows may hold anything; the caller then links elsewhere."""
    if url and len(url) <= MAX_LINK_LENGTH and _SAFE_LINK.fullmatch(url):
        return url
    return None


@dataclass(frozen=True, slots=True)
class Selection:
    article_ids: list[int]
    remaining: int


def select_articles(
    candidates: Iterable[tuple[int, datetime]], max_items: int, total: int | None = None
) -> Selection:
    """Newest first, each article once however many tags matched, at most ``max_items``.

    ``candidates`` are (article id, published_at) pairs of undelivered matches, possibly
    repeated; ``total`` is how many distinct matches exist when ``candidates`` holds only
    the newest of them. ``remaining`` counts the ones that did not fit.
    """
    newest: dict[int, datetime] = {}
    for article_id, published in candidates:
        newest[article_id] = published
    ordered = sorted(newest, key=lambda a: (newest[a], a), reverse=True)
    chosen = ordered[:max_items]
    everything = max(total if total is not None else 0, len(ordered))
    return Selection(article_ids=chosen, remaining=everything - len(chosen))


class TagArticles:
    """Recent articles per source, for selecting many digests quickly. A source is an int
    key: a tag id, or (bot.compose.word_key) a followed or muted word's.

    Each source keeps its articles newest first, for merging, and as a bitmask over dense
    article positions, so that "how many distinct articles do these sources have" is an OR
    and a popcount instead of building a set union of thousands of ids per subscriber.
    """

    def __init__(self) -> None:
        self._ordered: dict[int, list[tuple[datetime, int]]] = {}
        self._masks: dict[int, int] = {}
        self._positions: dict[int, int] = {}

    def __contains__(self, tag_id: int) -> bool:
        return tag_id in self._ordered

    def add(self, tag_id: int, articles: Iterable[tuple[int, datetime]]) -> None:
        ordered = sorted(((published, a) for a, published in articles), reverse=True)
        mask = 0
        for _, article_id in ordered:
            mask |= 1 << self._positions.setdefault(article_id, len(self._positions))
        self._ordered[tag_id] = ordered
        self._masks[tag_id] = mask

    def select(
        self,
        tag_ids: Sequence[int],
        delivered: AbstractSet[int],
        max_items: int,
        muted: Sequence[int] = (),
    ) -> Selection:
        """The same selection `select_articles` makes from a database query: articles of
        any of ``tag_ids`` and none of ``muted`` (a mute beats every match)."""
        union = 0
        for tag_id in tag_ids:
            union |= self._masks[tag_id]
        blocked = 0
        for key in muted:
            blocked |= self._masks[key]
        union &= ~blocked
        already = sum(
            1
            for a in delivered
            if (position := self._positions.get(a)) is not None and union >> position & 1
        )
        top: list[tuple[int, datetime]] = []
        taken: set[int] = set()
        merged = heapq.merge(*(self._ordered[t] for t in tag_ids), reverse=True)
        for published, article_id in merged:
            if article_id in taken or article_id in delivered:
                continue
            taken.add(article_id)
            if blocked and blocked >> self._positions[article_id] & 1:
                continue
            top.append((article_id, published))
            if len(top) >= max_items:
                break
        return select_articles(top, max_items, union.bit_count() - already)


def article_payload(article_id: int) -> str:
    """The /start payload of an article's deep link (≤ 64 chars of [A-Za-z0-9_-])."""
    return f"{PAYLOAD_PREFIX}{article_id}"


def parse_payload(payload: str) -> int | None:
    match = _PAYLOAD.fullmatch(payload.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class DigestItem:
    article_id: int
    title: str
    summary: str
    link: str
    tags: tuple[str, ...] = ()


class ChunkFormatError(ValueError):
    """A stored outbox message is not what `Chunk.to_json` writes."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One Telegram message and the articles it carries. The outbox stores it as JSON;
    `to_json` and `from_json` are the only places that know that shape."""

    text: str
    article_ids: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "article_ids": list(self.article_ids)}

    @classmethod
    def from_json(cls, data: object) -> Chunk:
        if not isinstance(data, dict):
            raise ChunkFormatError(f"expected an object, got {type(data).__name__}")
        text, ids = data.get("text"), data.get("article_ids", [])
        if not isinstance(text, str) or not text:
            raise ChunkFormatError("expected a non-empty 'text'")
        if not isinstance(ids, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in ids
        ):
            raise ChunkFormatError("expected 'article_ids' to be a list of integers")
        return cls(text, tuple(ids))


def chunks_to_json(chunks: Iterable[Chunk]) -> list[dict[str, Any]]:
    return [chunk.to_json() for chunk in chunks]


def chunks_from_json(data: object) -> tuple[Chunk, ...]:
    if not isinstance(data, list):
        raise ChunkFormatError(f"expected a list of messages, got {type(data).__name__}")
    return tuple(Chunk.from_json(item) for item in data)


def _hashtags(names: Iterable[str]) -> list[str]:
    return [t for t in (hashtag(name) for name in names) if t]


def _join_tags(tags: Sequence[str], budget: int) -> str:
    """As many of ``tags`` (in order) as fit in ``budget`` units, space separated."""
    kept: list[str] = []
    used = 0
    for tag in tags:
        size = utf16_len(tag) + (1 if kept else 0)
        if used + size > budget:
            break
        kept.append(tag)
        used += size
    return " ".join(kept)


@lru_cache(maxsize=16_384)  # one article appears in thousands of digests of a pass
def render_item(item: DigestItem, limit: int, full_text: str = FULL_TEXT) -> str:
    """One article's block, at most ``limit`` visible units. Too long (a legacy row with
    hundreds of tags, a huge title) it is shortened: tags dropped first, then the summary
    cut with "…", then the title."""
    title, summary = item.title.strip(), item.summary.strip()
    # Visible: title "\n" summary "\n" "Full text" ["  " tags]
    fixed = utf16_len(full_text) + (1 if title else 0) + (1 if summary else 0)
    room = limit - fixed
    title = cut(title, room)
    summary = cut(summary, room - utf16_len(title))
    # Tags take at most half a message, so that a digest of such an item is still one.
    budget = min(room - utf16_len(title) - utf16_len(summary) - 2, limit // 2)
    tags = _join_tags(_hashtags(item.tags), budget)
    link = f'<a href="{escape(item.link)}">{escape(full_text)}</a>'
    lines = [
        f"<b>{escape(title)}</b>" if title else "",
        escape(summary),
        f"{link}  {tags}" if tags else link,
    ]
    return "\n".join(line for line in lines if line)


def pack(blocks: Sequence[tuple[str, Sequence[int]]], limit: int) -> list[Chunk]:
    """Join blocks with blank lines into as few messages as fit; never split a block.
    Every block must fit ``limit`` alone: the renderers here shorten theirs to make sure."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    ids: list[int] = []
    length = 0
    for block, block_ids in blocks:
        size = tg_len(block)
        if size > limit:  # pragma: no cover - the renderers guarantee it
            raise AssertionError(f"a single block of {size} characters exceeds {limit}")
        if parts and length + 2 + size > limit:
            chunks.append(Chunk("\n\n".join(parts), tuple(ids)))
            parts, ids, length = [], [], 0
        length += size + (2 if parts else 0)
        parts.append(block)
        ids.extend(block_ids)
    if parts:
        chunks.append(Chunk("\n\n".join(parts), tuple(ids)))
    return chunks


def render_digest(
    items: Sequence[DigestItem],
    *,
    header: str,
    footer: str | None,
    limit: int,
    full_text: str = FULL_TEXT,
) -> list[Chunk]:
    """The digest as messages of at most ``limit`` visible units: the header, one block
    per article (its link labelled ``full_text``), and the ``footer`` (the "N more
    waiting" line) when given."""
    blocks: list[tuple[str, Sequence[int]]] = [(f"<b>{escape(cut(header, limit))}</b>", ())]
    blocks += [(render_item(item, limit, full_text), (item.article_id,)) for item in items]
    if footer:
        blocks.append((f"<i>{escape(cut(footer, limit))}</i>", ()))
    return pack(blocks, limit)


def _split_paragraph(paragraph: str, limit: int) -> list[str]:
    """Escaped pieces of one paragraph, each within ``limit`` units, cut between words
    (or inside a "word" longer than a message)."""
    pieces: list[str] = []
    current = ""
    for word in paragraph.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and utf16_len(candidate) > limit:
            pieces.append(current)
            current = word
        else:
            current = candidate
        while utf16_len(current) > limit:
            head = prefix(current, limit) or current[0]
            pieces.append(head)
            current = current[len(head) :]
    if current:
        pieces.append(current)
    return [escape(piece) for piece in pieces]


def render_article(
    t: Translator,
    *,
    title: str,
    source: str,
    published_at: datetime,
    tags: Sequence[str],
    body: str,
    url: str | None,
    limit: int,
) -> list[str]:
    """The full article as messages of at most ``limit`` visible units, split between
    paragraphs. Never raises: the tag line takes at most a quarter of a message, the
    title half, the source line a quarter."""
    meta = cut(f"{source} · {t.stamp(published_at)}", limit // 4)
    title = cut(title.strip(), limit // 2)
    room = limit - utf16_len(title) - utf16_len(meta) - 2
    tag_line = _join_tags(_hashtags(tags), min(room - 1, limit // 4))
    head = [f"<b>{escape(title)}</b>" if title else "", f"<i>{escape(meta)}</i>"]
    if tag_line:
        head.append(escape(tag_line))
    blocks: list[tuple[str, Sequence[int]]] = [("\n".join(line for line in head if line), ())]
    for paragraph in body.split("\n\n"):
        text = " ".join(paragraph.split())
        if text:
            blocks += [(piece, ()) for piece in _split_paragraph(text, limit)]
    if link := safe_link(url):
        label = escape(t._(ORIGINAL_ARTICLE))
        blocks.append((f'<a href="{escape(link)}">{label}</a>', ()))
    return [chunk.text for chunk in pack(blocks, limit)]
