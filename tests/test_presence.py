"""Processes announce themselves (bot.delivery.presence): the digests of one that stopped
beating are resumed by another after PROCESS_TIMEOUT_SECONDS, not after their lease, and
on SQLite a restarted process resumes its own at once. Killed for real, several worker
processes on PostgreSQL: tests/test_workers_postgres.py."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery.outbox import LEASE
from bot.delivery.presence import Presence
from bot.telegram.context import BotApplication
from emulator.client import Chat, EmulatorClient
from storage import repo
from storage.models import Digest, DigestStatus, Process
from tests.auxil.clock import FakeClock
from tests.auxil.population import add_subscriber, composed_digest
from tests.auxil.running import running_bot
from tests.test_delivery import bot_messages


async def held_digest(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FakeClock,
    chat_id: int,
    owner: int,
) -> int:
    """A scheduled digest for ``chat_id`` that process ``owner`` composed, leased to it
    and has not sent (it died)."""
    await add_subscriber(sessions, chat_id, "science", settings=settings, now=clock())
    async with sessions.begin() as session:
        outbound = await composed_digest(session, chat_id, settings=settings, now=clock())
        digest = await session.get(Digest, outbound.digest_id)
        assert digest is not None
        digest.owner_id = owner
        return outbound.digest_id


async def owners(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, int | None]]:
    async with sessions() as session:
        rows = (await session.execute(select(Digest.id, Digest.status, Digest.owner_id))).all()
    return {row[0]: (row[1], row[2]) for row in rows}


async def process_ids(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessions() as session:
        return set((await session.scalars(select(Process.id))).all())


async def test_a_dead_process_s_digests_are_resumed_after_the_timeout_not_the_lease(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    me = seeded.bot_data.presence
    assert me is not None and me.id is not None
    async with sessions.begin() as session:  # another host's worker, seen just now
        ghost = await repo.register_process(session, "elsewhere", 4242, clock())
    theirs = await held_digest(sessions, settings, clock, 521, owner=ghost)
    mine = await held_digest(sessions, settings, clock, 522, owner=me.id)
    deliverer = seeded.bot_data.deliverer
    timeout = settings.process_timeout_seconds

    assert (await deliverer.run_pass()).resumed == 0  # the other process may be sending it
    clock.advance(seconds=timeout - 1)
    assert (await deliverer.run_pass()).resumed == 0
    clock.advance(seconds=2)  # not seen for longer than PROCESS_TIMEOUT_SECONDS
    report = await deliverer.run_pass()
    assert report.resumed == 1
    assert [m.split("\n")[0] for m in await bot_messages(emu, 521)] == [
        "📰 Your digest: 8 new stories"
    ]
    # This process's own digest is in its own hands: only its lease frees it.
    assert await bot_messages(emu, 522) == []
    assert await owners(sessions) == {theirs: ("sent", me.id), mine: ("pending", me.id)}
    assert clock.advance(seconds=LEASE.total_seconds())
    assert (await deliverer.run_pass()).resumed == 1
    assert len(await bot_messages(emu, 522)) == 1
    assert (await deliverer.run_pass()).resumed == 0
    assert len(await bot_messages(emu, 521)) == 1


async def test_a_digest_asked_for_with_slash_digest_belongs_to_the_process_sending_it(
    user: Chat, seeded: BotApplication
) -> None:
    """Not only a pass's digests: one composed for /digest names its process too, so that
    if the process dies mid-send another resumes it after the timeout, not the lease."""
    me = seeded.bot_data.presence
    assert me is not None and me.id is not None
    await user.ask("/subscribe science")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰")
    # Its status may not say "sent" yet: the message arrives before the send is recorded.
    assert [owner for _, owner in (await owners(seeded.bot_data.sessions)).values()] == [me.id]


async def test_a_restarted_process_resumes_the_digests_of_its_killed_self(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    """The first process is "killed": it never stops, never deletes its row, never beats
    again (its clock stands still). SQLite: every process of the database runs on this
    host, so the restarted one sees that the other's pid is gone (here: is its own) and
    resumes at once. PostgreSQL: processes may run on other hosts; the heartbeat alone
    tells, after PROCESS_TIMEOUT_SECONDS."""
    sessions = seeded.bot_data.sessions
    killed = seeded.bot_data.presence
    assert killed is not None and killed.id is not None
    digest_id = await held_digest(sessions, settings, clock, 531, owner=killed.id)
    async with running_bot(settings, clock=clock, handlers=False, polling=False) as restarted:
        me = restarted.bot_data.presence
        assert me is not None and me.id is not None and me.id > killed.id
        report = await restarted.bot_data.deliverer.run_pass()
        if settings.database_url.startswith("sqlite"):
            assert await process_ids(sessions) == {me.id}
            assert report.resumed == 1
        else:
            assert await process_ids(sessions) == {killed.id, me.id}
            assert report.resumed == 0
            clock.advance(seconds=settings.process_timeout_seconds + 1)
            assert (await restarted.bot_data.deliverer.run_pass()).resumed == 1
        assert await owners(sessions) == {digest_id: (DigestStatus.SENT, me.id)}
    assert len(await bot_messages(emu, 531)) == 1


async def test_heartbeats_forget_the_long_gone_and_a_process_taken_for_dead_comes_back(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = Presence(sessions, clock, timeout=30)
    second = Presence(sessions, clock, timeout=30)
    await first.start()
    await second.start()
    assert first.id is not None and second.id is not None
    assert await process_ids(sessions) == {first.id, second.id}
    assert not first.lost
    clock.advance(seconds=61)  # the first one stalled for two timeouts: its row goes
    await second.beat()
    assert await process_ids(sessions) == {second.id}
    with caplog.at_level(logging.WARNING, "bot.delivery.presence"):
        await first.beat()
    assert f"this process (#{first.id}) was taken for dead" in caplog.text
    assert await process_ids(sessions) == {first.id, second.id}  # under its own id again
    await first.stop()
    assert await process_ids(sessions) == {second.id}
    await second.stop()
    assert await process_ids(sessions) == set()
