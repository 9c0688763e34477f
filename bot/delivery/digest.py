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
from html import escape

from bot.articles.tags import hashtag
from bot.delivery.entry import ENGLISH, DigestItem, Labels, cut, prefix, render_item, render_line
from bot.delivery.outbox import Chunk
from bot.i18n import Translator
from bot.telegram.lengths import tg_len, utf16_len
from bot.texts import ORIGINAL_ARTICLE

PAYLOAD_PREFIX = "a"
_PAYLOAD = re.compile(r"a([1-9][0-9]{0,17})")
STORY_PREFIX = "s"
_STORY_PAYLOAD = re.compile(r"s([1-9][0-9]{0,17})")
_SAFE_LINK = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
MAX_LINK_LENGTH = 2048


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


def story_payload(story_id: int) -> str:
    """The /start payload of a story's deep link: "Show all N reports" under an entry."""
    return f"{STORY_PREFIX}{story_id}"


def is_story_payload(payload: str) -> bool:
    """Whether ``payload`` is meant for a story (a forged or mistyped one included)."""
    return payload.strip().lower().startswith(STORY_PREFIX)


def parse_story_payload(payload: str) -> int | None:
    match = _STORY_PAYLOAD.fullmatch(payload.strip())
    return int(match.group(1)) if match else None


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


Block = tuple[str, Sequence[int], Sequence[tuple[str, str]]]  # HTML, articles, buttons


def pack(
    blocks: Sequence[Block], limit: int, *, separator: str = "\n\n", max_buttons: int = 100
) -> list[Chunk]:
    """Join blocks (HTML, article ids, URL buttons) with ``separator`` into as few
    messages as fit ``limit`` visible units and ``max_buttons`` buttons; never split a
    block. Every block must fit alone: the renderers here shorten theirs to make sure."""
    chunks: list[Chunk] = []
    parts: list[str] = []
    ids: list[int] = []
    keys: list[tuple[str, str]] = []
    length = 0
    gap = utf16_len(separator)
    for block, block_ids, block_buttons in blocks:
        size = tg_len(block)
        if size > limit:  # pragma: no cover - the renderers guarantee it
            raise AssertionError(f"a single block of {size} characters exceeds {limit}")
        if parts and (length + gap + size > limit or len(keys) + len(block_buttons) > max_buttons):
            chunks.append(Chunk(separator.join(parts), tuple(ids), tuple(keys)))
            parts, ids, keys, length = [], [], [], 0
        length += size + (gap if parts else 0)
        parts.append(block)
        ids.extend(block_ids)
        if block_buttons:
            keys.extend(block_buttons[:max_buttons])
    if parts:
        chunks.append(Chunk(separator.join(parts), tuple(ids), tuple(keys)))
    return chunks


def render_digest(
    items: Sequence[DigestItem],
    *,
    header: str,
    footer: str | None,
    limit: int,
    labels: Labels = ENGLISH,
    compact: bool = False,
    max_buttons: int = 100,
) -> list[Chunk]:
    """The digest as messages of at most ``limit`` visible units and ``max_buttons``
    buttons: the header, one block per story (its words from ``labels``; one line each
    when ``compact``) with its "Show all N reports" button, and the ``footer`` (the "N
    more waiting" line) when given."""
    blocks: list[Block] = [(f"<b>{escape(cut(header, limit))}</b>", (), ())]
    render = render_line if compact else render_item
    blocks += [
        (
            render(item, limit, labels),
            item.ledger_ids or (item.article_id,),
            (item.button,) if item.button else (),
        )
        for item in items
    ]
    if footer:
        blocks.append((f"<i>{escape(cut(footer, limit))}</i>", (), ()))
    return pack(blocks, limit, separator="\n" if compact else "\n\n", max_buttons=max_buttons)


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
    blocks: list[Block] = [("\n".join(line for line in head if line), (), ())]
    for paragraph in body.split("\n\n"):
        text = " ".join(paragraph.split())
        if text:
            blocks += [(piece, (), ()) for piece in _split_paragraph(text, limit)]
    if link := safe_link(url):
        label = escape(t._(ORIGINAL_ARTICLE))
        blocks.append((f'<a href="{escape(link)}">{label}</a>', (), ()))
    return [chunk.text for chunk in pack(blocks, limit)]
