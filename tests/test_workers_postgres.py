"""Several `newsbot deliver` processes on one PostgreSQL deliver each digest exactly once;
when a `newsbot worker` is killed mid-pass, the others resume its digests within
PROCESS_TIMEOUT_SECONDS, each exactly once.

PostgreSQL only (SQLite has one writer, and one delivering process): skipped, and
reported so, when TEST_DATABASE_URL is not set.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from emulator.limits import Fault
from emulator.server import Emulator
from storage.models import Digest, Process
from tests.auxil.cli import bot_environment, start_newsbot
from tests.auxil.data import ROOT
from tests.auxil.population import add_subscribers, seeded_postgres
from tests.test_processes import stop

Subprocess = asyncio.subprocess.Process

WORKERS = 3
SUBSCRIBERS = 300


async def run_deliver(env: dict[str, str]) -> tuple[int, str]:
    process = await start_newsbot("deliver", env=env, cwd=ROOT, merge_stderr=True)
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_three_workers_deliver_each_digest_exactly_once(
    emulator: Emulator, postgres_url: str
) -> None:
    engine, sessions, settings = await seeded_postgres(postgres_url)
    now = datetime.now(UTC)
    chats = range(10_000, 10_000 + SUBSCRIBERS)
    await add_subscribers(
        sessions,
        chats,
        "science, weather",
        settings=settings,
        now=now,
        due_at=now - timedelta(minutes=1),
    )
    env = bot_environment(
        postgres_url,
        emulator,
        RATE_LIMIT_PER_SECOND="1000",
        PAID_BROADCAST="true",
        RATE_LIMIT_PER_CHAT_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    results = await asyncio.gather(*(run_deliver(env) for _ in range(WORKERS)))
    for code, output in results:
        assert code == 0, output
    due = [int(re.search(r"^(\d+) due", out, re.M).group(1)) for _, out in results]  # type: ignore[union-attr]
    assert sum(due) == SUBSCRIBERS

    # What the emulator logged for each chat, read in this process (it runs here).
    received = Counter[int]()
    for chat in chats:
        events = emulator.state.chats[chat].events
        received[chat] = sum(1 for e in events if e["kind"] == "message")
    assert set(received.values()) == {1}, received.most_common(3)
    async with sessions() as session:
        per_subscriber = (
            await session.execute(
                select(Digest.subscriber_id, func.count()).group_by(Digest.subscriber_id)
            )
        ).all()
        statuses = set((await session.scalars(select(Digest.status))).all())
    await engine.dispose()
    assert len(per_subscriber) == SUBSCRIBERS
    assert {n for _, n in per_subscriber} == {1}
    assert statuses == {"sent"}


async def until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (what the emulator received)
            await asyncio.sleep(0.02)


@asynccontextmanager
async def workers(count: int, env: dict[str, str]) -> AsyncIterator[list[Subprocess]]:
    """``count`` `newsbot worker` processes; any still running at the end is killed."""
    started = [
        await start_newsbot("worker", env=env, cwd=ROOT, merge_stderr=True) for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def started(process: asyncio.subprocess.Process) -> None:
    """Wait for the worker's start-up line (its output is read to the end by `stop`)."""
    assert process.stdout is not None
    async with asyncio.timeout(90):  # seconds on a loaded machine
        while b"newsbot worker started" not in await process.stdout.readline():
            pass


async def test_a_killed_worker_s_digests_are_resumed_within_the_timeout_exactly_once(
    emulator: Emulator, postgres_url: str
) -> None:
    """Of three workers, the one that claims every due reader (the first to tick) is
    killed (SIGKILL) mid-pass; the two others resume its digests once it has not been seen for
    PROCESS_TIMEOUT_SECONDS (3 s here), not after the 5-minute lease. It is killed while
    a 429 pauses it, so that everything it sent is on record (otherwise the last 50 ms
    of its sends may be repeated, as README says): then nothing may come twice. The
    pause is every process's (the shared budget): the others resume after it too."""
    engine, sessions, settings = await seeded_postgres(postgres_url)
    now = datetime.now(UTC)
    chats = range(20_000, 20_000 + 150)
    await add_subscribers(
        sessions, chats, "science", settings=settings, now=now, due_at=now - timedelta(minutes=1)
    )
    env = bot_environment(
        postgres_url,
        emulator,
        RATE_LIMIT_PER_SECOND="30",
        RATE_LIMIT_PER_CHAT_SECONDS="0",
        DELIVERY_INTERVAL_SECONDS="0.5",
        PROCESS_TIMEOUT_SECONDS="3",
    )

    def received(chat: int) -> int:
        return sum(1 for e in emulator.state.chats[chat].events if e["kind"] == "message")

    def delivered() -> int:
        return sum(received(chat) for chat in chats if chat in emulator.state.chats)

    async def recorded() -> int:
        async with sessions() as session:
            return int(await session.scalar(select(func.sum(Digest.sent_chunks))) or 0)

    # Whoever sends to this chat is paused by Telegram, mid-pass; and so is everyone.
    emulator.state.gate.faults.append(
        Fault("sendMessage", 429, "Too Many Requests: retry after 8", chats[50], retry_after=8)
    )
    async with workers(3, env) as running:
        for worker in running:
            await started(worker)
        await until(lambda: emulator.state.counters["fault_429"] == 1)
        paused_until = time.monotonic() + 8
        async with sessions() as session:  # whoever composed first holds all 150
            [pid] = (
                await session.scalars(
                    select(Process.pid).join(Digest, Digest.owner_id == Process.id).distinct()
                )
            ).all()
        [victim] = [worker for worker in running if worker.pid == pid]
        others = [worker for worker in running if worker is not victim]
        # Paused: its last sends answered and on record.
        async with asyncio.timeout(30):
            while (sent := delivered()) != await recorded():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        victim.kill()
        killed = time.monotonic()
        await victim.wait()
        assert 10 <= sent < len(chats)

        await until(lambda: all(received(chat) for chat in chats))
        resumed_in = time.monotonic() - killed
        first_resumed = min(
            e["at"]
            for chat in chats
            for e in emulator.state.chats[chat].events
            if e["kind"] == "message" and e["at"] > killed
        )
        outputs = [await stop(other, signal.SIGTERM) for other in others]
        for code, output in outputs:
            assert code == 0, output
        assert {chat: received(chat) for chat in chats} == dict.fromkeys(chats, 1)
    # Seen dead after 3 s, resumed at the next tick (0.5 s) once the pause is over, sent
    # at 30 a second.
    assert first_resumed >= paused_until - 0.5  # the victim's 429 paused the others too
    waited = max(3 + 0.5, paused_until - killed)
    assert 3 <= resumed_in < waited + (len(chats) - sent) / 30 + 5, resumed_in
    resumed = [int(n) for _, out in outputs for n in re.findall(r"(\d+) resumed", out)]
    assert sum(resumed) == len(chats) - sent
    async with sessions() as session:
        statuses = Counter((await session.scalars(select(Digest.status))).all())
    await engine.dispose()
    assert statuses == {"sent": len(chats)}
