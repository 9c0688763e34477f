"""When a failing feed is polled again, and when it is called broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telegram.constants import MessageLimit

from bot.feedpolicy import BACKOFF_CAP, FeedStatus, FeedView, feed_status, retry_delay
from bot.feeds import FEEDS_PAGE_SIZE, FeedProblem, OpmlReport
from bot.i18n import N_, languages, translator
from bot.lengths import tg_len
from bot.texts import feeds_text, opml_imported

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


@pytest.mark.parametrize("language", languages())
def test_a_page_of_the_longest_feeds_fits_one_message(language: str) -> None:
    """Every field at its longest (escaped HTML counts as Telegram counts it)."""
    worst = FeedView(
        feed_id=2**31 - 1,
        title="<&>" * 100,
        url="https://example.com/" + "&" * 2_000,
        tags=tuple("t" * 50 for _ in range(10)),
        polled_at=NOW,
        status=FeedStatus.BROKEN,
        failures=10**6,
        error="<b>" * 200,
        added_24h=10**6,
    )
    text = feeds_text(translator(language), [worst] * FEEDS_PAGE_SIZE, 99_999, 100_000, 10**6)
    assert tg_len(text) <= MessageLimit.MAX_TEXT_LENGTH


@pytest.mark.parametrize("language", languages())
def test_an_opml_report_of_the_longest_failures_fits_one_message(language: str) -> None:
    report = OpmlReport(
        failed=[("https://example.com/" + "&" * 2_000, FeedProblem(N_("{x}"), x="<x>" * 500))]
        * 1_000,
        already=["u"] * 1_000,
    )
    t = translator(language)
    text = opml_imported(t, report)
    head = t._(
        "{added} added, {already} already there, {failed} failed",
        added=0,
        already=1000,
        failed=1000,
    )
    assert text.startswith(head + "\n")
    assert text.endswith(t._("… and {count} more", count=988))
    assert text.count("\n• ") == 12
    assert tg_len(text) <= MessageLimit.MAX_TEXT_LENGTH
