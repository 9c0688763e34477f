"""When a failing feed is polled again, and when it is called broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feedpolicy import BACKOFF_CAP, FeedStatus, feed_status, retry_delay

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=15)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        (0, timedelta(minutes=15)),
        (1, timedelta(minutes=30)),
        (2, timedelta(hours=1)),
        (3, timedelta(hours=2)),
        (6, timedelta(hours=16)),
        (7, timedelta(hours=24)),
        (8, timedelta(hours=24)),
        (10_000, timedelta(hours=24)),
    ],
)
def test_a_failing_feed_backs_off_exponentially_up_to_a_day(
    failures: int, delay: timedelta
) -> None:
    assert retry_delay(INTERVAL, failures) == delay
    assert retry_delay(INTERVAL, failures) <= BACKOFF_CAP


@pytest.mark.parametrize(
    ("polled", "failures", "failing_for", "status"),
    [
        (False, 0, None, FeedStatus.NEW),
        (True, 0, None, FeedStatus.OK),
        (True, 1, timedelta(minutes=1), FeedStatus.FAILING),
        (True, 9, timedelta(days=6, hours=23), FeedStatus.FAILING),
        (True, 10, timedelta(days=7), FeedStatus.BROKEN),
        (True, 3, timedelta(days=30), FeedStatus.BROKEN),
    ],
)
def test_a_feed_failing_for_seven_days_is_broken(
    polled: bool, failures: int, failing_for: timedelta | None, status: FeedStatus
) -> None:
    assert (
        feed_status(
            polled_at=NOW if polled else None,
            failures=failures,
            failing_since=None if failing_for is None else NOW - failing_for,
            now=NOW,
        )
        is status
    )
