"""When a delivery pass composes its next batch (bot.delivery.lead): at once when it
sends fast, so that one worker at 1,000 a second never waits for a compose; only once
the rest of a batch fits in flight when it sends slowly, so that no digest composed
ahead outwaits its lease."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.delivery.deliverer import Ended
from bot.delivery.lead import (
    AHEAD_WITHIN,
    LEASE_LEFT_TO_SEND,
    LEASE_LEFT_TO_START,
    PACE_SAMPLE,
    Pace,
    compose_ahead,
    lease_left,
)
from bot.delivery.outbox import LEASE
from bot.telegram.send import SendResult
from emulator.client import EmulatorClient
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows
from tests.test_delivery import bot_messages
from tests.test_pass_ends import digests_by_attempts, seeded_and_due


def test_at_a_thousand_a_second_the_next_batch_is_composed_at_once() -> None:
    # The rest of this batch and all of the next start within 2 s at 1,000 a second.
    assert compose_ahead(999, batch=1000, in_flight=400, per_second=1000, within=AHEAD_WITHIN)


def test_at_the_free_rate_shared_by_five_it_waits_until_the_rest_fits_in_flight() -> None:
    # 29 a second among 5 processes: a batch of 1,000 takes nearly three minutes.
    pace = 29 / 5
    assert not compose_ahead(65, batch=1000, in_flight=64, per_second=pace, within=AHEAD_WITHIN)
    assert compose_ahead(64, batch=1000, in_flight=64, per_second=pace, within=AHEAD_WITHIN)


def test_it_composes_ahead_only_what_starts_well_within_the_lease() -> None:
    # At 20 a second, 1,200 digests start in 60 s, 1,201 do not.
    assert compose_ahead(200, batch=1000, in_flight=64, per_second=20, within=60)
    assert not compose_ahead(201, batch=1000, in_flight=64, per_second=20, within=60)
    # One process alone at the free 29 a second composes ahead at once: the next batch's
    # last digest starts within about 69 s, under a quarter of its 5-minute lease.
    assert compose_ahead(999, batch=1000, in_flight=64, per_second=29, within=AHEAD_WITHIN)
    assert LEASE.total_seconds() / 4 == AHEAD_WITHIN


def test_before_the_pace_is_known_the_rest_must_fit_in_flight() -> None:
    assert not compose_ahead(401, batch=1000, in_flight=400, per_second=None, within=75)
    assert compose_ahead(400, batch=1000, in_flight=400, per_second=None, within=75)


def test_the_pace_is_known_once_its_sample_is_full_and_follows_the_last_starts() -> None:
    pace = Pace()
    for n in range(PACE_SAMPLE - 1):
        pace.note(n * 0.001)
    assert pace.per_second() is None
    pace.note((PACE_SAMPLE - 1) * 0.001)
    assert pace.per_second() == pytest.approx(1000)
    # The pass slows to 10 a second: the sample forgets the fast starts.
    last = (PACE_SAMPLE - 1) * 0.001
    for n in range(1, PACE_SAMPLE):
        pace.note(last + n * 0.1)
    assert pace.per_second() == pytest.approx(10)


def test_starts_at_one_instant_tell_no_pace() -> None:
    pace = Pace(sample=3)
    for _ in range(3):
        pace.note(5.0)
    assert pace.per_second() is None


LEFT = re.compile(r"composing the next batch, (\d+) of this one to start")


def composed_ahead(caplog: pytest.LogCaptureFixture) -> list[int]:
    """Each time a pass composed its next batch: how many of this one were left to start
    (the deliverer's debug log)."""
    return [int(m[1]) for r in caplog.records if (m := LEFT.fullmatch(r.getMessage()))]


@pytest.mark.parametrize("ahead_within", [AHEAD_WITHIN, 0.0], ids=["fast", "count-only"])
async def test_a_fast_pass_composes_ahead_earlier_than_the_digests_in_flight_and_sends_each_once(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
    ahead_within: float,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.delivery.deliverer")
    chats = range(7700, 7820)
    settings = settings.model_copy(update={"delivery_concurrency": 4})
    async with running_bot(settings, clock=clock) as app:
        deliverer = app.bot_data.deliverer
        deliverer.batch, deliverer.ahead_within = 30, ahead_within
        # Known within the second batch, however many sends end in one turn of the loop
        # (only the first start after them counts as having waited).
        deliverer.pace_sample = 8
        await seeded_and_due(app.bot_data.sessions, clock, seed_rows, chats)
        report = await deliverer.run_pass()
    lefts = composed_ahead(caplog)
    # Each of the four batches of 30 composed the next (the fifth found no one due).
    assert len(lefts) == 4
    if ahead_within:
        # At 1,000 a second the pace is known within the first two batches, and a batch
        # composes the next one well before its last four digests.
        assert max(lefts) > 4
    else:
        assert max(lefts) <= 4
    assert (report.due, report.sent) == (len(chats), len(chats))
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)


async def test_the_digests_that_find_a_place_in_flight_at_once_tell_nothing_of_the_pace(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pass's first digests start at once, however slow its pace: counted, they would
    make a pass at 29 a second shared by five processes compose a batch ahead that
    outwaits its lease."""
    caplog.set_level(logging.DEBUG, logger="bot.delivery.deliverer")
    chats = range(7900, 8000)
    settings = settings.model_copy(
        update={"rate_limit_per_second": 100, "delivery_concurrency": 40}
    )
    async with running_bot(settings, clock=clock) as app:
        deliverer = app.bot_data.deliverer
        # At 100 a second no batch of 100 starts within a second: only the count rule.
        deliverer.batch, deliverer.ahead_within = 100, 1.0
        await seeded_and_due(app.bot_data.sessions, clock, seed_rows, chats)
        report = await deliverer.run_pass()
    lefts = composed_ahead(caplog)
    assert lefts == [40]
    assert report.sent == len(chats)


def test_a_lease_has_enough_left_up_to_the_margin_and_not_a_second_after() -> None:
    composed = datetime(2026, 12, 5, 12, tzinfo=UTC)
    leased_until = composed + LEASE
    for margin in (LEASE_LEFT_TO_START, LEASE_LEFT_TO_SEND):
        assert lease_left(composed, leased_until, margin)
        assert lease_left(leased_until - margin, leased_until, margin)
        assert not lease_left(leased_until - margin + timedelta(seconds=1), leased_until, margin)


async def test_a_pass_whose_digests_outwait_their_lease_ends_and_each_is_sent_once(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """However the pace falls after a batch is composed (other processes joining on one
    budget, Telegram slowing), a digest whose lease is nearly spent is not started: the
    pass ends, and the digest is taken up once its lease ran out, by one process."""
    chats = range(8100, 8120)
    slow = settings.model_copy(
        update={"rate_limit_per_second": 5, "paid_broadcast": False, "delivery_concurrency": 2}
    )
    async with running_bot(slow, clock=clock) as app:
        deliverer = app.bot_data.deliverer
        deliverer.batch = 10
        await seeded_and_due(app.bot_data.sessions, clock, seed_rows, chats)
        passing = asyncio.create_task(deliverer.run_pass())
        # The first digest is out; the batch's last starts 1.8 s later at 5 a second.
        assert await emu.events(chats[0], count=1, wait=10)
        # Three and a half minutes and a second go by before the next digest's turn.
        clock.advance(seconds=(LEASE - LEASE_LEFT_TO_START).total_seconds() + 1)
        report = await passing
    assert report.ended is Ended.LEASE
    assert str(report).endswith("; ended early: digests' leases ran low before they could be sent")
    started = report.sent
    assert 1 <= started < 10
    # The first batch, and the next if composed once its last 2 fit in flight.
    composed = 20 if started >= 8 else 10
    assert report.due == composed
    clock.advance(seconds=LEASE_LEFT_TO_START.total_seconds())
    async with running_bot(settings, clock=clock) as second:
        again = await second.bot_data.deliverer.run_pass()
    assert again.ended is None
    assert (again.resumed, again.due) == (composed - started, len(chats) - composed)
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)


async def test_a_digest_whose_lease_ran_low_while_it_waited_for_its_turn_is_left_not_sent(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """A digest started in time may still wait long for its turn in the pacer (400 in
    flight at 4 a second: 100 s). Its message is sent only while 45 s of its lease are
    left: otherwise it is left pending, untouched, and sent once by whoever takes it up
    when its lease has run out."""
    chats = range(8200, 8206)
    slow = settings.model_copy(
        update={"rate_limit_per_second": 2, "paid_broadcast": False, "delivery_concurrency": 5}
    )
    async with running_bot(slow, clock=clock) as app:
        sessions = app.bot_data.sessions
        await seeded_and_due(sessions, clock, seed_rows, chats)
        passing = asyncio.create_task(app.bot_data.deliverer.run_pass())
        # The first digest is sent; four more are in flight, waiting half a second each
        # for their turn, when the clock jumps to 20 s before their lease ends.
        assert await emu.events(chats[0], count=1, wait=10)
        clock.advance(seconds=(LEASE - timedelta(seconds=20)).total_seconds())
        report = await passing
        left = report.results[SendResult.LEFT]
        assert report.ended is Ended.LEASE
        assert left >= 1
        assert report.sent + left <= 6  # the sixth started if the first was out in time
        # Left untouched: pending, never tried.
        assert await digests_by_attempts(sessions) == {0: 6 - report.sent}
        # The lease runs out: the same process's next pass takes them up.
        clock.advance(seconds=21)
        again = await app.bot_data.deliverer.run_pass()
    assert (again.resumed, again.sent) == (6 - report.sent, 6 - report.sent)
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)
