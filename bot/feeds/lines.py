"""Feeds on the command line (plain English text, like the rest of the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.feeds.parse import MAX_ENTRIES
from bot.texts.feeds import FeedLike, counted, polled_ago

# ---- feeds on the command line (plain text)


class PollLike(Protocol):
    """What one poll did (bot.feeds.service.PollResult is one)."""

    @property
    def feed_id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def failures(self) -> int: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def entries(self) -> int: ...
    @property
    def added(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def skipped(self) -> Sequence[str]: ...
    @property
    def dropped(self) -> int: ...
    @property
    def moved_to(self) -> str | None: ...
    @property
    def duplicate(self) -> tuple[int, str] | None: ...


def _dropped_line(dropped: int) -> str:
    return (
        f"{counted(dropped, 'older entry', 'older entries')} dropped "
        f"(only the newest {MAX_ENTRIES} of a feed are read)"
    )


def poll_line(result: PollLike) -> str:
    """One line per feed polled, for `newsbot poll`."""
    head = f"feed {result.feed_id} {result.url}"
    if result.error is not None:
        failed = counted(result.failures, "time", "times")
        return f"{head}: failed ({failed} in a row): {result.error}"
    if result.not_modified:
        line = f"{head}: not modified"
    else:
        line = (
            f"{head}: {counted(result.entries, 'entry', 'entries')}, "
            f"{result.added} added, {result.updated} updated"
        )
    if result.dropped:
        line += f", {_dropped_line(result.dropped)}"
    if result.skipped:
        line += f", {len(result.skipped)} skipped ({'; '.join(result.skipped[:3])})"
    if result.moved_to:
        line += "; moved permanently, address updated"
    if result.duplicate:
        other, url = result.duplicate
        line += (
            f"; moved permanently to {url}, which feed {other} already has: "
            "address kept (remove one of the two)"
        )
    return line


class AddedLike(Protocol):
    @property
    def feed_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def entries(self) -> int: ...
    @property
    def added(self) -> int: ...
    @property
    def dropped(self) -> int: ...


def feed_added_line(added: AddedLike) -> str:
    """`newsbot feeds add`'s answer."""
    line = (
        f"feed {added.feed_id} added: {added.title} ({added.url}): "
        f"{counted(added.entries, 'entry', 'entries')}, {added.added} new"
    )
    if added.dropped:
        line += f"; {_dropped_line(added.dropped)}"
    return line


def feed_row(feed: FeedLike) -> str:
    """One feed, for `newsbot feeds list` (tab-separated)."""
    status = (
        feed.status
        if feed.status in ("ok", "new")
        else (f"{feed.status} ({feed.failures} in a row): {feed.error or ''}")
    )
    return "\t".join(
        [
            str(feed.feed_id),
            feed.title,
            feed.url,
            ", ".join(feed.tags) or "-",
            polled_ago(feed),
            status,
            f"{feed.added_24h} in 24 h",
        ]
    )
