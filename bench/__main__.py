"""`make bench`: the figures in README's benchmark table.

Each benchmark prints its figure and one line of JSON (also appended to
bench/results/last-run.jsonl). `--smoke` runs everything at a tiny size, only to prove
the benchmarks still work; CI runs that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from pydantic import SecretStr
from sqlalchemy import insert, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import feeds
from bench.population import FULL, SMOKE, WORDS, Population, Size, chat_id_of
from bench.stories import Quality, combined, labelled_sets, quality, read_set
from bot.app import build_application, opened, running
from bot.compose import TagIndex, compose_due_batch
from bot.config import Settings
from bot.delivery import PassReport
from bot.importer import import_files
from emulator.client import EmulatorClient
from storage import stories as stories_repo
from storage.admin import create_database, drop_database
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import Subscriber, SubscriberWord, Word, WordKind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOKEN = "123456:BENCH-TOKEN"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def emit(name: str, figure: str, **data: Any) -> None:
    line = {"benchmark": name, **data}
    print(f"{name}: {figure}", flush=True)
    print(json.dumps(line), flush=True)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "last-run.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


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


def settings_for(url: str, api: str = "http://127.0.0.1:9", **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_url=api,
        log_level="WARNING",
        **extra,
    )


# ------------------------------------------------------------------ 1 compose, 6 memory


async def populate(url: str, size: Size, now: datetime) -> float:
    await fresh_database(url)
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        await Population(size, now).load(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def compose_child(url: str) -> dict[str, Any]:
    """Compose and record every due digest; sends go nowhere. Runs in its own process
    so that its peak RSS is its own."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    settings = settings_for(url)
    due = digests = 0
    started = time.perf_counter()
    # The deliverer's own compose step, batch by batch, without the sending.
    index = TagIndex(datetime.now(UTC) - timedelta(days=settings.digest_max_age_days))
    while True:
        batch = await compose_due_batch(
            sessions,
            settings,
            now=datetime.now(UTC),
            bot_username="newsbot_bench_bot",
            index=index,
        )
        if not batch.claimed:
            break
        due += batch.claimed
        digests += len(batch.outbound)
    seconds = time.perf_counter() - started
    await engine.dispose()
    return {"due": due, "digests": digests, "seconds": seconds}


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec.
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024


