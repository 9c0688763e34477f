"""What the subscription use cases return. Pure: bot.texts and the keyboards take these
as they are."""

from __future__ import annotations

from dataclasses import dataclass, field

# A subscriber may wait for at most this many tags that have no articles yet. Such a
# subscription creates a tag row; without a cap one chat could fill the tag table. The
# rows go again when the last subscriber leaves them (see bot.subscriptions.service).
MAX_PENDING_TAGS = 10


@dataclass(frozen=True, slots=True)
class Suggestion:
    tag_id: int
    name: str


@dataclass
class SubscribeResult:
    subscribed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    without_articles: list[str] = field(default_factory=list)
    suggestions: dict[str, list[Suggestion]] = field(default_factory=dict)
    too_long: list[str] = field(default_factory=list)
    over_pending_limit: list[str] = field(default_factory=list)
    pending_limit: int = MAX_PENDING_TAGS


@dataclass
class UnsubscribeResult:
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    suggestions: dict[str, list[Suggestion]] = field(default_factory=dict)


@dataclass(frozen=True)
class TagButton:
    tag_id: int
    name: str
    count: int
    subscribed: bool


@dataclass(frozen=True)
class SubscriptionsPage:
    tags: list[Suggestion]
    page: int
    pages: int
