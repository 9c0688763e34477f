"""Each process sends through its share of the connections (bot.delivery.broadcast.Sizing):
the processes in a delivery pass say so in their rows (bot.delivery.presence), and a pass
sizes its digests in flight and the pacer's HTTP connections for the rate divided among
them. Four workers each sized for the whole 1,000 a second held 400 requests in flight,
which arrived at once when the Bot API stalled: 853 responses 429 and 50 digests sent
twice (README, benchmark row 49)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.delivery.broadcast import Sizing
from bot.telegram.context import BotApplication
from bot.telegram.ratelimit import PacingRateLimiter
from emulator.client import EmulatorClient
from storage import repo
from storage.models import Process
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows
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
    ("others", "connections", "in_flight"), [(0, 100, 400), (1, 50, 200), (3, 25, 100)]
)
async def test_a_pass_beside_other_processes_in_one_sends_through_its_share(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
    others: int,
    connections: int,
    in_flight: int,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery.deliverer")
    chats = range(8100, 8130)
    async with running_bot(settings, clock=clock) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:  # other hosts' workers, in a pass
            for n in range(others):
                ghost = await repo.register_process(session, "elsewhere", 4000 + n, clock())
                await repo.mark_in_pass(session, ghost, True)
            # and one that is not: it does not share the budget now
            await repo.register_process(session, "elsewhere", 4100, clock())
        await seeded_and_due(sessions, clock, seed_rows, chats)
        assert pacer(app).connections == 100

        report = await app.bot_data.deliverer.run_pass()

        assert report.sent == len(chats)
        assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)
        assert pacer(app).connections == connections
        me = app.bot_data.presence
        assert me is not None and me.id is not None
        assert (await in_pass(app))[me.id] is False  # the pass ended
    sized = [r.getMessage() for r in caplog.records if SIZED in r.getMessage()]
    assert sized == [
        f"{others + 1} {SIZED} {connections} connections, {in_flight} digests in flight"
    ]


async def test_a_process_not_seen_for_the_timeout_no_longer_shares_and_set_by_hand_is_kept(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    chats = range(8200, 8210)
    timeout = settings.process_timeout_seconds
    by_hand = settings.model_copy(update={"telegram_connections": 16})
    async with running_bot(by_hand, clock=clock) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:  # died in a pass, a timeout ago
            ghost = await repo.register_process(session, "elsewhere", 4200, clock())
            await repo.mark_in_pass(session, ghost, True)
        clock.advance(seconds=timeout + 1)
        await seeded_and_due(sessions, clock, seed_rows, chats)
        me = app.bot_data.presence
        assert me is not None
        await me.beat()  # this process is seen now

        assert (await app.bot_data.deliverer.run_pass()).sent == len(chats)
        assert pacer(app).connections == 16  # TELEGRAM_CONNECTIONS
        assert me.senders == 1
    for chat in chats:
        assert len(await bot_messages(emu, chat)) == 1


async def test_a_heartbeat_in_a_pass_counts_the_processes_that_joined_or_left(
    app: BotApplication, clock: FakeClock
) -> None:
    me = app.bot_data.presence
    assert me is not None and me.id is not None
    assert await me.passing(True) == 1
    async with app.bot_data.sessions.begin() as session:
        other = await repo.register_process(session, "elsewhere", 4300, clock())
        await repo.mark_in_pass(session, other, True)
    await me.beat()
    assert me.senders == 2
    async with app.bot_data.sessions.begin() as session:
        await repo.mark_in_pass(session, other, False)
    await me.beat()
    assert me.senders == 1
    assert await me.passing(False) == 1
    assert await in_pass(app) == {me.id: False, other: False}
