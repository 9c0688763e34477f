"""The Telegram budget several processes share on PostgreSQL (bot.telegram.shared): what
it costs a message (round trips to the shared row, microseconds), and a delivery pass by
three processes against one with Telegram's limits on (issue 26)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import uvloop
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.harness import ROOT, TOKEN, EmulatorProcess, delivery_population, emit, fresh_database
from bot.telegram.ratelimit import Lane, PacingRateLimiter
from bot.telegram.shared import SharedBudget
from emulator.client import EmulatorClient
from storage import budget as budget_repo
from storage.db import create_engine, create_sessionmaker
from storage.models import Digest, DigestStatus, Subscriber

BOT = int(TOKEN.split(":", maxsplit=1)[0])


async def _statement_us(url: str, count: int) -> tuple[float, float]:
    """Microseconds of one lease and of one reply's slot, each on an AUTOCOMMIT
    connection as the budget runs them, back to back."""
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=False,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            await budget_repo.lease(session, BOT, 1, 1e-6)  # the row, and a warm plan
            started = time.perf_counter()
            for _ in range(count):
                await budget_repo.lease(session, BOT, 1, 1e-6)
            lease_us = (time.perf_counter() - started) / count * 1e6
            started = time.perf_counter()
            for n in range(count):
                await budget_repo.reply_slot(session, BOT, 1e-6, n, 0.0)
            reply_us = (time.perf_counter() - started) / count * 1e6
    finally:
        await engine.dispose()
    return lease_us, reply_us


async def _paced(url: str, rate: float, messages: int) -> dict[str, Any]:
    """One process sending ``messages`` digests' messages through the shared budget at
    ``rate``, Telegram answering at once: round trips per message, and the rate."""
    budget = SharedBudget(url, BOT + int(rate), rate)
    limiter = PacingRateLimiter(overall_per_second=rate, per_chat_interval=0, budget=budget)
    await limiter.initialize()

    async def telegram() -> bool:
        return True

    in_flight = asyncio.Semaphore(64)  # DELIVERY_CONCURRENCY at 29 a second

    async def one(chat: int) -> None:
        async with in_flight:
            await limiter.process_request(
                telegram, (), {}, "sendMessage", {"chat_id": chat}, Lane.BULK
            )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(chat) for chat in range(messages)))
        seconds = time.perf_counter() - started
    finally:
        await limiter.shutdown()
    return {
        "rate": rate,
        "messages": messages,
        "per_second": round((messages - 1) / seconds, 1),
        "round_trips_per_message": round(budget.statements / messages, 3),
        "slots_died": budget.slots_died,
    }


def run_shared_budget(url: str, smoke: bool) -> None:
    async def go() -> None:
        await fresh_database(url)
        lease_us, reply_us = await _statement_us(url, 200 if smoke else 2_000)
        runs = [await _paced(url, rate, int(rate * (1 if smoke else 3))) for rate in (29, 1000)]
        per_message = {run["rate"]: lease_us * run["round_trips_per_message"] for run in runs}
        emit(
            "shared_budget_pg",
            f"a lease {lease_us:.0f} µs, a reply's slot {reply_us:.0f} µs; per message "
            + ", ".join(
                f"at {run['rate']:g}/s {run['round_trips_per_message']} round trips, "
                f"{per_message[run['rate']]:.0f} µs, {run['per_second']:g} msg/s held "
                f"({run['slots_died']} slots died unused)"
                for run in runs
            ),
            lease_us=round(lease_us),
            reply_us=round(reply_us),
            runs=[{**run, "us_per_message": round(per_message[run["rate"]])} for run in runs],
        )

    uvloop.run(go())


async def _newsbot(command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`newsbot COMMAND`, its log (at INFO: "started as") piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, env={**env, "LOG_LEVEL": "INFO"},
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def _started(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    while b"started as" not in (line := await process.stdout.readline()):
        if not line:
            raise RuntimeError("a newsbot process ended before it started")


async def _delivered(sessions: async_sessionmaker[AsyncSession], due_by: datetime) -> None:
    """Until no reader is due by ``due_by`` and no digest waits to be sent."""
    while True:
        async with sessions() as session:
            due = await session.scalar(
                select(func.count()).where(Subscriber.next_due_at <= due_by)
            )
            pending = await session.scalar(
                select(func.count()).where(Digest.status == DigestStatus.PENDING)
            )
        if not due and not pending:
            return
        await asyncio.sleep(0.5)


async def _pass(url: str, api: str, chats: list[int], commands: list[str]) -> dict[str, Any]:
    """``commands`` (`run`, `worker`) on one database deliver to every chat in ``chats``,
    which fall due in three slices 0.25 s apart once all have started."""
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api,
        "DELIVERY_INTERVAL_SECONDS": "0.2",
        "DIGEST_MAX_ITEMS": "3",
        "LOG_LEVEL": "WARNING",
    }
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await session.execute(
            update(Subscriber).values(next_due_at=datetime.now(UTC) + timedelta(days=1))
        )
    processes = [await _newsbot(command, env) for command in commands]
    client = EmulatorClient(api, timeout=300)
    try:
        await asyncio.gather(*(_started(p) for p in processes))
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            for n in range(3):
                await session.execute(
                    update(Subscriber)
                    .where(Subscriber.chat_id.in_(chats[n::3]))
                    .values(next_due_at=now + timedelta(seconds=0.25 * n))
                )
        await _delivered(sessions, now + timedelta(seconds=1))
        stamps: list[float] = []
        for chat in chats:
            stamps += [e["at"] for e in await client.events(chat) if e["kind"] == "message"]
        stats = await client.stats()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.communicate()
        await client.aclose()
        await engine.dispose()
    stamps.sort()
    return {
        "processes": len(commands),
        "digests": len(stamps),
        "per_second": round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 2),
        "received_429": stats.get("429", 0),
    }


def run_processes(url: str, digests: int) -> None:
    """Telegram's limits (30 msg/s, 1 a second per chat): one `newsbot worker`, then
    `newsbot run` and two workers, each pass delivering ``digests`` at the default 29/s."""
    runs: list[dict[str, Any]] = []
    for commands in (["worker"], ["run", "worker", "worker"]):
        chats = uvloop.run(delivery_population(url, digests))  # nothing delivered yet
        with EmulatorProcess() as emulator:

            async def go(
                commands: list[str] = commands, api: str = emulator.url, chats: list[int] = chats
            ) -> None:
                client = EmulatorClient(api)
                await client.set_limits(enabled=True)
                await client.aclose()
                runs.append(await _pass(url, api, chats, commands))

            uvloop.run(go())
    emit(
        "processes_pg",
        "; ".join(
            f"{r['processes']} process(es): {r['digests']:,} digests at {r['per_second']} "
            f"msg/s, {r['received_429']} responses 429"
            for r in runs
        ),
        runs=runs,
    )
