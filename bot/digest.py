"""Digest selection and rendering: which articles a subscriber gets, and the HTML they see.

Pure code: no Telegram, no database. Messages use Telegram's HTML parse mode; every piece
of article text is escaped here and nowhere else.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from html import escape

from bot.tags import hashtag

MESSAGE_LIMIT = 4096
PAYLOAD_PREFIX = "a"
_PAYLOAD = re.compile(r"a([1-9][0-9]{0,17})")


@lru_cache(maxsize=16_384)
def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


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
    """Recent articles per tag, for selecting many digests quickly.

    Each tag keeps its articles newest first, for merging, and as a bitmask over dense
    article positions, so that "how many distinct articles do these tags have" is an OR
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
        self, tag_ids: Sequence[int], delivered: AbstractSet[int], max_items: int
    ) -> Selection:
        """The same selection `select_articles` makes from a database query."""
        union = 0
        for tag_id in tag_ids:
            union |= self._masks[tag_id]
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


def deep_link(bot_username: str, article_id: int) -> str:
    return f"https://t.me/{bot_username}?start={article_payload(article_id)}"


@dataclass(frozen=True, slots=True)
class DigestItem:
    article_id: int
    title: str
    summary: str
    link: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Chunk:
    """One Telegram message and the articles it carries."""

    text: str
    article_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "article_ids": list(self.article_ids)}


@lru_cache(maxsize=16_384)  # one article appears in thousands of digests of a pass
def render_item(item: DigestItem) -> str:
    tags = " ".join(t for t in (hashtag(name) for name in item.tags) if t)
    link = f'<a href="{escape(item.link)}">Full text</a>'
    lines = [f"<b>{escape(item.title)}</b>", escape(item.summary), f"{link}  {tags}".rstrip()]
    return "\n".join(line for line in lines if line)


def pack(blocks: Sequence[tuple[str, list[int]]], limit: int = MESSAGE_LIMIT) -> list[Chunk]:
    """Join blocks with blank lines into as few messages as fit; never split a block."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    ids: list[int] = []
    length = 0
    for block, block_ids in blocks:
        size = tg_len(block)
        if size > limit:
            raise ValueError(f"a single block of {size} characters exceeds {limit}")
        if parts and length + 2 + size > limit:
            chunks.append(Chunk("\n\n".join(parts), ids))
            parts, ids, length = [], [], 0
        length += size + (2 if parts else 0)
        parts.append(block)
        ids = ids + list(block_ids)
    if parts:
        chunks.append(Chunk("\n\n".join(parts), ids))
    return chunks


def render_digest(
    items: Sequence[DigestItem],
    *,
    remaining: int,
    header: str,
    more_hint: str,
    limit: int = MESSAGE_LIMIT,
) -> list[Chunk]:
    """The digest as messages: header, one block per article, the "N more" line."""
    blocks: list[tuple[str, list[int]]] = [(f"<b>{escape(header)}</b>", [])]
    blocks += [(render_item(item), [item.article_id]) for item in items]
    if remaining:
        noun = "article" if remaining == 1 else "articles"
        blocks.append((f"<i>+{remaining} more {noun} waiting; {escape(more_hint)}</i>", []))
    return pack(blocks, limit)


def _split_paragraph(paragraph: str, limit: int) -> list[str]:
    """Escaped pieces of one paragraph, each within ``limit``, cut between words."""
    pieces: list[str] = []
    current = ""
    for word in paragraph.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and tg_len(escape(candidate)) > limit:
            pieces.append(escape(current))
            current = word
        else:
            current = candidate
        while tg_len(escape(current)) > limit:  # a "word" longer than a message
            cut = limit // 6  # escaping grows a character to at most 6 ("&quot;")
            pieces.append(escape(current[:cut]))
            current = current[cut:]
    if current:
        pieces.append(escape(current))
    return pieces


def render_article(
    *,
    title: str,
    source: str,
    published_at: datetime,
    tags: Sequence[str],
    body: str,
    url: str | None,
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """The full article as messages, split between paragraphs."""
    meta = f"{source} · {published_at.strftime('%d %b %Y, %H:%M %Z').strip()}"
    head = [f"<b>{escape(title)}</b>", f"<i>{escape(meta)}</i>"]
    tag_line = " ".join(t for t in (hashtag(name) for name in tags) if t)
    if tag_line:
        head.append(escape(tag_line))
    blocks: list[tuple[str, list[int]]] = [("\n".join(head), [])]
    for paragraph in body.split("\n\n"):
        text = " ".join(paragraph.split())
        if text:
            blocks += [(piece, []) for piece in _split_paragraph(text, limit)]
    if url:
        blocks.append((f'<a href="{escape(url)}">Original article</a>', []))
    return [chunk.text for chunk in pack(blocks, limit)]
