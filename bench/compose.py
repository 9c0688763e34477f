"""Compose: select, render and record every due digest of the population, sends to a
sink (README benchmarks #1, #10, #13), and the peak RSS of that run (#6, #15).

The compose run is a child process, so that its peak RSS is its own:
``python -m bench.compose URL`` composes every due digest in the database at URL and
prints {"due", "digests", "seconds", "cpu_seconds", "peak_rss_mb"} as its last line:
``cpu_seconds`` is the process's own CPU time over the same span (its SQLite thread's
included), a figure a machine shared with other work changes less than the wall time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.harness import child, child_main, emit, populate, settings_for
from bench.population import Size
from bot.config import DigestPolicy
from bot.delivery.compose import Batch, TagIndex, compose_due_batch
from storage.db import create_engine, create_sessionmaker


async def compose_all(
    sessions: async_sessionmaker[AsyncSession], policy: DigestPolicy
) -> AsyncIterator[Batch]:
    """The deliverer's own compose step, batch by batch, until nobody is due; nothing
    is sent."""
    index = TagIndex(datetime.now(UTC) - policy.max_age)
    while True:
        batch = await compose_due_batch(
            sessions, policy, now=datetime.now(UTC), bot_username="newsbot_bench_bot", index=index
        )
        if not batch.claimed:
            return
        yield batch


async def compose_child(url: str) -> dict[str, Any]:
    """Compose and record every due digest; sends go nowhere. Runs in its own process
    so that its peak RSS is its own."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    settings = settings_for(url)
    due = digests = 0
    started, cpu = time.perf_counter(), time.process_time()
    async for batch in compose_all(sessions, settings.digest):
        due += batch.claimed
        digests += len(batch.outbound)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    return {"due": due, "digests": digests, "seconds": seconds, "cpu_seconds": cpu}


def run_compose(url: str, label: str, size: Size) -> dict[str, Any]:
    load_seconds = uvloop.run(populate(url, size, datetime.now(UTC)))
    result = child("compose", url)
    rate = result["digests"] / result["seconds"]
    per_cpu = result["digests"] / result["cpu_seconds"]
    emit(
        f"compose_{label}",
        f"{result['digests']:,} digests for {result['due']:,} due subscribers in "
        f"{result['seconds']:.1f} s = {rate:,.0f} digests/s, {per_cpu:,.0f} per CPU-second "
        f"of the composer (population loaded in {load_seconds:.1f} s)",
        backend=label,
        digests_per_second=round(rate),
        digests_per_cpu_second=round(per_cpu),
        **result,
    )
    return result


def report_memory(result: dict[str, Any]) -> None:
    emit(
        "memory",
        f"peak RSS of the compose run: {result['peak_rss_mb']:.0f} MB",
        peak_rss_mb=round(result["peak_rss_mb"]),
    )


if __name__ == "__main__":
    child_main(compose_child, "url")
