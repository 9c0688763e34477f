"""Plain values the repository returns and the enums its columns hold, importing no
SQLAlchemy: the text layer (bot.texts) takes them as they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


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