def run_compose(url: str, label: str, size: Size) -> dict[str, Any]:
    load_seconds = asyncio.run(populate(url, size, datetime.now(UTC)))
    child = subprocess.run(
        [sys.executable, "-m", "bench", "--compose-child", url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    rate = result["digests"] / result["seconds"]
    emit(
        f"compose_{label}",
        f"{result['digests']:,} digests for {result['due']:,} due subscribers in "
        f"{result['seconds']:.1f} s = {rate:,.0f} digests/s (population loaded in "
        f"{load_seconds:.1f} s)",
        backend=label,
        digests_per_second=round(rate),
        **result,
    )
    return result


# ------------------------------------------------------------------ 2, 3 deliver


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
        self.process.wait(timeout=10)


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


async def deliver(url: str, api: str, **rates: Any) -> tuple[PassReport, float]:
    settings = settings_for(url, api, digest_max_items=3, **rates)
    app = build_application(settings, handlers=False, delivery=False)
    async with opened(app):
        started = time.perf_counter()
        report = await app.bot_data.deliverer.run_pass()
        return report, time.perf_counter() - started


async def arrival_rate(client: EmulatorClient, chats: Iterable[int]) -> tuple[int, float]:
    stamps = []
    for chat in chats:
        stamps += [e["at"] for e in await client.events(chat) if e["kind"] == "message"]
    stamps.sort()
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return len(stamps), (len(stamps) - 1) / span if span else 0.0


def run_deliver_capped(url: str, digests: int) -> None:
    """Telegram's limits on: 30 msg/s, 1/s per private chat, 20 a minute per group; one
    chat in ten is a group (issue 15)."""
    chats = asyncio.run(delivery_population(url, digests, every_nth_group=10))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url)
            bot_id = int(TOKEN.split(":", maxsplit=1)[0])
            for chat in (c for c in chats if c < 0):
                await client.create_chat(chat, "group", f"Group {-chat}")
                await client.set_member(chat, bot_id, "member")
            await client.set_limits(
                enabled=True,
                per_second=30,
                burst=30,
                per_chat_per_second=1,
                per_chat_burst=1,
                per_group_per_window=20,
                group_window_seconds=60.0,
            )
            report, seconds = await deliver(url, emulator.url)
            messages, rate = await arrival_rate(client, chats)
            stats = await client.stats()
            await client.aclose()
            emit(
                "deliver_capped",
                f"{messages:,} messages in {seconds:.1f} s; sustained {rate:.2f} msg/s = "
                f"{rate / 30:.1%} of the 30 msg/s cap; 429s received: {stats.get('429', 0)}; "
                f"{sum(1 for c in chats if c < 0):,} of the chats are groups",
                messages=messages,
                seconds=round(seconds, 2),
                sustained_per_second=round(rate, 2),
                share_of_cap=round(rate / 30, 4),
                received_429=stats.get("429", 0),
                group_chats=sum(1 for c in chats if c < 0),
                sent=report.sent,
            )

        asyncio.run(go())


def send_message_form(chat: int, body: str) -> dict[str, str]:
    """sendMessage as python-telegram-bot posts it: form fields, options as JSON."""
    return {
        "chat_id": str(chat),
        "text": body,
        "parse_mode": "HTML",
        "link_preview_options": json.dumps({"is_disabled": True}),
    }


async def timed(posts: list[Awaitable[None]]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*posts)
    return len(posts) / (time.perf_counter() - started)


async def bare_httpx(api: str, texts: list[tuple[int, str]], concurrency: int) -> float:
    """The same sendMessage requests from a bare httpx client (PTB's default stack)."""
    limit = asyncio.Semaphore(concurrency)
    url = f"{api}/bot{TOKEN}/sendMessage"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:

        async def post(chat: int, body: str) -> None:
            async with limit:
                response = await http.post(url, data=send_message_form(chat, body))
                response.raise_for_status()

        return await timed([post(chat, body) for chat, body in texts])


async def bare_aiohttp(api: str, texts: list[tuple[int, str]], concurrency: int) -> float:
    """The same requests from a bare aiohttp client, the HTTP stack the bot sends with."""
    limit = asyncio.Semaphore(concurrency)
    url = f"{api}/bot{TOKEN}/sendMessage"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(chat: int, body: str) -> None:
            async with limit, http.post(url, data=send_message_form(chat, body)) as response:
                response.raise_for_status()
                await response.read()

        return await timed([post(chat, body) for chat, body in texts])


def run_deliver_uncapped(url: str, digests: int) -> None:
    asyncio.run(delivery_population(url, digests))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url)
            report, seconds = await deliver(
                url, emulator.url, rate_limit_per_second=1_000_000, rate_limit_per_chat_seconds=0
            )
            chats = range(1_000_001, 1_000_001 + digests)
            texts = [
                (chat, e["html"])
                for chat in chats
                for e in await client.events(chat)
                if e["kind"] == "message"
            ]
            ptb_rate = len(texts) / seconds
            connections = settings_for(url).telegram_connections
            ceiling = await bare_httpx(emulator.url, texts, connections)
            stack = await bare_aiohttp(emulator.url, texts, connections)
            await client.aclose()
            emit(
                "deliver_uncapped",
                f"{len(texts):,} messages in {seconds:.1f} s = {ptb_rate:,.0f} msg/s through "
                f"python-telegram-bot (compose, send, record); bare httpx client "
                f"{ceiling:,.0f} msg/s (ratio {ptb_rate / ceiling:.2f}); bare aiohttp client "
                f"{stack:,.0f} msg/s (ratio {ptb_rate / stack:.2f})",
                messages=len(texts),
                per_second=round(ptb_rate),
                httpx_per_second=round(ceiling),
                ratio=round(ptb_rate / ceiling, 3),
                aiohttp_per_second=round(stack),
                aiohttp_ratio=round(ptb_rate / stack, 3),
                sent=report.sent,
            )

        asyncio.run(go())


