"""What every benchmark shares: its output, its databases, its processes.

- `emit`: a benchmark's figure, printed, and its line of JSON (also appended to
  bench/results/last-run.jsonl, the lines README's tables and bench/last-full-run.jsonl
  name by their `benchmark` field).
- Databases: a fresh one at the newest schema (`fresh_database`), a population loaded
  into it (`populate`, `delivery_population`), and the PostgreSQL database of the bench's
  own (`postgres_database`).
- Processes: the emulator in a process of its own (`EmulatorProcess`), and child
  processes whose peak RSS is their own: the parent runs `python -m bench.<module> ARGS`
  (`child`, `spawn`), and the module's `__main__` block calls `child_main`, which prints
  the result as the last line of JSON with the child's peak RSS.
- Latency at the emulator: `reply_latency` (inject a command, wait for the reply),
  `emit_latencies`, `sample_chats`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bench.population import Population, Size, chat_id_of
from bot.config import Settings
from emulator.client import EmulatorClient
from storage.admin import create_database, drop_database
from storage.db import create_engine, create_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456:BENCH-TOKEN"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BENCH_PREFIX = "newsbot_bench"


def emit(name: str, figure: str, **data: Any) -> None:
    line = {"benchmark": name, **data}
    print(f"{name}: {figure}", flush=True)
    print(json.dumps(line), flush=True)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "last-run.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def settings_for(url: str, api: str = "http://127.0.0.1:9", **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_url=api,
        log_level="WARNING",
        **extra,
    )


# ------------------------------------------------------------------ databases


async def fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
    engine = create_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
    finally:
        await engine.dispose()


async def populate(url: str, size: Size, now: datetime) -> float:
    await fresh_database(url)
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        await Population(size, now).load(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def delivery_population(url: str, digests: int, every_nth_group: int = 0) -> list[int]:
    """``digests`` due subscribers with three new articles each: one message per digest.
    Returns their chat ids (every ``every_nth_group``-th a group)."""
    now = datetime.now(UTC)
    await fresh_database(url)
    engine = create_engine(url)
    size = Size(subscribers=digests, articles=30, tags=10, every_nth_group=every_nth_group)
    await Population(size, now).load(create_sessionmaker(engine))
    await engine.dispose()
    return [chat_id_of(i, size) for i in range(1, digests + 1)]


async def reachable(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect():
            return True
    except (OSError, SQLAlchemyError):
        return False
    finally:
        await engine.dispose()


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """The PostgreSQL database the compose benchmark may use, or None.

    BENCH_DATABASE_URL names one explicitly, and its schema is dropped and rebuilt.
    Otherwise the bench creates a database of its own on the server that
    TEST_DATABASE_URL (or the default URL) names, and drops it at the end: it never
    touches a database it did not create or was not given.
    """
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        yield explicit if uvloop.run(reachable(explicit)) else None
        return
    server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    if not uvloop.run(reachable(server)):
        yield None
        return
    url = uvloop.run(create_database(server, BENCH_PREFIX))
    try:
        yield url
    finally:
        uvloop.run(drop_database(server, url, BENCH_PREFIX))


# ------------------------------------------------------------------ processes


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec.
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024


def child(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m bench.<module> ARGS`` to its end; its last line of JSON."""
    process = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


async def spawn(module: str, *args: str) -> asyncio.subprocess.Process:
    """Start ``python -m bench.<module> ARGS`` with pipes to its stdin and stdout, for a
    child the parent drives line by line."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"bench.{module}", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip


def child_main(work: Callable[..., Coroutine[Any, Any, dict[str, Any]]], *names: str) -> None:
    """A child process's side, ``python -m bench.<module> NAMES...``: run ``work`` with
    the command line's arguments (``names``; `--help` lists them with ``work``'s
    documentation) and print its result, with the process's peak RSS, as the last line
    of JSON.

    The bot's modules are loaded first, as they are in the bot's own process (compose
    and the feed poller run inside its Application): the peak RSS is then a worker's,
    as it was when the children were `python -m bench` itself (without python-telegram-bot
    the smoke compose run peaks 6 MB lower, 121 MB against 127)."""
    spec = sys.modules["__main__"].__spec__
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None, description=inspect.getdoc(work)
    )
    for name in names:
        parser.add_argument(name)
    arguments = vars(parser.parse_args())
    importlib.import_module("bot.telegram.app")
    result = uvloop.run(work(*(arguments[name] for name in names)))
    print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1)}))


class EmulatorProcess:
    """The emulator in its own process, so the bot's figures are the bot's alone."""

    def __init__(self) -> None:
        self.port = 18000 + os.getpid() % 1000
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmulatorProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--port", str(self.port), "--token", TOKEN],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        for _ in range(100):
            try:
                httpx.get(f"{self.url}/_emu/stats", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the emulator did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # After a million messages it holds about 10 GB, which takes long to free.
            self.process.kill()
            self.process.wait()


async def telegram_limits(client: EmulatorClient) -> None:
    """The emulator's Telegram limits on (30 messages a second, 1,000 paid, 20 a minute
    per group), and strictly one message a second per chat: no burst of two."""
    await client.set_limits(enabled=True, per_chat_burst=1)


# ------------------------------------------------------------------ latency


async def reply_latency(client: EmulatorClient, chat: int, command: str) -> float:
    """Milliseconds from injecting ``command`` in ``chat`` to the bot's reply arriving."""
    cursor = max([0] + [e["seq"] for e in await client.events(chat)])
    # Replies are paced to 29 msg/s overall like every message; samples sent back to
    # back would measure that spacing, not the bot's work.
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await client.send_text(chat, command)
    events = await client.events(chat, after=cursor, count=1, wait=120)
    assert events, f"no reply to {command}"
    return (time.perf_counter() - started) * 1000


def emit_latencies(name: str, label: str, values: list[float], **extra: Any) -> None:
    cuts = statistics.quantiles(values, n=20)
    emit(
        name,
        f"{label}: p50 {statistics.median(values):.1f} ms, p95 {cuts[18]:.1f} ms "
        f"over {len(values)} replies (inject -> reply at the emulator)",
        p50_ms=round(statistics.median(values), 1),
        p95_ms=round(cuts[18], 1),
        samples=len(values),
        **extra,
    )


def sample_chats(subscribers: int, count: int) -> list[int]:
    """Chats of the population spread over its ids, the last ones first: a delivery pass
    claims subscribers in id order, so these are still waiting for theirs."""
    step = max(1, subscribers // (count + 1))
    return [1_000_000 + i for i in range(subscribers, 0, -step)][:count]
