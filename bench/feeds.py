"""Benchmark: poll 2,000 feeds of 20 entries on local servers.

A parent process serves the feeds on 50 loopback addresses (127.0.0.1 … 127.0.0.50, so
that one-fetch-per-host still leaves room to overlap); a child process runs the real
`FeedService` against a fresh SQLite database, so its peak RSS is its own. Pass 1 finds
every entry new; before each later pass 10 % of the feeds change (two new entries each)
and the rest answer the conditional GET with 304 (README benchmarks #9, #17). Then a
second first pass on a fresh database with a CPU hog beside it (a busy-loop process, as
another program on the machine would be): no feed may fail for the poller's own work.

The child is ``python -m bench.feeds DATABASE URLS_FILE``: it adds the feeds listed in
URLS_FILE (a JSON list), polls them all once for every line it reads, printing each
pass's figures as a line of JSON, and at the end of its input prints its peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from bench.harness import child_main, emit, spawn

HOSTS = 50
ENTRIES = 20
CHANGED_SHARE = 10  # every tenth feed changes per pass


def feed_xml(number: int, version: int, now: datetime) -> bytes:
    """Feed ``number`` at ``version``: entries version*2 … version*2+19, newest first."""
    first = version * 2
    items = []
    for entry in range(first + ENTRIES - 1, first - 1, -1):
        published = format_datetime(now - timedelta(minutes=10_000 - entry), usegmt=True)
        items.append(
            f"<item><title>Feed {number} story {entry}: talks on the budget continue</title>"
            f"<link>https://feeds.example/{number}/{entry}</link>"
            f"<guid>f{number}-e{entry}</guid><pubDate>{published}</pubDate>"
            f"<category>topic {number % 300:03d}</category>"
            f"<description>&lt;p&gt;Officials met on day {entry}. The talks covered the "
            f"budget and the grid. A statement is due.&lt;/p&gt;</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {number}</title><link>https://feeds.example/{number}</link>"
        f"<description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


class FeedFarm:
    """The feeds, served with ETags; ``advance`` starts the next pass."""

    def __init__(self, feeds: int) -> None:
        self.feeds = feeds
        self.passes = 0
        self.now = datetime.now(UTC)
        self.versions = [0] * feeds
        self.cache: dict[tuple[int, int], bytes] = {}
        self.answers = {200: 0, 304: 0}
        app = web.Application()
        app.router.add_get("/f/{number}.xml", self._serve)
        self.runner = web.AppRunner(app, access_log=None)

    def url(self, number: int) -> str:
        return f"http://127.0.0.{number % HOSTS + 1}:{self.port}/f/{number}.xml"

    def advance(self) -> None:
        self.passes += 1
        for number in range(self.feeds):
            if number % CHANGED_SHARE == self.passes % CHANGED_SHARE:
                self.versions[number] += 1

    async def _serve(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        version = self.versions[number]
        etag = f'"{number}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            self.answers[304] += 1
            return web.Response(status=304, headers={"ETag": etag})
        body = self.cache.get((number, version))
        if body is None:
            body = self.cache[(number, version)] = feed_xml(number, version, self.now)
        self.answers[200] += 1
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def start(self) -> None:
        await self.runner.setup()
        first = web.TCPSite(self.runner, "127.0.0.1", 0)
        await first.start()
        self.port = int(self.runner.addresses[0][1])
        for host in range(2, HOSTS + 1):
            await web.TCPSite(self.runner, f"127.0.0.{host}", self.port).start()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def child(database: str, urls_file: str) -> dict[str, Any]:
    """Add the feeds, then poll every feed, one pass per line read from stdin."""
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.feeds.fetch import Fetcher
    from bot.feeds.service import FeedService
    from storage import repo
    from storage.db import create_sessionmaker, open_database

    settings = Settings(
        _env_file=None,
        database_url=database,
        telegram_bot_token=SecretStr(""),
        feed_allow_private=True,
        log_level="WARNING",
    )
    urls = json.loads(await asyncio.to_thread(Path(urls_file).read_text, encoding="utf-8"))
    engine = await open_database(database)
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        for number, url in enumerate(urls):
            await repo.save_feed(
                session, url=url, title=f"Bench feed {number}", name=None,
                tags=["bench"], now=now, next_poll_at=now,
            )  # fmt: skip
    passes: list[dict[str, Any]] = []
    fetcher = Fetcher(FeedService.limits(settings.feeds))
    service = FeedService(sessions, fetcher, settings.feeds, clock=lambda: datetime.now(UTC))
    try:
        for _ in sys.stdin:
            started = time.perf_counter()
            stalls: list[float] = []
            watch = asyncio.create_task(loop_stalls(stalls))
            results = await service.poll_due(every=True)
            seconds = time.perf_counter() - started
            watch.cancel()
            passes.append(
                {
                    "seconds": round(seconds, 2),
                    "feeds": len(results),
                    "failed": sum(1 for r in results if not r.ok),
                    "not_modified": sum(1 for r in results if r.not_modified),
                    "added": sum(r.added for r in results),
                    "updated": sum(r.updated for r in results),
                    "errors": sorted({r.error or "" for r in results if not r.ok})[:3],
                    # How late a 10 ms timer fired: what a chat's reply waits for the
                    # event loop while the pass works.
                    "loop_stall_p99_ms": round(quantile(stalls, 0.99) * 1000),
                    "loop_stall_max_ms": round(max(stalls, default=0.0) * 1000),
                }
            )
            print(json.dumps(passes[-1]), flush=True)
    finally:
        await service.close()
    await engine.dispose()
    return {"passes": passes}


async def loop_stalls(stalls: list[float]) -> None:
    """Append, every 10 ms, how much later than asked the event loop woke this task."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(max(0.0, time.perf_counter() - asked - 0.01))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@contextmanager