# ------------------------------------------------------------------ 4 import


def run_import(files: int, words: int = 0) -> None:
    """Import ``files`` article files; with ``words`` distinct words followed (issue 13:
    each article is matched against all of them as it is stored)."""
    population = Population(Size(subscribers=0, articles=files), datetime.now(UTC))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in range(1, files + 1):
            title, body, tags, added_at = population.article_text(n)
            names = ", ".join(population.tag_names[t] for t in tags)
            (folder / f"{n:05d}.txt").write_text(
                # Seven sources: one source's two articles are one story only as an update.
                f"Bench {added_at.isoformat()}\nBench Wire {n % 7}\n{title}\n\n{names}\n\n"
                f"{body}\n",
                encoding="utf-8",
            )
        url = f"sqlite+aiosqlite:///{folder / 'import.db'}"

        async def go() -> tuple[int, float, tuple[int, int]]:
            await fresh_database(url)
            engine = create_engine(url)
            sessions = create_sessionmaker(engine)
            if words:
                await follow_words(sessions, words)
            started = time.perf_counter()
            report = await import_files(sessions, [folder], progress=False)
            seconds = time.perf_counter() - started
            async with sessions() as session:
                grouped = await stories_repo.count_grouped(session)
            await engine.dispose()
            assert report.failed == 0, report.failures[:3]
            return report.added, seconds, grouped

        added, seconds, (stories, in_stories) = asyncio.run(go())
    emit(
        "import_words" if words else "import",
        f"{added:,} article files in {seconds:.1f} s = {added / seconds:,.0f} articles/s"
        + (f" with {words:,} distinct words followed" if words else "")
        + f"; grouped {in_stories:,} of them into {stories:,} stories",
        words=words,
        stories=stories,
        articles_in_stories=in_stories,
        files=added,
        seconds=round(seconds, 2),
        per_second=round(added / seconds),
    )


async def follow_words(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """``count`` distinct followed words, one subscriber each: the population's words,
    then made-up ones and two-word phrases (a tenth of them prefixes)."""
    now = datetime.now(UTC)
    keys = list(WORDS)
    n = 0
    while len(keys) < count:
        n += 1
        key = f"{WORDS[n % len(WORDS)]} w{n}" if n % 3 == 0 else f"word{n}"
        keys.append(key + ("*" if n % 10 == 0 else ""))
    async with sessions.begin() as session:
        subscribers = [
            {
                "chat_id": 5_000_000 + i,
                "timezone": "UTC",
                "digest_time": now.time(),
                "frequency": "daily",
                "weekday": 0,
                "paused": False,
                "blocked": False,
                "next_due_at": now + timedelta(days=1),
                "created_at": now,
            }
            for i in range(count)
        ]
        ids = (
            await session.scalars(
                insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True),
                subscribers,
            )
        ).all()
        words = (
            await session.scalars(
                insert(Word).returning(Word.id, sort_by_parameter_order=True),
                [{"key": k, "created_at": now} for k in keys],
            )
        ).all()
        await session.execute(
            insert(SubscriberWord),
            [
                {"subscriber_id": s, "word_id": w, "kind": WordKind.FOLLOW, "created_at": now}
                for s, w in zip(ids, words, strict=True)
            ],
        )


# ------------------------------------------------------------------ 5 interactive


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


def run_interactive(url: str, samples: int, subscribers: int) -> None:
    """Reply latency of /digest and /subscribe with the compose population loaded."""
    with EmulatorProcess() as emulator:

        async def go() -> None:
            settings = settings_for(url, emulator.url)
            client = EmulatorClient(emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5):
                # A chat of its own for every sample: two replies to one chat within a
                # second are paced on purpose, and that wait is not the bot's work.
                chats = sample_chats(subscribers, 2 * samples + 1)
                # Warm-up: the first write after the compose run checkpoints its WAL.
                await reply_latency(client, chats[-1], "/digest")
                digest = [await reply_latency(client, c, "/digest") for c in chats[:samples]]
                subscribe = [
                    await reply_latency(client, c, f"/subscribe topic {1 + c % 250:03d}")
                    for c in chats[samples : 2 * samples]
                ]
            await client.aclose()
            emit_latencies("interactive_digest", "/digest", digest)
            emit_latencies("interactive_subscribe", "/subscribe", subscribe)

        asyncio.run(go())


