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
from typing import Any

from bot.articles.tags import hashtag
from bot.i18n import Translator
from bot.telegram.lengths import tg_len, utf16_len
from bot.texts import ALSO, FULL_TEXT, ORIGINAL_ARTICLE, UPDATE

PAYLOAD_PREFIX = "a"
_PAYLOAD = re.compile(r"a([1-9][0-9]{0,17})")
_SAFE_LINK = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
MAX_LINK_LENGTH = 2048
ELLIPSIS = "…"


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
    """A digest's entries, one per story, newest first: the newest matching article of
    each (``article_ids``) and its story (``story_ids``); ``updates`` are the stories among
    them the subscriber already had (shown as "Update:"); ``remaining`` counts the stories
    that did not fit."""

    article_ids: list[int]
    remaining: int
    story_ids: list[int] = field(default_factory=list)
    updates: frozenset[int] = frozenset()


Candidate = tuple[int, datetime, int]  # (article id, published_at, story id)


def select_articles(
    candidates: Iterable[Candidate],
    max_items: int,
    total: int | None = None,
    updates: AbstractSet[int] = frozenset(),
) -> Selection:
    """Newest first, each story once (by its newest candidate) however many of its
    articles or tags matched, at most ``max_items`` stories.

    ``candidates`` are (article id, published_at, story id) of undelivered matches,
    possibly repeated; ``total`` is how many distinct stories match when ``candidates``
    holds only the newest of them; ``updates``, the stories the subscriber already had.
    ``remaining`` counts the stories that did not fit.
    """
    newest: dict[int, tuple[datetime, int]] = {}
    for article_id, published, story_id in candidates:
        if story_id not in newest or (published, article_id) > newest[story_id]:
            newest[story_id] = (published, article_id)
    ordered = sorted(newest, key=lambda s: newest[s], reverse=True)
    chosen = ordered[:max_items]
    everything = max(total if total is not None else 0, len(ordered))
    return Selection(
        article_ids=[newest[s][1] for s in chosen],
        remaining=everything - len(chosen),
        story_ids=chosen,
        updates=frozenset(s for s in chosen if s in updates),
    )


class TagArticles:
    """Recent articles per source, for selecting many digests quickly. A source is an int
    key: a tag id, or (bot.delivery.compose.word_key) a followed or muted word's.

    Each source keeps its articles newest first, for merging, and two bitmasks: over dense
    article positions and over dense story positions, so that "how many distinct stories
    do these sources have" is an OR and a popcount instead of building a set union of
    thousands of ids per subscriber.
    """

    def __init__(self) -> None:
        self._ordered: dict[int, list[tuple[datetime, int]]] = {}
        self._masks: dict[int, int] = {}
        self._story_masks: dict[int, int] = {}
        self._positions: dict[int, int] = {}
        self._story_positions: dict[int, int] = {}
        self._story_of: dict[int, int] = {}
        self._members: dict[int, set[int]] = {}

    def __contains__(self, tag_id: int) -> bool:
        return tag_id in self._ordered

    def add(self, tag_id: int, articles: Iterable[Candidate]) -> None:
        ordered: list[tuple[datetime, int]] = []
        mask = story_mask = 0
        for article_id, published, story_id in articles:
            ordered.append((published, article_id))
            mask |= 1 << self._positions.setdefault(article_id, len(self._positions))
            position = self._story_positions.setdefault(story_id, len(self._story_positions))
            story_mask |= 1 << position
            self._story_of[article_id] = story_id
            self._members.setdefault(story_id, set()).add(article_id)
        ordered.sort(reverse=True)
        self._ordered[tag_id] = ordered
        self._masks[tag_id] = mask
        self._story_masks[tag_id] = story_mask

    def select(
        self,
        tag_ids: Sequence[int],
        delivered: AbstractSet[int],
        max_items: int,
        muted: Sequence[int] = (),
        had: AbstractSet[int] = frozenset(),
    ) -> Selection:
        """The same selection `select_articles` makes from a database query: stories with
        articles of any of ``tag_ids`` not yet ``delivered``, and no article of ``muted``
        (a mute beats every match). ``had`` are the stories the subscriber already got:
        one of them with a new matching article is an update."""
        union = stories = 0
        for tag_id in tag_ids:
            union |= self._masks[tag_id]
            stories |= self._story_masks[tag_id]
        blocked = 0
        for key in muted:
            blocked |= self._story_masks[key]
        stories &= ~blocked
        had = set(had).union(self._story_of[a] for a in delivered if a in self._story_of)
        # A story this subscriber had counts only while it has a matching article they
        # have not had.
        done = 0
        for story_id in had:
            position = self._story_positions.get(story_id)
            if position is None or not stories >> position & 1:
                continue
            if not any(
                a not in delivered and union >> self._positions[a] & 1
                for a in self._members[story_id]
            ):
                done += 1
        top: list[Candidate] = []
        taken: set[int] = set()
        merged = heapq.merge(*(self._ordered[t] for t in tag_ids), reverse=True)
        for published, article_id in merged:
            if article_id in delivered:
                continue
            story_id = self._story_of[article_id]
            if story_id in taken:
                continue
            taken.add(story_id)
            if blocked and blocked >> self._story_positions[story_id] & 1:
                continue
            top.append((article_id, published, story_id))
            if len(top) >= max_items:
                break
        return select_articles(top, max_items, stories.bit_count() - done, had)


