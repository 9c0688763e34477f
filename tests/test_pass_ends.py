"""A delivery pass that must not go on: Telegram out of reach, or the process told to
stop (SIGTERM, SIGINT) in the middle of a pass of many readers. Either way nothing is
lost and nothing is sent twice."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery.deliverer import UNSENT_IN_A_ROW, Deliverer, Ended
from bot.delivery.outbox import LEASE
from bot.delivery.presence import Presence
from bot.telegram.context import BotApplication
from bot.telegram.send import RetryPolicy, SendResult
from emulator.client import EmulatorClient
from storage.models import Digest, DigestStatus
from tests.auxil import snapshot
from tests.auxil.clock import FakeClock
from tests.auxil.delivery import add_due_subscribers
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows
from tests.test_delivery import bot_messages

TAG = "technology"  # the seeds have articles under it
ONE_TRY = RetryPolicy(attempts=1, backoff=0)  # a failed send is postponed at once


async def digests_by_attempts(sessions: async_sessionmaker[AsyncSession]) -> dict[int, int]:
    """Pending digests by how many times their sending was given up."""
    async with sessions() as session:
        query = (
            select(Digest.attempts, func.count())
            .where(Digest.status == DigestStatus.PENDING)
            .group_by(Digest.attempts)
        )
        return {int(attempts): int(n) for attempts, n in (await session.execute(query)).all()}


async def seeded_and_due(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, seed_rows: Rows, chats: range
) -> None:
    """The seed articles stored, and ``chats`` subscribed to their tag and due now."""
    async with sessions.begin() as session:
        await snapshot.put(session, seed_rows)
    await add_due_subscribers(sessions, clock, chats, TAG)


async def test_telegram_answering_502_ends_the_pass_after_a_few_digests_not_all_of_them(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """Before, every due reader's digest was composed, tried three times and postponed
    (a dead Bot API in the middle of a pass of 600,000 readers meant 600,000 warnings)."""
    chats = range(7000, 7120)  # more than UNSENT_IN_A_ROW + the 64 in flight
    settings = settings.model_copy(update={"delivery_concurrency": 64})
    async with running_bot(settings, clock=clock, retry_policy=ONE_TRY) as app:
        sessions = app.bot_data.sessions
        await seeded_and_due(sessions, clock, seed_rows, chats)
        await emu.add_fault("sendMessage", 502, "Bad Gateway", times=100_000)

        report = await app.bot_data.deliverer.run_pass()

        assert report.ended is Ended.UNSENT
        assert str(report).endswith(
            f"; ended early: {UNSENT_IN_A_ROW} digests in a row could not be sent"
        )
        assert report.sent == 0
        concurrency = settings.delivery.concurrency
        tried = report.results[SendResult.POSTPONED]
        assert UNSENT_IN_A_ROW <= tried <= UNSENT_IN_A_ROW + concurrency
        # The rest of the batch composed was never tried: still this process's, leased.
        assert await digests_by_attempts(sessions) == {1: tried, 0: len(chats) - tried}

        # Telegram is back; after the lease, the next passes send each digest once.
        await emu.clear_faults()
        clock.advance(seconds=LEASE.total_seconds() + 1)
        again = await app.bot_data.deliverer.run_pass()
        assert again.ended is None
        assert again.resumed == len(chats)
    for chat in (chats[0], chats[tried], chats[-1]):
        assert len(await bot_messages(emu, chat)) == 1
    assert (await emu.broadcasts())["paid"] == len(chats)


async def test_a_pass_telegram_fails_claims_no_batch_ahead(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """The next batch is composed while the last digests of one are sent, but not once a
    digest of this pass could not be sent: a dead Bot API must not park another batch
    of readers for the lease."""
    chats = range(7200, 7320)
    settings = settings.model_copy(update={"delivery_concurrency": 5})
    async with running_bot(settings, clock=clock, retry_policy=ONE_TRY) as app:
        app.bot_data.deliverer.batch = 50
        sessions = app.bot_data.sessions
        await seeded_and_due(sessions, clock, seed_rows, chats)
        await emu.add_fault("sendMessage", 502, "Bad Gateway", times=100_000)

        report = await app.bot_data.deliverer.run_pass()

        assert (report.ended, report.due) == (Ended.UNSENT, 50)
        assert sum((await digests_by_attempts(sessions)).values()) == 50


async def stopped_mid_pass(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    chats: range,
    *,
    batch: int | None = None,
) -> int:
    """Start a process whose first tick's pass sends ``chats`` their digests (at 20 a
    second, at most 5 in flight: a stop lets those finish), stop it once the first has
    arrived, and return how many digests it sent."""
    slow = settings.model_copy(
        update={
            "rate_limit_per_second": 20,
            "paid_broadcast": False,
            "delivery_interval_seconds": 0.2,
            "delivery_concurrency": 5,
        }
    )
    async with running_bot(slow, clock=clock, delivery=True) as first:
        if batch is not None:
            first.bot_data.deliverer.batch = batch
        sessions = first.bot_data.sessions
        await seeded_and_due(sessions, clock, seed_rows, chats)
        # The first tick's pass has begun sending (60 digests at 20 a second: 3 s).
        assert await emu.events(chats[0], count=1, wait=10)
    # Out of `running`: the pass ended, its process's row is gone.
    return (await emu.broadcasts())["free"]


async def test_a_process_stopped_mid_pass_stops_there_and_another_sends_the_rest_once(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """SIGTERM and SIGINT leave `running` (bot.telegram.app), whose stop waited for the
    pass under way to end: a restart in the middle of a pass of a million readers waited
    for all of them (or for systemd's SIGKILL)."""
    chats = range(7400, 7460)
    sent_by_first = await stopped_mid_pass(settings, emu, clock, seed_rows, chats)
    assert 1 <= sent_by_first <= 10
    async with running_bot(settings, clock=clock) as second:
        report = await second.bot_data.deliverer.run_pass()
    assert (report.due, report.resumed) == (0, len(chats) - sent_by_first)
    assert report.sent == len(chats) - sent_by_first
    counts = [len(await bot_messages(emu, chat)) for chat in chats]
    assert counts == [1] * len(chats)


async def test_a_stop_leaves_the_batch_composed_ahead_to_another_process_sent_once(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pass composes the next batch while it sends one: stopped, the batch composed
    ahead stays pending in its name, and another process resumes it; the readers of
    batches not yet composed stay due."""
    caplog.set_level(logging.INFO, logger="bot.delivery.deliverer")
    chats = range(7600, 7660)
    sent_by_first = await stopped_mid_pass(settings, emu, clock, seed_rows, chats, batch=10)
    async with running_bot(settings, clock=clock) as second:
        async with second.bot_data.sessions() as session:
            composed = await session.scalar(select(func.count()).select_from(Digest))
        report = await second.bot_data.deliverer.run_pass()
    # The batches begun, and the next one if the last had 5 left to start (in flight).
    begun, into_last = divmod(sent_by_first, 10)
    assert composed == 10 * (begun + 1) + (10 if into_last >= 5 else 0)
    # The first process's pass counted the batch composed ahead among its due readers.
    passes = [r.getMessage() for r in caplog.records if r.name == "bot.delivery.deliverer"]
    assert any(line.startswith(f"delivery pass: {composed} due") for line in passes), passes
    assert (report.resumed, report.due) == (composed - sent_by_first, len(chats) - composed)
    assert report.sent == len(chats) - sent_by_first
    assert [len(await bot_messages(emu, chat)) for chat in chats] == [1] * len(chats)


async def test_a_stop_asked_for_between_passes_leaves_the_next_pass_nothing_to_start(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    async with running_bot(settings, clock=clock) as app:
        sessions = app.bot_data.sessions
        await seeded_and_due(sessions, clock, seed_rows, range(7500, 7510))
        deliverer = app.bot_data.deliverer
        deliverer.stop()
        report = await deliverer.run_pass()
        assert (report.ended, report.due, report.sent, report.purged) == (Ended.STOPPING, 0, 0, 0)
        assert await emu.broadcasts() == {
            "free": 0,
            "paid": 0,
            "refused_free": 0,
            "refused_paid": 0,
            "beyond_free": 0,
        }


async def test_a_token_revoked_mid_pass_is_told_as_such_not_as_a_missing_method(
    app: BotApplication, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """Digests go out through do_api_request, which names a 401 "Endpoint 'sendMessage'
    not found in Bot API"; the bot says what Telegram said."""
    sessions = app.bot_data.sessions
    await seeded_and_due(sessions, clock, seed_rows, range(7600, 7601))
    await emu.add_fault("sendMessage", 401, "Unauthorized", times=10)
    report = await app.bot_data.deliverer.run_pass()
    assert report.results[SendResult.POSTPONED] == 1
    async with sessions() as session:
        [error] = (await session.scalars(select(Digest.error))).all()
    assert error is not None
    assert "Unauthorized" in error
    assert "Endpoint" not in error


async def test_chats_that_always_fail_do_not_end_the_pass_for_everyone_else(
    settings: Settings, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """Postponed digests are resumed first in every pass; more than 20 of them failing
    again must not end the pass before anyone else's digest is composed."""
    few_at_once = settings.model_copy(update={"delivery_concurrency": 5})
    failing = range(7700, 7700 + UNSENT_IN_A_ROW + 1)
    later = range(7900, 7910)
    async with running_bot(few_at_once, clock=clock, retry_policy=ONE_TRY) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            await snapshot.put(session, seed_rows)
        for chat in failing:
            await emu.add_fault("sendMessage", 502, "Bad Gateway", chat_id=chat, times=1_000)
            await add_due_subscribers(sessions, clock, range(chat, chat + 1), TAG)
            await add_due_subscribers(sessions, clock, range(chat + 100, chat + 101), TAG)
        first = await app.bot_data.deliverer.run_pass()
        assert (first.ended, first.sent, first.results[SendResult.POSTPONED]) == (
            None,
            len(failing),
            len(failing),
        )
        clock.advance(seconds=1)  # the postponed are due again
        await add_due_subscribers(sessions, clock, later, TAG)
        second = await app.bot_data.deliverer.run_pass()
    assert (second.ended, second.resumed, second.sent) == (None, len(failing), len(later))
    assert [len(await bot_messages(emu, chat)) for chat in later] == [1] * len(later)


async def test_a_process_whose_heartbeat_is_late_composes_and_starts_nothing(
    app: BotApplication, emu: EmulatorClient, clock: FakeClock, seed_rows: Rows
) -> None:
    """Another process may take it for dead and resume its digests: it must not start
    one (nor compose a batch in its own name) until its heartbeat is stored again."""
    sessions = app.bot_data.sessions
    async with sessions.begin() as session:
        await snapshot.put(session, seed_rows)
    chats = range(7620, 7625)
    await add_due_subscribers(sessions, clock, chats, TAG)
    presence = Presence(sessions, clock, timeout=0.5)
    await presence.start()
    await presence.stop()  # no heartbeat from now on
    while not presence.lost:  # noqa: ASYNC110 (a time, no event: half the timeout, 0.25 s)
        await asyncio.sleep(0.01)
    settings = app.bot_data.settings
    late = Deliverer(app.bot, sessions, settings.delivery, clock=clock, presence=presence)
    report = await late.run_pass()
    assert (report.ended, report.due, report.resumed, report.sent) == (Ended.LATE, 0, 0, 0)
    assert [await bot_messages(emu, chat) for chat in chats] == [[]] * len(chats)
    # Back in time: the same process composes and sends them.
    live = app.bot_data.deliverer
    assert (await live.run_pass()).sent == len(chats)