def cpu_hog() -> Iterator[None]:
    """A process that keeps one core busy while the block runs."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


async def run(feeds: int, passes: int, database: str, tmp: Path) -> list[dict[str, Any]]:
    """Serve ``feeds`` feeds and poll them ``passes`` times in a child process; each
    pass's figures, and the child's peak RSS last."""
    farm = FeedFarm(feeds)
    await farm.start()
    try:
        urls = tmp / "feed-urls.json"
        urls.write_text(json.dumps([farm.url(n) for n in range(feeds)]), encoding="utf-8")
        process = await spawn("feeds", database, str(urls))
        assert process.stdin is not None
        assert process.stdout is not None
        results = []
        for number in range(passes):
            if number:
                farm.advance()
            process.stdin.write(b"go\n")
            await process.stdin.drain()
            results.append(json.loads(await process.stdout.readline()))
        process.stdin.close()
        tail = json.loads((await process.stdout.read()).decode().strip().splitlines()[-1])
        await process.wait()
    finally:
        await farm.stop()
    return [*results, tail]


def report(feeds: int, results: list[dict[str, Any]], hogged: dict[str, Any]) -> None:
    first, *later, tail = results
    emit(
        "feeds_first_pass",
        f"{feeds:,} feeds x {ENTRIES} entries, all new: {first['seconds']:.1f} s, "
        f"{first['added']:,} articles added, {first['failed']} failed; event loop late by "
        f"p99 {first['loop_stall_p99_ms']} ms, at most {first['loop_stall_max_ms']} ms",
        feed_count=feeds,
        **first,
    )
    worst = max(later, key=lambda r: r["seconds"])
    emit(
        "feeds_pass",
        f"{feeds:,} feeds, 10 % changed and 304 for the rest: slowest of {len(later)} passes "
        f"{worst['seconds']:.1f} s ({worst['added']} added, {worst['not_modified']} not "
        f"modified, {worst['failed']} failed); peak RSS {tail['peak_rss_mb']:.0f} MB",
        feed_count=feeds,
        peak_rss_mb=round(tail["peak_rss_mb"]),
        **worst,
    )
    emit(
        "feeds_first_pass_hog",
        f"{feeds:,} feeds, all new, a CPU hog beside: {hogged['seconds']:.1f} s, "
        f"{hogged['added']:,} articles added, {hogged['failed']} failed; event loop late by "
        f"p99 {hogged['loop_stall_p99_ms']} ms, at most {hogged['loop_stall_max_ms']} ms",
        feed_count=feeds,
        **hogged,
    )


def run_feeds(tmp: Path, count: int) -> None:
    results = uvloop.run(run(count, 4, f"sqlite+aiosqlite:///{tmp / 'feeds.db'}", tmp))
    with cpu_hog():
        hogged, _ = uvloop.run(run(count, 1, f"sqlite+aiosqlite:///{tmp / 'hog.db'}", tmp))
    report(count, results, hogged)


if __name__ == "__main__":
    child_main(child, "database", "urls_file")
