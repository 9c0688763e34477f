"""The budget several processes share: its arithmetic (bot.telegram.leases), and two
pacers with budgets of their own on one PostgreSQL row, as two processes have them
(bot.telegram.shared, storage.budget).

Requests go through `process_request` as in tests/test_ratelimit.py; every timing
assertion is a lower bound, or an upper bound far above the expected figure.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram.error import RetryAfter

from bot.delivery.broadcast import FREE_PER_SECOND, lease_beyond_free
from bot.telegram.leases import (
    AHEAD_SECONDS,
    GATHER_SECONDS,
    LEASE_SECONDS,
    Slot,
    Slots,
    lease_size,
    local_time,
)
from bot.telegram.ratelimit import Lane, PacingRateLimiter
from bot.telegram.shared import SharedBudget, budget_for
from storage import budget as budget_repo
from storage.db import create_engine, create_sessionmaker
from storage.models import SendBudget
from tests.auxil.postgres import empty_at_head
from tests.test_ratelimit import EARLY, Telegram, send, times

BOT = 123456


def test_a_lease_is_a_tenth_of_a_second_of_the_rate_at_most_and_one_at_least() -> None:
    assert lease_size(29, wanted=64) == 3
    assert lease_size(1000, wanted=64) == 64
    assert lease_size(1000, wanted=500) == 100
    assert lease_size(29, wanted=0) == 1


def test_the_databases_clock_maps_onto_the_process_clock() -> None:
    assert local_time(1_000_000.25, 1_000_000.0, 50.0) == 50.25


def test_a_slot_not_taken_in_time_dies_and_a_pause_drops_the_slots_before_its_end() -> None:
    slots = Slots(grace=0.1)
    slots.add(10.0, 0.5, [False, False, True, True])  # 10.0, 10.5, 11.0, 11.5
    assert slots.ends == 12.0
    assert slots.take(10.55) == Slot(10.5, beyond_free=False)  # 10.0 died: 0.1 s late
    assert slots.drop_before(11.2) == 1  # 11.0
    assert slots.take(11.0) == Slot(11.5, beyond_free=True)
    assert slots.take(11.0) is None


def test_a_process_leases_again_only_when_what_it_holds_ends_soon() -> None:
    slots = Slots(grace=0.1)
    slots.add(10.0, 0.1, [False] * 3)  # ends at 10.3
    assert slots.lease_wait(10.0, wanted=3, full=3) == pytest.approx(0.3 - AHEAD_SECONDS)
    assert slots.lease_wait(10.2, wanted=3, full=3) == 0.0


def test_a_lease_for_less_than_a_whole_one_waits_while_the_process_own_slots_last() -> None:
    slots = Slots(grace=0.1)
    slots.add(10.0, 0.1, [False] * 3)  # ends at 10.3
    assert slots.lease_wait(10.0, wanted=1, full=3) == pytest.approx(0.3 - GATHER_SECONDS)
    assert slots.lease_wait(10.3, wanted=1, full=3) == 0.0


def test_sqlite_keeps_the_process_own_pacer() -> None:
    assert budget_for("sqlite+aiosqlite:///x.db", BOT, 29) is None
    assert isinstance(budget_for("postgresql+asyncpg://h/db", BOT, 29), SharedBudget)


@pytest.fixture
async def pg(postgres_url: str) -> str:
    await empty_at_head(postgres_url)
    return postgres_url


@pytest.fixture
async def processes(pg: str) -> AsyncIterator[tuple[PacingRateLimiter, PacingRateLimiter]]:
    """Two pacers, each with its own shared budget and connections: two processes."""
    limiters = [
        PacingRateLimiter(
            overall_per_second=20, per_chat_interval=1.0, budget=SharedBudget(pg, BOT, 20)
        )
        for _ in range(2)
    ]
    for limiter in limiters:
        await limiter.initialize()
    yield limiters[0], limiters[1]
    for limiter in limiters:
        await limiter.shutdown()


async def test_two_processes_together_hold_the_rate(
    processes: tuple[PacingRateLimiter, PacingRateLimiter],
) -> None:
    one, other = processes
    telegram = Telegram()
    started = telegram.loop.time()
    await asyncio.gather(
        *(send(one, telegram, 1000 + n, lane=Lane.BULK) for n in range(15)),
        *(send(other, telegram, 2000 + n, lane=Lane.BULK) for n in range(15)),
    )
    sent = sorted(times(telegram))
    assert len(sent) == 30
    # The n-th message goes no sooner than n slots of 20/s after the start: not 40/s.
    early = [(n, t - started) for n, t in enumerate(sent) if t - started < n * 0.05 - EARLY]
    assert not early, sent
    assert {chat // 1000 for _, chat in telegram.calls} == {1, 2}  # both sent


async def test_the_leases_of_two_processes_know_which_slots_are_beyond_the_free_30(
    pg: str,
) -> None:
    """The row hands out slots in time order and counts them per second of the
    database's clock: the slots the leases of both processes learn are beyond the free
    30, summed, are those after the 30 first of their second (a reply borrowing a slot
    and a 429 pause leave gaps between leases)."""
    interval = 1 / 200
    engines = [create_engine(pg, isolation_level="AUTOCOMMIT") for _ in range(2)]
    slots: list[tuple[float, bool]] = []
    try:
        sessions = [create_sessionmaker(engine) for engine in engines]
        for n in range(12):  # 50 slots each, 3 s of slots, leased in far less than that
            async with sessions[n % 2]() as session:
                if n == 4:
                    await budget_repo.reply_slot(session, BOT, interval, 77, 0.0)
                if n == 8:  # beyond what was leased so far: the next lease starts later
                    await budget_repo.pause(session, BOT, 2.5)
                lease = await budget_repo.lease(session, BOT, 50, interval)
            beyond = lease_beyond_free(50, lease.before, lease.first)
            slots += [(lease.start + i * interval, b) for i, b in enumerate(beyond)]
    finally:
        for engine in engines:
            await engine.dispose()
    per_second = Counter(math.floor(at) for at, _ in slots)
    assert len(per_second) >= 4  # crossing seconds, some of them in the middle of a lease
    assert sum(b for _, b in slots) == sum(
        max(0, n - FREE_PER_SECOND) for n in per_second.values()
    )


async def sent(telegram: Telegram, count: int) -> None:
    """Until ``count`` requests reached Telegram."""
    for _ in range(3000):
        if len(telegram.calls) >= count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{len(telegram.calls)} requests reached Telegram, not {count}")


async def pauses_counted(url: str) -> int:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        rows = (await session.scalars(select(SendBudget))).all()
    await engine.dispose()
    assert [row.bot_id for row in rows] in ([], [BOT])
    return rows[0].pauses if rows else 0


async def test_a_429_one_process_sees_pauses_the_other(
    processes: tuple[PacingRateLimiter, PacingRateLimiter],
    pg: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    one, other = processes
    telegram = Telegram()
    telegram.refuse_next.append(RetryAfter(timedelta(seconds=1.5)))
    refused_at = telegram.loop.time()
    refused = asyncio.create_task(send(one, telegram, 1, lane=Lane.BULK))
    for _ in range(1000):  # until the 429 came and paused everyone
        if await pauses_counted(pg):
            break
        await asyncio.sleep(0.01)
    with caplog.at_level(logging.WARNING):
        await asyncio.gather(*(send(other, telegram, 10 + n, lane=Lane.BULK) for n in range(3)))
    await refused
    assert min(times(telegram)) >= refused_at + 1.5 - EARLY  # all waited out the pause
    assert sorted(chat for _, chat in telegram.calls) == [1, 10, 11, 12]
    [learned] = [r.getMessage() for r in caplog.records if "another process" in r.getMessage()]
    assert learned.startswith("another process got a 429: all sending paused for ")
    assert await pauses_counted(pg) == 1


class Refusing(Telegram):
    """Telegram that notes when it refused a request."""

    refused_at = 0.0

    async def call(self, chat_id: Any) -> dict[str, Any]:
        if self.refuse_next:
            self.refused_at = self.loop.time()
        return await super().call(chat_id)


async def test_a_pause_reaches_a_process_in_the_middle_of_a_pass_within_what_it_leased(
    processes: tuple[PacingRateLimiter, PacingRateLimiter],
) -> None:
    one, other = processes
    telegram = Refusing()
    bulk = [asyncio.create_task(send(other, telegram, 10 + n, lane=Lane.BULK)) for n in range(30)]
    await sent(telegram, 5)  # the pass is under way
    telegram.refuse_next.append(RetryAfter(timedelta(seconds=1)))
    await send(one, telegram, 1)
    await asyncio.gather(*bulk)
    pause = telegram.refused_at
    during = [t - pause for t, chat in telegram.calls if chat != 1 and pause < t < pause + 1]
    # What the other process had leased before it learned of the pause may still go:
    # never more than AHEAD_SECONDS and a lease of the rate (20/s); then nothing.
    assert len(during) <= lease_size(20, 99, AHEAD_SECONDS + LEASE_SECONDS) + 1, during
    assert len(telegram.calls) == 31


async def test_a_reply_does_not_wait_behind_a_pass_in_another_process(
    processes: tuple[PacingRateLimiter, PacingRateLimiter],
) -> None:
    worker, run = processes
    telegram = Telegram()
    started = telegram.loop.time()
    # Forty digests: two seconds at 20/s in the worker; then a person asks `run`.
    bulk = [asyncio.create_task(send(worker, telegram, 10 + n, lane=Lane.BULK)) for n in range(40)]
    await sent(telegram, 10)
    asked = telegram.loop.time()
    await send(run, telegram, 99)
    replied = times(telegram, 99)[0]
    await asyncio.gather(*bulk)
    assert replied - asked < 0.5  # not behind the second and more still queued
    assert max(times(telegram)) > replied + 0.5
    moments = sorted(times(telegram))
    # The slot the reply took was given back: 41 messages still span 40 intervals.
    assert moments[-1] - started >= 40 * 0.05 - EARLY, moments


async def test_a_digest_steps_back_behind_a_reply_another_process_sent_to_its_chat(
    processes: tuple[PacingRateLimiter, PacingRateLimiter],
) -> None:
    worker, run = processes
    telegram = Telegram()
    await send(run, telegram, 5)  # a reply to chat 5, which holds it a second
    await send(worker, telegram, 5, lane=Lane.BULK)  # then its digest, from a worker
    reply, digest = times(telegram, 5)
    assert digest >= reply + 1.0 - EARLY


async def test_with_the_database_out_of_reach_a_process_paces_on_its_own(
    pg: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An alert that the database is down must still go out."""
    gone = pg.rsplit("/", 1)[0] + "/newsbot_test_no_such_database"
    limiter = PacingRateLimiter(
        overall_per_second=20, per_chat_interval=0, budget=SharedBudget(gone, BOT, 20)
    )
    await limiter.initialize()
    telegram = Telegram()
    started = telegram.loop.time()
    try:
        await send(limiter, telegram, 1)  # a reply
        await asyncio.gather(*(send(limiter, telegram, c, lane=Lane.BULK) for c in range(2, 6)))
    finally:
        await limiter.shutdown()
    sent = sorted(times(telegram))
    assert len(sent) == 5
    assert all(t - started >= n * 0.05 - EARLY for n, t in enumerate(sent)), sent  # 20/s
    [warned] = [r.getMessage() for r in caplog.records if "out of reach" in r.getMessage()]
    assert warned.endswith("pacing this process on its own for 5 s")
