"""Feeds on the command line (plain English text, like the rest of the CLI)."""

from __future__ import annotations

from bot.feeds.model import FeedAdded, PollResult
from bot.feeds.parse import MAX_ENTRIES
from bot.feeds.policy import FeedStatus, FeedView

# ---- feeds on the command line (plain text)


def counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def polled_ago(feed: FeedView) -> str:
    return f"{feed.polled_at:%d %b %H:%M} UTC" if feed.polled_at else "never"


def _dropped_line(dropped: int) -> str:
    return (
        f"{counted(dropped, 'older entry', 'older entries')} dropped "
        f"(only the newest {MAX_ENTRIES} of a feed are read)"
    )


def poll_line(result: PollResult) -> str:
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


def feed_added_line(added: FeedAdded) -> str:
    """`newsbot feeds add`'s answer."""
    line = (
        f"feed {added.feed_id} added: {added.title} ({added.url}): "
        f"{counted(added.entries, 'entry', 'entries')}, {added.added} new"
    )
    if added.dropped:
        line += f"; {_dropped_line(added.dropped)}"
    return line


def feed_row(feed: FeedView) -> str:
    """One feed, for `newsbot feeds list` (tab-separated)."""
    status = (
        feed.status
        if feed.status in (FeedStatus.OK, FeedStatus.NEW)
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
