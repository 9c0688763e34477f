"""What feed use cases take and return: results of polls, adds and imports, and the
problems they name. Pure: bot.texts and the command line take these as they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.articles.tags import MAX_TAG_LENGTH, split_tag_list
from bot.feeds.policy import FeedNamed
from bot.i18n import N_, Problem
from storage.records import Tag

if TYPE_CHECKING:  # the row's type only: this module stays pure, for bot.texts
    from storage.models import Feed

MAX_FEED_TAGS = 10
MAX_NAME_LENGTH = 100


class FeedProblem(Problem):
    """A feed command cannot be done; the message says why, for the admin."""

    @classmethod
    def already_there(cls, feed_id: int | None) -> FeedProblem:
        if feed_id is None:
            return cls(ALREADY_THERE)
        return cls(N_("that feed is already there, as #{id}"), id=feed_id)


ALREADY_THERE = N_("that feed is already there")


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one feed did."""

    feed_id: int
    title: str
    url: str
    error: str | None = None
    failures: int = 0
    # The error will not pass soon by itself (no feed in the response, a 404): fetching
    # again soon will not help.
    lasting: bool = False
    not_modified: bool = False
    entries: int = 0
    added: int = 0
    updated: int = 0
    skipped: tuple[str, ...] = ()
    dropped: int = 0  # older entries beyond the newest MAX_ENTRIES, not read
    moved_to: str | None = None  # a permanent redirect: the feed's new address
    # (feed id, address): a permanent redirect to the address another feed already has,
    # so this one kept its own.
    duplicate: tuple[int, str] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class FeedAdded(FeedNamed):
    entries: int  # readable entries found, the dropped ones included
    added: int
    skipped: tuple[str, ...]
    dropped: int = 0  # older entries beyond the newest MAX_ENTRIES, not read


@dataclass
class OpmlReport:
    """What an import did, once its feeds were polled."""

    added: list[PollResult] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: list[tuple[str, Problem]] = field(default_factory=list)  # (url, why)


@dataclass
class OpmlImport:
    """What an import stored at once: feeds claimed for their first poll, which
    `FeedService.check_import` runs."""

    stored: list[Claimed] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[tuple[str, Problem]] = field(default_factory=list)  # (url, why)


@dataclass(frozen=True, slots=True)
class Move:
    """What a permanent redirect did to a feed's address."""

    moved_to: str | None = None
    duplicate: tuple[int, str] | None = None  # (the feed that has the address, it)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a poll needs of a feed row, read while it was claimed."""

    feed_id: int
    url: str
    title: str
    name: str | None
    tags: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    failures: int

    @classmethod
    def of(cls, feed: Feed) -> Claimed:
        return cls(
            feed.id, feed.url, feed.title, feed.name, tuple(feed.tags), feed.etag,
            feed.last_modified, feed.content_hash, feed.failures,
        )  # fmt: skip


def parse_feed_tags(text: str) -> list[Tag]:
    """``a, b`` as feed tags; raises `FeedProblem` naming what is wrong."""
    tags = split_tag_list(text)
    if len(tags) > MAX_FEED_TAGS:
        raise FeedProblem(
            N_("at most {limit} tags per feed, got {count}"), limit=MAX_FEED_TAGS, count=len(tags)
        )
    for tag in tags:
        if len(tag.name) > MAX_TAG_LENGTH:
            raise FeedProblem(
                N_("tag '{tag}…' is longer than {limit} characters"),
                tag=tag.name[:30],
                limit=MAX_TAG_LENGTH,
            )
    return tags
