"""One Telegram budget for `newsbot run` and two `newsbot worker` processes on one
PostgreSQL, against the emulator with Telegram's limits on (README, "Several processes");
and what a paid pass that three workers send together costs ("Paid broadcasts").

PostgreSQL only (on SQLite one process sends): skipped, and reported so, when
TEST_DATABASE_URL is not set.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from emulator.client import EmulatorClient
from emulator.server import Emulator
from storage.models import Digest, SendBudget, Subscriber
from tests.auxil.cli import bot_environment, start_newsbot
from tests.auxil.data import ROOT
from tests.auxil.population import add_subscribers, seeded_postgres

RATE = 29.0  # the default: messages a second for all three processes together
READERS = 145  # 5 s at RATE
SLICES = 3  # readers fall due a slice at a time, so that every process takes one
PERSON = 77  # writes to the bot during the pass
PAID_RATE = 300  # paid broadcasts: messages a second for the three workers together
PAID_READERS = 600  # 2 s at PAID_RATE


async def started(process: asyncio.subprocess.Process) -> None:
    """Until the process logs that it runs (its database open, its ticks scheduled)."""
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while b"started as" not in (line := await process.stdout.readline()):
            assert line, "the process ended before it started"


async def fall_due_in_slices(
    sessions: async_sessionmaker[AsyncSession], chats: range, apart: float
) -> None:
    """The readers of ``chats`` fall due a slice at a time, ``apart`` seconds apart, so
    that every process ticking meanwhile takes one (a pass claims all that is due)."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        for n in range(SLICES):
            await session.execute(
                update(Subscriber)
                .where(Subscriber.chat_id.in_(chats[n::SLICES]))
                .values(next_due_at=now + timedelta(seconds=apart * n))
            )


async def stopped(processes: list[asyncio.subprocess.Process]) -> list[str]:
    """Stop the processes (SIGTERM); what each printed."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    outputs = []
    for process in processes:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        outputs.append(output.decode())
    return outputs


async def messages_arrived(emulator: Emulator, chats: range, timeout: float) -> list[float]:
    """When each message to ``chats`` arrived, once every chat has one."""
    async with asyncio.timeout(timeout):
        while True:
            stamps = [
                e["at"]
                for chat in chats
                if chat in emulator.state.chats
                for e in emulator.state.chats[chat].events
                if e["kind"] == "message"
            ]
            if len(stamps) >= len(chats):
                return sorted(stamps)
            await asyncio.sleep(0.1)


async def test_three_processes_share_one_budget_no_429_rate_held_each_digest_once(
    emulator: Emulator, emu: EmulatorClient, postgres_url: str
) -> None:
    engine, sessions, settings = await seeded_postgres(postgres_url)
    now = datetime.now(UTC)
    chats = range(20_000, 20_000 + READERS)
    later = now + timedelta(days=1)
    await add_subscribers(
        sessions, chats, "science, weather", settings=settings, now=now, due_at=later
    )
    await emu.set_limits(enabled=True)  # Telegram's: over 30 in a second, 1 a second a chat
    env = bot_environment(
        postgres_url,
        emulator,
        DELIVERY_INTERVAL_SECONDS="0.2",
    )
    processes = [
        await start_newsbot(command, env=env, cwd=ROOT, merge_stderr=True)
        for command in ("run", "worker", "worker")
    ]
    try:
        await asyncio.gather(*(started(p) for p in processes))
        await fall_due_in_slices(sessions, chats, 0.25)  # every process ticks now
        # A person writes while the pass runs; the reply comes from `run`, whichever
        # process sends the digests meanwhile.
        await messages_arrived(emulator, chats[:1], timeout=30)
        asked = time.monotonic()
        await emu.send_text(PERSON, "/help")
        [reply] = await emu.events(PERSON, count=1, wait=10)
        stamps = await messages_arrived(emulator, chats, timeout=60)
    finally:
        outputs = await stopped(processes)
    assert emulator.state.counters["429"] == 0, [output[-2000:] for output in outputs]
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert abs(rate - RATE) <= 0.05 * RATE, (rate, [output[-2000:] for output in outputs])
    assert reply["at"] - asked < 1.0  # not behind the seconds of digests queued
    assert stamps[-1] - reply["at"] > 1.0  # the pass was still running then
    received = Counter(
        sum(1 for e in emulator.state.chats[chat].events if e["kind"] == "message")
        for chat in chats
    )
    assert received == {1: READERS}
    async with sessions() as session:
        statuses = Counter((await session.scalars(select(Digest.status))).all())
        senders = await session.scalar(select(func.count()).select_from(SendBudget))
    await engine.dispose()
    assert statuses == {"sent": READERS}
    assert senders == 1  # one budget row for the bot, whichever process sends


PASS_LINE = re.compile(r"delivery pass: (\d+) due.* (\d+) messages above the free 30/s")


async def test_workers_sending_one_paid_pass_together_report_what_telegram_charges(
    emulator: Emulator, emu: EmulatorClient, postgres_url: str
) -> None:
    """Three workers send a paid pass at 300 a second together, each a slice of it. The
    paid messages beyond the free 30 a second that they report add up to those the
    emulator counted beyond 30 in each second of its clock; each counting its own
    seconds, they had reported about 2 × 30 a second too few. Not to the message: a
    slot's second is the database's, and a message sent near the edge of the pass's
    first or last second may arrive in the other; a slot that died unused counted."""
    engine, sessions, settings = await seeded_postgres(postgres_url)
    now = datetime.now(UTC)
    chats = range(30_000, 30_000 + PAID_READERS)
    later = now + timedelta(days=1)
    await add_subscribers(sessions, chats, "science", settings=settings, now=now, due_at=later)
    await emu.set_limits(enabled=True)  # 1,000 paid a second
    env = bot_environment(
        postgres_url,
        emulator,
        DELIVERY_INTERVAL_SECONDS="0.2",
        PAID_BROADCAST="true",
        RATE_LIMIT_PER_SECOND=str(PAID_RATE),
    )
    processes = [
        await start_newsbot("worker", env=env, cwd=ROOT, merge_stderr=True) for _ in range(3)
    ]
    passes: list[list[tuple[int, int]]] = [[] for _ in processes]  # (due, paid) each

    async def read(process: asyncio.subprocess.Process, into: list[tuple[int, int]]) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            if found := PASS_LINE.search(line.decode()):
                into.append((int(found[1]), int(found[2])))

    readers = []
    try:
        await asyncio.gather(*(started(p) for p in processes))
        readers = [
            asyncio.create_task(read(p, into)) for p, into in zip(processes, passes, strict=True)
        ]
        await fall_due_in_slices(sessions, chats, 0.25)
        async with asyncio.timeout(60):  # until the passes that took them all reported
            while sum(due for each in passes for due, _ in each) < PAID_READERS:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=30)
        await asyncio.gather(*readers)
        await engine.dispose()
    counts = await emu.broadcasts()
    assert (counts["paid"], counts["refused_paid"]) == (PAID_READERS, 0)
    assert all(passes), passes  # every worker sent a part of the pass
    paid = sum(paid for each in passes for _, paid in each)
    assert abs(paid - counts["beyond_free"]) <= 15, (passes, counts["beyond_free"])