def article_payload(article_id: int) -> str:
    """The /start payload of an article's deep link (≤ 64 chars of [A-Za-z0-9_-])."""
    return f"{PAYLOAD_PREFIX}{article_id}"


def parse_payload(payload: str) -> int | None:
    match = _PAYLOAD.fullmatch(payload.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One entry of a digest: a story, shown by one of its articles. ``also`` names the
    story's other sources (name, link), ``more`` how many others are not named;
    ``ledger_ids`` are every article the entry stands for (the shown one when empty)."""

    article_id: int
    title: str
    summary: str
    link: str
    tags: tuple[str, ...] = ()
    also: tuple[tuple[str, str], ...] = ()
    more: int = 0
    update: bool = False
    ledger_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Labels:
    """The words of a digest entry, in the reader's language."""

    full_text: str = FULL_TEXT
    update: str = UPDATE
    also: str = ALSO


MAX_SOURCE_NAME = 40


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


def _also_line(item: DigestItem, label: str, budget: int) -> str:
    """ "Also: <a>Name</a> · <a>Name</a> · +2" within ``budget`` visible units; sources that
    do not fit join the "+N"."""
    if not item.also and not item.more:
        return ""
    shown: list[str] = []
    used = utf16_len(label)
    for index, (source, link) in enumerate(item.also):
        name = cut(" ".join(source.split()), MAX_SOURCE_NAME)
        left = len(item.also) - index - 1 + item.more
        tail = utf16_len(f" · +{left}") if left else 0
        size = utf16_len(f" {name}") + (3 if shown else 0)
        if not name or used + size + tail > budget:
            break
        shown.append(f'<a href="{escape(link)}">{escape(name)}</a>')
        used += size
    more = len(item.also) - len(shown) + item.more
    if more:
        if used + utf16_len(f" · +{more}") > budget:
            return ""
        shown.append(f"+{more}")
    return f"{escape(label)} " + " · ".join(shown) if shown else ""


@lru_cache(maxsize=16_384)  # one article appears in thousands of digests of a pass
def render_item(item: DigestItem, limit: int, labels: Labels = Labels()) -> str:
    """One entry's block, at most ``limit`` visible units. Too long (a legacy row with
    hundreds of tags, a huge title) it is shortened: tags dropped first, then the summary
    cut with "…", then the title. An update's title starts with the "Update:" label; a
    story with other sources ends with the "Also:" line, which takes at most a quarter."""
    also = _also_line(item, labels.also, limit // 4)
    title, summary = item.title.strip(), item.summary.strip()
    if item.update:
        title = f"{labels.update} {title}"
    # Visible: title "\n" summary "\n" "Full text" ["  " tags] ["\n" also]
    fixed = utf16_len(labels.full_text) + (1 if title else 0) + (1 if summary else 0)
    room = limit - fixed - (tg_len(also) + 1 if also else 0)
    title = cut(title, room)
    summary = cut(summary, room - utf16_len(title))
    # Tags take at most half a message, so that a digest of such an item is still one.
    budget = min(room - utf16_len(title) - utf16_len(summary) - 2, limit // 2)
    tags = _join_tags(_hashtags(item.tags), budget)
    link = f'<a href="{escape(item.link)}">{escape(labels.full_text)}</a>'
    lines = [
        f"<b>{escape(title)}</b>" if title else "",
        escape(summary),
        f"{link}  {tags}" if tags else link,
        also,
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
    labels: Labels = Labels(),
) -> list[Chunk]:
    """The digest as messages of at most ``limit`` visible units: the header, one block
    per story (its words from ``labels``), and the ``footer`` (the "N more waiting"
    line) when given."""
    blocks: list[tuple[str, Sequence[int]]] = [(f"<b>{escape(cut(header, limit))}</b>", ())]
    blocks += [
        (render_item(item, limit, labels), item.ledger_ids or (item.article_id,)) for item in items
    ]
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