# ------------------------------------------------------------------ search

# Kinds of query, each over the population's vocabulary: a word in ~20 % of articles, two
# of them, a prefix, a rare number next to a word in every title, a phrase in every body.
SEARCH_QUERIES = [
    ("word", "/search {word}"),
    ("two_words", "/search {word} {other}"),
    ("prefix", "/search {prefix}*"),
    ("rare", "/search report {n}"),
    ("phrase_everywhere", '/search "officials published"'),
]


async def analyze(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def run_search(url: str, label: str, size: Size, samples: int) -> None:
    """/search latency over ``size.articles`` articles, inject -> reply at the emulator.
    PostgreSQL is ANALYZEd after the bulk load, as autovacuum would soon do: without
    statistics its planner ranks every match of a common word instead of reading the
    newest ones by id (p95 189 ms instead of under 50)."""
    asyncio.run(populate(url, size, datetime.now(UTC)))
    if not url.startswith("sqlite"):
        asyncio.run(analyze(url))
    rng = random.Random(13)
    with EmulatorProcess() as emulator:

        async def go() -> None:
            settings = settings_for(url, emulator.url)
            client = EmulatorClient(emulator.url)
            by_kind: dict[str, list[float]] = {kind: [] for kind, _ in SEARCH_QUERIES}
            async with running(build_application(settings, delivery=False), poll_timeout=5):
                chats = sample_chats(size.subscribers, samples + 1)
                await reply_latency(client, chats[-1], "/search warm")
                for number, chat in enumerate(chats[:samples]):
                    kind, form = SEARCH_QUERIES[number % len(SEARCH_QUERIES)]
                    word, other = rng.sample(WORDS, 2)
                    command = form.format(
                        word=word, other=other, prefix=word[:3], n=rng.randint(1, size.articles)
                    )
                    by_kind[kind].append(await reply_latency(client, chat, command))
            await client.aclose()
            every = [v for values in by_kind.values() for v in values]
            emit_latencies(
                f"search_{label}",
                f"/search over {size.articles:,} articles ({label})",
                every,
                backend=label,
                articles=size.articles,
                p95_ms_by_kind={
                    k: round(statistics.quantiles(v, n=20)[18], 1) for k, v in by_kind.items()
                },
            )

        asyncio.run(go())


# ------------------------------------------------------------------ 7, 8 one chat, one pass


FLOOD = 60


def run_flood(url: str, samples: int) -> None:
    """Another chat's /help while one chat sends FLOOD messages at once."""
    asyncio.run(delivery_population(url, 100))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            settings = settings_for(url, emulator.url)  # Telegram's pacing, as in production
            async with running(build_application(settings, delivery=False), poll_timeout=5):
                flooder = 7
                await asyncio.gather(
                    *(client.send_text(flooder, f"/help {n}") for n in range(FLOOD))
                )

                # Samples spread over the flood, a new chat every 0.25 s, so that every one
                # of them is answered while the flooder's replies are still being paced.
                async def sample(n: int) -> float:
                    await asyncio.sleep(n * 0.25)
                    return await reply_latency(client, 8 + n, "/help")

                others = list(await asyncio.gather(*(sample(n) for n in range(samples))))
            replies = sum(1 for e in await client.events(flooder) if e["kind"] == "message")
            await client.aclose()
            emit_latencies(
                "flood_other_chat_help",
                f"another chat's /help while one chat sent {FLOOD} messages at once",
                others,
                flood=FLOOD,
                replies_to_flooder=replies,
            )

        asyncio.run(go())


INLINE_FLOOD = 3_000


def run_inline_flood(url: str, size: Size, samples: int) -> None:
    """Another user's /help while one user's INLINE_FLOOD inline queries wait for the bot:
    a few search words over and over, as a script sends them (or a client, a query per
    keystroke). The flood is in the emulator's queue before the bot starts polling, so
    that the figure is the bot's work on it, not the emulator's speed at taking it."""
    asyncio.run(populate(url, size, datetime.now(UTC)))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            flooder = 7
            queries = [" ".join(WORDS[n % 7 : n % 7 + 1 + n % 2]) for n in range(INLINE_FLOOD)]

            async def inject(part: list[str]) -> None:
                for query in part:
                    await client.inline_query(flooder, query)

            await asyncio.gather(*(inject(queries[n::20]) for n in range(20)))
            settings = settings_for(url, emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5):

                async def sample(n: int) -> float:
                    await asyncio.sleep(n * 0.25)
                    return await reply_latency(client, 8 + n, "/help")

                others = list(await asyncio.gather(*(sample(n) for n in range(samples))))
            answers = len(await client.events(flooder, kinds="inline_answer"))
            await client.aclose()
            emit_latencies(
                "inline_flood_other_user_help",
                f"another user's /help while one user's {INLINE_FLOOD:,} inline queries wait "
                f"({answers:,} of them answered)",
                others,
                flood=INLINE_FLOOD,
                inline_answers=answers,
            )

        asyncio.run(go())


def run_throttle_session() -> None:
    """The throttle's settings against the fastest session a person was measured to have
    (bench/session.py): the smallest burst that admits it at a few rates."""
    from bench import session

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    needed = {rate: session.needed_burst(rate) for rate in (0.5, 1.0, 2.0, 3.0)}
    emit(
        "throttle_session",
        f"the fastest human session ({len(session.SESSION)} actions in "
        f"{session.times()[-1]:.1f} s) needs a burst of "
        + ", ".join(f"{burst} at {rate:g}/s" for rate, burst in needed.items())
        + f"; the defaults are {defaults.throttle_burst} at {defaults.throttle_per_second:g}/s",
        actions=len(session.SESSION),
        seconds=round(session.times()[-1], 2),
        needed_burst={str(rate): burst for rate, burst in needed.items()},
        default_burst=defaults.throttle_burst,
        default_per_second=defaults.throttle_per_second,
    )


def run_digest_during_delivery(url: str, size: Size, samples: int) -> None:
    """/digest while a delivery pass of the whole population runs at Telegram's pace."""
    asyncio.run(populate(url, size, datetime.now(UTC)))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            await client.set_limits(enabled=True)
            settings = settings_for(url, emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5) as app:
                delivery = asyncio.create_task(app.bot_data.deliverer.run_pass())
                # Sending is underway once the first claimed subscriber has their digest.
                await client.events(1_000_001, count=1, wait=600)
                digest = [
                    await reply_latency(client, chat, "/digest")
                    for chat in sample_chats(size.subscribers, samples)
                ]
                sent = (await client.stats()).get("messages", 0)
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivery
            stats = await client.stats()
            await client.aclose()
            emit_latencies(
                "digest_during_delivery",
                f"/digest while a delivery pass of {size.subscribers:,} due subscribers runs",
                digest,
                messages_during=sent,
                received_429=stats.get("429", 0),
            )

        asyncio.run(go())


# ------------------------------------------------------------------ main


BENCH_PREFIX = "newsbot_bench"


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
        yield explicit if asyncio.run(reachable(explicit)) else None
        return
    server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    if not asyncio.run(reachable(server)):
        yield None
        return
    url = asyncio.run(create_database(server, BENCH_PREFIX))
    try:
        yield url
    finally:
        asyncio.run(drop_database(server, url, BENCH_PREFIX))


# ------------------------------------------------------------------ feeds


def run_feeds(tmp: Path, count: int) -> None:
    database = f"sqlite+aiosqlite:///{tmp / 'feeds.db'}"

    async def spawn(args: list[str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip

    asyncio.run(feeds.run(count, 4, database, tmp, emit, spawn))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; proves it works")
    parser.add_argument("--only", nargs="*", default=[], help="run only these benchmarks")
    parser.add_argument("--compose-child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--feeds-child", nargs=2, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compose_child:
        result = asyncio.run(compose_child(args.compose_child))
        print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1)}))
        return 0
    if args.feeds_child:
        result = asyncio.run(feeds.child(*args.feeds_child))
        print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1)}))
        return 0

    size = SMOKE if args.smoke else FULL
    digests = 40 if args.smoke else 2_000
    search_size = Size(
        subscribers=1_000,
        articles=2_000 if args.smoke else 100_000,
        days=80,
        following=0,
        muting=0,
    )
    search_samples = 25 if args.smoke else 200
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "last-run.jsonl").write_text("", encoding="utf-8")
    emit(
        "machine",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'smoke' if args.smoke else 'full'} size",
        cores=os.cpu_count(),
        python=platform.python_version(),
        smoke=args.smoke,
        date=datetime.now(UTC).date().isoformat(),
    )
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as pg:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        steps: list[tuple[str, Callable[[], object]]] = [
            ("story_quality", run_story_quality),
            ("compose", lambda: report_memory(run_compose(sqlite, "sqlite", size))),
            (
                "interactive",
                lambda: run_interactive(sqlite, 20 if args.smoke else 200, size.subscribers),
            ),
            ("flood", lambda: run_flood(sqlite, 10 if args.smoke else 40)),
            ("throttle_session", run_throttle_session),
            (
                "inline_flood",
                lambda: run_inline_flood(sqlite, search_size, 10 if args.smoke else 40),
            ),
            (
                "inline_flood_pg",
                lambda: (
                    run_inline_flood(pg, search_size, 10 if args.smoke else 40) if pg else None
                ),
            ),
            (
                "digest_during_delivery",
                lambda: run_digest_during_delivery(sqlite, size, 10 if args.smoke else 60),
            ),
            ("compose_pg", lambda: run_compose(pg, "postgresql", size) if pg else None),
            ("deliver_capped", lambda: run_deliver_capped(sqlite, digests)),
            ("deliver_uncapped", lambda: run_deliver_uncapped(sqlite, digests)),
            ("import", lambda: run_import(200 if args.smoke else 10_000)),
            ("feeds", lambda: run_feeds(Path(tmp), 100 if args.smoke else 2_000)),
            ("import_words", lambda: run_import(200 if args.smoke else 10_000, words=10_000)),
            ("search", lambda: run_search(sqlite, "sqlite", search_size, search_samples)),
            (
                "search_pg",
                lambda: run_search(pg, "postgresql", search_size, search_samples) if pg else None,
            ),
        ]
        for name, step in steps:
            if not args.only or name in args.only:
                step()
    if pg is None:
        print("PostgreSQL not reachable: compose_pg skipped", file=sys.stderr)
    return 0


def run_story_quality() -> None:
    """Issues 14 and 23: precision and recall of grouping on every labelled set
    (bench/data/stories: the pairs the first thresholds were set on, the blind set of
    same-template pairs, the held-out ones), and on all of them together."""
    found = []
    for path in labelled_sets():
        one = quality(read_set(path))
        found.append(one)
        _emit_quality(path.name, one)
    _emit_quality("all", combined(found))


def _emit_quality(name: str, found: Quality) -> None:
    emit(
        "story_quality",
        f"{name}: {found.pairs} labelled pairs, precision {found.precision:.3f}, "
        f"recall {found.recall:.3f}",
        labelled_set=name,
        pairs=found.pairs,
        precision=round(found.precision, 3),
        recall=round(found.recall, 3),
        false_positives=found.false_positives,
        false_negatives=found.false_negatives,
    )


def report_memory(result: dict[str, Any]) -> None:
    emit(
        "memory",
        f"peak RSS of the compose run: {result['peak_rss_mb']:.0f} MB",
        peak_rss_mb=round(result["peak_rss_mb"]),
    )


if __name__ == "__main__":
    sys.exit(main())
