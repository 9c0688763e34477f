"""Each process sends through its share of the connections (bot.delivery.broadcast.Sizing):
the processes in a delivery pass say so in their rows (bot.delivery.presence), and a pass
sizes its digests in flight, the pacer's HTTP connections and the readers it claims at a
time for the rate divided among them. Four workers each sized for the whole 1,000 a
second held 400 requests in flight, which arrived at once when the Bot API stalled: 853
responses 429 and 50 digests sent twice (README, benchmark row 47). And the messages
that waited for a connection past their turn take a new one."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.delivery.broadcast import Sizing
from bot.delivery.lead import batch_for
from bot.telegram.context import BotApplication
from bot.telegram.ratelimit import LATE_TURN, PacingRateLimiter
from emulator.client import EmulatorClient
from storage import repo
from storage.models import Process
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows
from tests.test_compose_ahead import composed_ahead
from tests.test_delivery import bot_messages
from tests.test_pass_ends import seeded_and_due


def test_each_of_several_processes_is_sized_for_its_share_of_the_rate() -> None:
    paid = Sizing(1000)
    assert [paid.for_senders(n) for n in (1, 2, 4, 8)] == [
        (100, 400),
        (50, 200),
        (25, 100),
        (13, 64),
    ]
    # At Telegram's free 29 a second the least (8 and 64) carries any share.
    assert Sizing(29).for_senders(1) == Sizing(29).for_senders(4) == (8, 64)
    # Set by hand, they are kept whatever the number; no sender counts as one.
    assert Sizing(1000, 16, 40).for_senders(4) == (16, 40)
    assert Sizing(1000, in_flight=40).for_senders(2) == (50, 40)
    assert paid.for_senders(0) == paid.for_senders(1)


def test_a_batch_starts_within_a_quarter_of_its_lease_at_the_process_s_share() -> None:
    assert batch_for(1000 / 4, 1000) == 1000
    assert batch_for(29, 1000) == 1000  # one process alone: 1,000 in 34 s
    assert batch_for(29 / 7, 1000) == 310  # 75 s at 4.1 a second
    assert batch_for(29 / 500, 1000) == 4
    assert batch_for(0.001, 1000) == 1
    assert batch_for(1000, 30) == 30  # never more than asked


async def test_a_message_may_wait_for_a_connection_as_long_as_its_queue_should_take() -> None:
    """Over a slow link messages queue for a connection: no stall, they keep their turns.
    Held through a stall, the answers do not teach it that the link is slow."""
    limiter = PacingRateLimiter(max_in_flight=10)
    assert limiter._patience() == LATE_TURN  # nothing answered yet
    limiter._answered(0.3)  # a 300 ms link
    assert limiter._patience() == pytest.approx(0.6)  # twice a round trip
    gate = limiter._in_flight
    for _ in range(10):
        await gate.acquire()
    waiters = [asyncio.create_task(gate.acquire()) for _ in range(30)]
    await asyncio.sleep(0)
    assert gate.waiting == 30
    # 30 before it over 10 connections: 4 round trips, and twice that to spare.
    assert limiter._patience() == pytest.approx(2.4)
    for _ in range(20):
        limiter._answered(3.0)  # held through a 3 s stall: each 5 % more at most
    assert limiter._round_trip == pytest.approx(0.3 * 1.05**20)  # 0.8 s
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)


def pacer(app: BotApplication) -> PacingRateLimiter:
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, PacingRateLimiter)
    return limiter


async def in_pass(app: BotApplication) -> dict[int, bool]:
    async with app.bot_data.sessions() as session:
        rows = (await session.execute(select(Process.id, Process.in_pass))).all()
        return {row[0]: row[1] for row in rows}


SIZED = "process(es) in a delivery pass: this one sends through"


@pytest.mark.parametrize(
    ("others", "rate", "connections", "in_flight", "batch"),
    [
        (0, 1000, 100, 400, 1000),
        (1, 1000, 50, 200, 1000),
        (3, 1000, 25, 100, 1000),
        # Telegram's free rate shared by seven: a batch that starts within 75 s.
        (6, 29, 8, 64, 310),
    ],
)
async def test_a_pass_beside_other_processes_in_one_sends_through_its_share(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
    others: int,
    rate: int,
    connections: int,
    in_flight: int,
    batch: int,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.deliverer")
    chats = range(8100, 8130)
    settings = settings.model_copy(update={"rate_limit_per_second": rate})
    async with running_bot(settings, clock=clock) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:  # other hosts' workers, in a pass
            for n in range(others):
                ghost = await repo.register_process(session, "elsewhere", 4000 + n, clock())
                await repo.mark_in_pass(session, ghost, True)
            # and one that is not: it does not share the budget now
            await repo.register_process(session, "elsewhere", 4100, clock())
        await seeded_and_due(sessions, clock, seed_rows, chats)
        assert pacer(app).connections == settings.connections

        report = await app.bot_data.deliverer.run_pass()

        assert report.sent == len(chats)
        assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)
        assert pacer(app).connections == connections
        me = app.bot_data.presence
        assert me is not None and me.id is not None
        assert (await in_pass(app))[me.id] is False  # the pass ended
    sized = [r.getMessage() for r in caplog.records if SIZED in r.getMessage()]
    assert sized == [
        f"{others + 1} {SIZED} {connections} connections, {in_flight} digests in flight, "
        f"batches of {batch}"
    ]


async def test_the_first_batch_is_sized_for_the_share_before_any_reader_is_claimed(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """60 other processes in a pass at Telegram's free 29 a second: this one's share
    starts 35 digests within 75 s, so its first batch is 35 of the 40 due, not all."""
    caplog.set_level(logging.DEBUG, logger="bot.delivery.deliverer")
    chats = range(8300, 8340)
    free = settings.model_copy(update={"rate_limit_per_second": 29, "paid_broadcast": False})
    async with running_bot(free, clock=clock) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            for n in range(60):
                ghost = await repo.register_process(session, "elsewhere", 5000 + n, clock())
                await repo.mark_in_pass(session, ghost, True)
        await seeded_and_due(sessions, clock, seed_rows, chats)

        report = await app.bot_data.deliverer.run_pass()

    lefts = composed_ahead(caplog)
    assert lefts[0] == 35  # the first batch's digests, when the next was composed
    assert (report.due, report.sent) == (len(chats), len(chats))
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)


@pytest.mark.parametrize(
    ("by_hand", "connections", "in_flight"),
    [({}, 50, 200), ({"telegram_connections": 100, "delivery_concurrency": 300}, 100, 300)],
    ids=["shared-with-one", "by-hand"],
)
async def test_a_process_not_seen_for_the_timeout_no_longer_shares_and_set_by_hand_is_kept(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
    by_hand: dict[str, int],
    connections: int,
    in_flight: int,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.deliverer")
    chats = range(8200, 8210)
    timeout = settings.process_timeout_seconds
    async with running_bot(settings.model_copy(update=by_hand), clock=clock) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:  # died in a pass, a timeout ago
            ghost = await repo.register_process(session, "elsewhere", 4200, clock())
            await repo.mark_in_pass(session, ghost, True)
        clock.advance(seconds=timeout + 1)
        async with sessions.begin() as session:  # in a pass, seen just now
            other = await repo.register_process(session, "elsewhere", 4201, clock())
            await repo.mark_in_pass(session, other, True)
        await seeded_and_due(sessions, clock, seed_rows, chats)
        me = app.bot_data.presence
        assert me is not None
        await me.beat()  # this process is seen now

        assert (await app.bot_data.deliverer.run_pass()).sent == len(chats)
        # Two share the rate (three, with the dead one: 34 connections, 136 in flight).
        assert me.senders == 2
        assert pacer(app).connections == connections
    sized = [r.getMessage() for r in caplog.records if SIZED in r.getMessage()]
    assert sized == [
        f"2 {SIZED} {connections} connections, {in_flight} digests in flight, batches of 1000"
    ]
    for chat in chats:
        assert len(await bot_messages(emu, chat)) == 1


async def test_a_heartbeat_in_a_pass_counts_the_processes_that_joined_or_left(
    app: BotApplication, clock: FakeClock
) -> None:
    me = app.bot_data.presence
    assert me is not None and me.id is not None
    assert await me.passing(True) == 1
    assert await me.passing(False) == 1
    async with app.bot_data.sessions.begin() as session:
        other = await repo.register_process(session, "elsewhere", 4300, clock())
        await repo.mark_in_pass(session, other, True)
    await me.beat()
    assert me.senders == 2  # what this one's next pass would share the rate with
    assert await me.passing(True) == 2
    await me.beat()
    assert me.senders == 2
    async with app.bot_data.sessions.begin() as session:
        await repo.mark_in_pass(session, other, False)
    await me.beat()
    assert me.senders == 1
    assert await me.passing(False) == 1
    assert await in_pass(app) == {me.id: False, other: False}


async def test_after_telegram_stalls_the_messages_held_back_take_new_turns_not_one_burst(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """Telegram stalls at the start of a pass: the 10 requests in flight wait, and the
    other 90 digests in flight get their turns and wait for a connection. Had they gone
    when Telegram answered again, 100 messages would have landed at once where it allows
    200 a second with room for a burst of 60: answered 429, and the whole bot paused."""
    chats = range(8400, 8700)
    slow = settings.model_copy(
        update={
            "rate_limit_per_second": 150,
            "telegram_connections": 10,
            "delivery_concurrency": 100,
        }
    )
    await emu.set_limits(enabled=True, paid_per_second=200, paid_burst=60)
    async with running_bot(slow, clock=clock) as app:
        await seeded_and_due(app.bot_data.sessions, clock, seed_rows, chats)
        await emu.stall(3.0)
        report = await app.bot_data.deliverer.run_pass()
        late = pacer(app).late
    assert (await emu.stats()).get("429", 0) == 0
    assert report.sent == len(chats)
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)
    # At least the 90 that waited for one of the 10 connections past their turn.
    assert late >= 90
