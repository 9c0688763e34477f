"""When a feed is polled next, and what its state is called. Pure code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from util import backoff

# A failing feed is tried again after interval × 2^failures, never later than this.
BACKOFF_CAP = timedelta(hours=24)
# A feed that has failed for this long is shown as broken (it is still polled, daily).
BROKEN_AFTER = timedelta(days=7)


class FeedStatus(StrEnum):
    NEW = "new"  # not polled yet
    OK = "ok"
    FAILING = "failing"
    BROKEN = "broken"


# A feed never read yet is tried again this soon after its first failure: a new feed's
# first fetch may fail for a moment's reason (a busy server, a timeout while hundreds of
# an import's feeds are fetched), and the back-off would show it failing for half an hour.
FIRST_RETRY = timedelta(minutes=1)


def retry_delay(interval: timedelta, failures: int, *, ever_read: bool = True) -> timedelta:
    """How long after a poll the next one is due: ``interval`` while the feed works, then
    doubling with each failure in a row (15 min → 30 min → 1 h …), capped at a day. A
    feed not ``ever_read`` is tried again after `FIRST_RETRY` the first time it fails."""
    if failures <= 0:
        return interval
    if failures == 1 and not ever_read:
        return min(FIRST_RETRY, interval)
    seconds = backoff(failures, interval.total_seconds(), BACKOFF_CAP.total_seconds())
    return timedelta(seconds=seconds)


def feed_status(
    *, polled_at: datetime | None, failures: int, failing_since: datetime | None, now: datetime
) -> FeedStatus:
    if failures > 0:
        if failing_since is not None and now - failing_since >= BROKEN_AFTER:
            return FeedStatus.BROKEN
        return FeedStatus.FAILING
    return FeedStatus.OK if polled_at is not None else FeedStatus.NEW


@dataclass(frozen=True, slots=True)
class FeedNamed:
    """What names a feed wherever one is shown: its id, title, address and tags."""

    feed_id: int
    title: str
    url: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedView(FeedNamed):
    """A feed as /feeds and `newsbot feeds list` show it."""

    polled_at: datetime | None
    status: FeedStatus
    failures: int
    error: str | None
    added_24h: int
    dropped: int = 0  # older entries the last poll did not read (beyond the newest 500)
    moved_to: str | None = None  # a permanent redirect to another feed's address
