"""When a failing feed is polled again, and when it is called broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telegram.constants import MessageLimit

from bot.feeds.hosts import in_turn_by_host
from bot.feeds.model import Claimed, FeedAdded, FeedProblem, OpmlReport
from bot.feeds.policy import BACKOFF_CAP, FeedStatus, FeedView, feed_status, retry_delay
from bot.feeds.views import FEEDS_PAGE_SIZE
from bot.i18n import N_, languages, translator
from bot.telegram.lengths import tg_len
from bot.texts import feed_added, feeds_text, opml_imported

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
    ("failures", "delay"),
    [(1, timedelta(minutes=1)), (2, timedelta(hours=1)), (7, timedelta(hours=24))],
)
def test_a_feed_never_read_is_tried_again_a_minute_after_its_first_failure(
    failures: int, delay: timedelta
) -> None:
    assert retry_delay(INTERVAL, failures, ever_read=False) == delay
    # Never later than a working feed's next poll.
    assert retry_delay(timedelta(seconds=30), 1, ever_read=False) == timedelta(seconds=30)


def test_a_pass_takes_the_feeds_one_host_after_another() -> None:
    def feed(feed_id: int, host: str) -> Claimed:
        return Claimed(feed_id, f"https://{host}/{feed_id}.xml", "", None, (), None, None, None, 0)

    feeds = [feed(1, "a.example"), feed(2, "a.example"), feed(3, "a.example"),
             feed(4, "b.example"), feed(5, "c.example"), feed(6, "B.example")]  # fmt: skip
    assert [f.feed_id for f in in_turn_by_host(feeds)] == [1, 4, 5, 2, 6, 3]


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
        dropped=10**9,
        moved_to="https://example.com/" + "&" * 2_000,
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
        "📥 OPML import done: {added} added, {already} already there, {failed} failed",
        added=0,
        already=1000,
        failed=1000,
    )
    assert text.startswith(head + "\n")
    assert text.endswith(t._("… and {count} more", count=988))
    assert text.count("\n• ") == 12
    assert tg_len(text) <= MessageLimit.MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    ("language", "added", "notes"),
    [
        (
            "en",
            [
                "✅ Feed 1 added: <b>Big Wire</b>",
                "10,000 entries found, 500 new articles.",
                "9,500 older entries dropped: only the newest 500 of a feed are read.",
            ],
            [
                "9,500 older entries dropped: only the newest 500 of a feed are read.",
                "↪ Moved permanently to https://wire.example/new.xml, the address of another "
                "feed: this one stays at its own. Remove one of the two.",
            ],
        ),
        (
            "uk",
            [
                "✅ Стрічку 1 додано: <b>Big Wire</b>",
                "Знайдено 10\xa0000 записів, 500 нових статей.",
                "Відкинуто 9\xa0500 старіших записів: зі стрічки читаються лише 500 найновіших.",
            ],
            [
                "Відкинуто 9\xa0500 старіших записів: зі стрічки читаються лише 500 найновіших.",
                "↪ Назавжди переїхала на https://wire.example/new.xml, адресу іншої стрічки: ця "
                "лишається на своїй. Видаліть одну з двох.",
            ],
        ),
    ],
)
def test_dropped_entries_and_a_move_that_clashed_are_said_in_each_language(
    language: str, added: list[str], notes: list[str]
) -> None:
    t = translator(language)
    reply = feed_added(
        t, FeedAdded(
            feed_id=1, title="Big Wire", url="https://wire.example/old.xml", tags=(),
            entries=10_000, added=500, skipped=(), dropped=9_500,
        ),
    )  # fmt: skip
    assert reply.splitlines()[:3] == added
    view = FeedView(
        feed_id=1, title="Big Wire", url="https://wire.example/old.xml", tags=(),
        polled_at=NOW, status=FeedStatus.OK, failures=0, error=None, added_24h=500,
        dropped=9_500, moved_to="https://wire.example/new.xml",
    )  # fmt: skip
    assert feeds_text(t, [view], 0, 1, 1).splitlines()[-2:] == notes
