"""One Telegram budget for `newsbot run` and two `newsbot worker` processes on one
PostgreSQL, against the emulator with Telegram's limits on (README, "Several processes").

PostgreSQL only (on SQLite one process sends): skipped, and reported so, when
TEST_DATABASE_URL is not set.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from emulator.client import EmulatorClient
from emulator.server import Emulator
from storage.models import Digest, SendBudget, Subscriber
from tests.auxil.cli import base_environment, start_newsbot
from tests.auxil.data import ROOT
from tests.auxil.population import add_subscribers, seeded_postgres

RATE = 29.0  # the default: messages a second for all three processes together
READERS = 145  # 5 s at RATE
SLICES = 3  # readers fall due a slice at a time, so that every process takes one
PERSON = 77  # writes to the bot during the pass


async def started(process: asyncio.subprocess.Process) -> None:
    """Until the process logs that it runs (its database open, its ticks scheduled)."""
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while b"started as" not in (line := await process.stdout.readline()):
            assert line, "the process ended before it started"


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
    env = base_environment(
        DATABASE_URL=postgres_url,
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.url,
        DELIVERY_INTERVAL_SECONDS="0.2",
    )
    processes = [
        await start_newsbot(command, env=env, cwd=ROOT, merge_stderr=True)
        for command in ("run", "worker", "worker")
    ]
    try:
        await asyncio.gather(*(started(p) for p in processes))
        # Every process ticks now; the readers fall due a slice every 0.25 s.
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            for n in range(SLICES):
                await session.execute(
                    update(Subscriber)
                    .where(Subscriber.chat_id.in_(chats[n::SLICES]))
                    .values(next_due_at=now + timedelta(seconds=0.25 * n))
                )
        # A person writes while the pass runs; the reply comes from `run`, whichever
        # process sends the digests meanwhile.
        await messages_arrived(emulator, chats[:1], timeout=30)
        asked = time.monotonic()
        await emu.send_text(PERSON, "/help")
        [reply] = await emu.events(PERSON, count=1, wait=10)
        stamps = await messages_arrived(emulator, chats, timeout=60)
    finally:
        outputs = []
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
            outputs.append(output.decode())
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
