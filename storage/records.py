"""Plain values the repository returns and the enums its columns hold, importing no
SQLAlchemy: the text layer (bot.texts) takes them as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
