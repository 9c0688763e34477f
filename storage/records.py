"""Plain values the repository returns and the enums its columns hold, importing no
SQLAlchemy: the text layer (bot.texts) takes them as they are."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag as a person wrote it (``name``) and the key it is matched by."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    category: str
    published_at: datetime
    source: str
    title: str
    tags: tuple[Tag, ...]
    body: str
    summary: str
    url: str | None

    @property
    def fingerprint(self) -> str:
        """Identity: the same source, publication time and title are the same article."""
        identity = "\x1f".join(
            [
                folded(self.source),
                self.published_at.astimezone(UTC).isoformat(),
                folded(self.title),
            ]
        )
        return hashlib.sha256(identity.encode()).hexdigest()

    @property
    def content_hash(self) -> str:
        """Changes whenever anything stored about the article changes."""
        return content_digest(self, self.published_at.isoformat())


def content_digest(article: ParsedArticle, published: str) -> str:
    """A hash of everything stored about an article (its date as ``published``)."""
    parts = [
        article.category,
        published,
        article.source,
        article.title,
        ",".join(tag.name for tag in article.tags),
        article.url or "",
        article.body,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def folded(text: str) -> str:
    """Whitespace collapsed and case folded: how an article's source and title count for
    its identity."""
    return _WHITESPACE.sub(" ", text).strip().casefold()


class WordKind(StrEnum):
    FOLLOW = "follow"
    MUTE = "mute"


class Outcome(StrEnum):
    """What storing an article did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"  # an admin deleted it (by identity or link): not stored again


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What deleting a chat removed, by kind."""

    subscriptions: int
    words: int
    ledger: int
    digests: int
    links: int


@dataclass(frozen=True, slots=True)
class ChatCounts:
    """Active chats by type (a supergroup counts as a group)."""

    private: int
    groups: int
    channels: int


@dataclass(frozen=True, slots=True)
class Stats:
    """What /stats shows."""

    articles: int
    tags: int
    subscribers_active: int
    subscribers_paused: int
    subscribers_blocked: int
    chats: ChatCounts
    subscriptions: int
    digests_sent_24h: int


@dataclass(frozen=True, slots=True)
class Member:
    """An article of a story, as a digest or /story shows it."""

    id: int
    story_id: int
    title: str
    summary: str
    url: str | None
    source: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class Page:
    """Page ``number`` (from 0) of ``count`` pages of ``size`` rows of a listing."""

    number: int
    count: int
    size: int

    @classmethod
    def of(cls, total: int, size: int, wanted: int) -> Page:
        """The ``wanted`` page of ``total`` rows; the last one when the listing got shorter
        since the page was shown (an empty listing has one, empty, page)."""
        count = max(1, -(-total // size))
        return cls(min(max(wanted, 0), count - 1), count, size)

    @property
    def offset(self) -> int:
        return self.number * self.size

    def of_rows(self, rows: Sequence[T]) -> Sequence[T]:
        """This page's rows of the whole listing."""
        return rows[self.offset : self.offset + self.size]
