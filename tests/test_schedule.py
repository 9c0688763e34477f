"""The schedule, by time travel: DST in Europe/Kyiv and America/New_York, weekly, offsets."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.subscriptions.schedule import (
    ScheduleError,
    next_due,
    parse_digest_time,
    parse_timezone,
    parse_weekday,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_daily_in_utc() -> None:
    assert next_due(utc(2026, 3, 2, 6), digest_time=time(8), timezone_name="UTC") == utc(
        2026, 3, 2, 8
    )
    assert next_due(utc(2026, 3, 2, 8), digest_time=time(8), timezone_name="UTC") == utc(
        2026, 3, 3, 8
    )


def test_kyiv_local_time_follows_dst() -> None:
    # Winter: UTC+2; summer: UTC+3 (clocks go forward on 29 March 2026).
    assert next_due(utc(2026, 3, 27, 12), digest_time=time(8), timezone_name="Europe/Kyiv") == (
        utc(2026, 3, 28, 6)
    )
    assert next_due(utc(2026, 3, 28, 12), digest_time=time(8), timezone_name="Europe/Kyiv") == (
        utc(2026, 3, 29, 5)
    )


def test_kyiv_time_in_the_skipped_hour_moves_to_the_next_valid_time() -> None:
    # On 29 March 2026 Kyiv skips 03:00-04:00; 03:30 does not exist, 04:00 EEST does.
    due = next_due(utc(2026, 3, 28, 12), digest_time=time(3, 30), timezone_name="Europe/Kyiv")
    assert due == utc(2026, 3, 29, 1)  # 04:00 EEST
    after = next_due(due, digest_time=time(3, 30), timezone_name="Europe/Kyiv")
    assert after == utc(2026, 3, 30, 0, 30)  # back to 03:30 the day after


def test_kyiv_repeated_hour_gives_one_digest() -> None:
    # On 25 October 2026 Kyiv repeats 03:00-04:00; 03:30 happens twice.
    first = next_due(utc(2026, 10, 24, 12), digest_time=time(3, 30), timezone_name="Europe/Kyiv")
    assert first == utc(2026, 10, 25, 0, 30)  # the first 03:30 (EEST)
    second = next_due(first, digest_time=time(3, 30), timezone_name="Europe/Kyiv")
    assert second == utc(2026, 10, 26, 1, 30)  # the next day, not the second 03:30


def test_new_york_spring_forward_and_fall_back() -> None:
    tz = "America/New_York"
    # 8 March 2026: 02:00 -> 03:00; 02:30 moves to 03:00 EDT.
    assert next_due(utc(2026, 3, 7, 12), digest_time=time(2, 30), timezone_name=tz) == utc(
        2026, 3, 8, 7
    )
    # 1 November 2026: 01:00-02:00 repeats; one digest at the first 01:30 (EDT).
    first = next_due(utc(2026, 10, 31, 12), digest_time=time(1, 30), timezone_name=tz)
    assert first == utc(2026, 11, 1, 5, 30)
    assert next_due(first, digest_time=time(1, 30), timezone_name=tz) == utc(2026, 11, 2, 6, 30)
    # Outside the transition hours the local time simply keeps its wall-clock value.
    assert next_due(utc(2026, 11, 1, 12), digest_time=time(8), timezone_name=tz) == utc(
        2026, 11, 1, 13
    )


def test_weekly_on_a_weekday() -> None:
    # 2 March 2026 is a Monday.
    due = next_due(
        utc(2026, 3, 2, 9),
        digest_time=time(8),
        timezone_name="UTC",
        frequency="weekly",
        weekday=0,
    )
    assert due == utc(2026, 3, 9, 8)
    friday = next_due(
        utc(2026, 3, 2, 9),
        digest_time=time(18),
        timezone_name="UTC+03:00",
        frequency="weekly",
        weekday=4,
    )
    assert friday == utc(2026, 3, 6, 15)


def test_fixed_offsets() -> None:
    assert next_due(utc(2026, 3, 2), digest_time=time(7), timezone_name="UTC-05:30") == utc(
        2026, 3, 2, 12, 30
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("utc", "UTC"),
        ("UTC+3", "UTC+03:00"),
        ("GMT-05:30", "UTC-05:30"),
        ("UTC+00:00", "UTC"),
        ("America/New_York", "America/New_York"),
    ],
)
def test_parse_timezone(text: str, expected: str) -> None:
    assert parse_timezone(text) == expected


@pytest.mark.parametrize("text", ["Mars/Olympus", "", "../../etc/passwd", "UTC+15", "UTC+3:75"])
def test_parse_timezone_refuses(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_timezone(text)


def test_parse_time_and_weekday() -> None:
    assert parse_digest_time("7:05") == time(7, 5)
    assert parse_digest_time(" 23:59 ") == time(23, 59)
    for bad in ("24:00", "12:60", "noon", "", "7"):
        with pytest.raises(ScheduleError):
            parse_digest_time(bad)
    assert parse_weekday("Fri") == 4
    assert parse_weekday("sunday") == 6
    with pytest.raises(ScheduleError):
        parse_weekday("fr")


def test_next_due_is_always_in_the_future() -> None:
    start = utc(2026, 1, 1)
    for hours in range(0, 24 * 400, 7):
        now = start + timedelta(hours=hours)
        due = next_due(now, digest_time=time(2, 30), timezone_name="Europe/Kyiv")
        assert now < due <= now + timedelta(days=1, hours=2)
