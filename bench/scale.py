"""`make bench-scale`: a delivery pass of a million due subscribers on PostgreSQL, sent by
1, 2 and 4 `newsbot worker` processes against the emulator with Telegram's limits on.

Not part of `make bench` (it takes most of an hour at full size). Each run:

- resets the outbox (no digest, every subscriber due; the population is loaded once);
- starts the emulator in a process of its own with Telegram's limits (30 ordinary
  messages a second, 1,000 paid ones, one a second per private chat), `newsbot run
  --no-delivery` (it answers chats) and the workers, all on one budget
  (README, "Several processes");
- samples `/digest` from chats that are not due, while the pass runs: the reply's
  latency at the emulator, and (from `run`'s own metrics) how long `run` took from
  when it started handling the update to its reply sent;
- waits until every due digest has arrived, then reads each worker's peak RSS
  (VmHWM) before stopping it;
- checks exactly-once: the messages the emulator saw sent twice to one chat, and the
  messages the due chats got against the message ids the sent digests recorded.

It prints one line of JSON a run: the pass's wall time, the rate against the budget,
responses 429 (and which limit refused them), each worker's peak RSS, database growth
per 100,000 digests (at the end of the pass, and after a VACUUM), the `/digest` p95,
the exactly-once check, and the emulator's longest garbage-collector pause. With paid
broadcasts off the budget is 29 a second, so those runs are sized in seconds of sending
(`--free-seconds`), not in subscribers.

    python -m bench.scale [--subscribers N] [--workers 1,2,4] [--free-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import uvloop
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bench.harness import (
    ROOT,
    TOKEN,
    EmulatorProcess,
    emit,
    fresh_database,
    postgres_database,
    telegram_limits,
)
from bench.population import Population, Size, chat_id_of
from emulator.client import EmulatorClient
from storage.db import create_engine, create_sessionmaker

QUIET_SECONDS = 3  # no message for this long: the pass may be over (ask the database)
SAMPLE_CHATS = 40  # chats kept out of the pass, whose /digest is timed during it
PAID_RATE = 1_000
FREE_RATE = 29
# Tables a run empties before it starts, so that every subscriber is due again.
DATABASE_SIZE = "SELECT pg_database_size(current_database())"
LOGS: dict[int, IO[bytes]] = {}  # each started process's log
RESET = ("digest_messages", "digests", "processes", "send_budget", "send_chats")


def population_size(subscribers: int) -> Size:
    """The bench's population scaled to ``subscribers``: 30 recent articles under 10 tags
    (three new stories a digest at most: one message each), private chats, 30 %
    following words and 10 % muting some."""
    return Size(subscribers=subscribers, articles=30, tags=10)


async def load(url: str, size: Size) -> float:
    await fresh_database(url)
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        await Population(size, datetime.now(UTC)).load(create_sessionmaker(engine))
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def reset(url: str, due: int) -> int:
    """Empty the outbox; subscribers 1..``due`` are due now, the rest (and the sample
    chats, the last ones) tomorrow. Returns the database's size in bytes."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            present = {
                row[0]
                for row in await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            }
            tables = ", ".join(t for t in RESET if t in present)
            await connection.execute(text(f"TRUNCATE {tables}"))
            await connection.execute(
                text(
                    "UPDATE subscribers SET next_due_at = CASE WHEN id <= :due "
                    "THEN now() - interval '1 minute' ELSE now() + interval '1 day' END, "
                    "paused = false, blocked = false"
                ),
                {"due": due},
            )
    finally:
        await engine.dispose()
    return await database_bytes(url, vacuum=True)


async def database_bytes(url: str, *, vacuum: bool = False) -> int:
    """The database's size in bytes; after a VACUUM (as autovacuum would run after a
    pass) when ``vacuum``."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if vacuum:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM"))
            return int(await connection.scalar(text(DATABASE_SIZE)))
    finally:
        await engine.dispose()


async def unfinished(url: str) -> int:
    """Readers still due and digests still pending."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(
                    text(
                        "SELECT (SELECT count(*) FROM subscribers WHERE next_due_at <= now()) "
                        "+ (SELECT count(*) FROM digests WHERE status = 'pending')"
                    )
                )
            )
    finally:
        await engine.dispose()


async def recorded(url: str) -> dict[str, int]:
    """What the database says the pass did: scheduled digests by status
    (``digests_sent``...), and the messages the sent ones recorded
    (``messages_recorded``: their Telegram message ids)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT status, count(*), coalesce(sum(json_array_length(message_ids)), 0)"
                        " FROM digests WHERE kind = 'scheduled' GROUP BY status"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    found = {f"digests_{status}": int(count) for status, count, _ in rows}
    found["messages_recorded"] = sum(int(messages) for _, _, messages in rows)
    return found


async def exactly_once(
    client: EmulatorClient, url: str, sample: list[int], stats: dict[str, int]
) -> dict[str, Any]:
    """Did every due chat get its digest once? The messages the emulator saw sent twice
    to a chat (``repeated_messages``, some of those chats in ``repeated_in_chats``), and
    ``unrecorded_messages``: the messages the due chats got, repeats aside, minus those
    the sent digests recorded (0 when neither side lost one), with the digests by status
    (`recorded`)."""
    repeats = await client.repeats(leave_out=sample)
    # Every message but those to the sample chats (their /digest replies, and /help).
    to_sample = sum([len(await client.events(chat, kinds="message")) for chat in sample])
    ledger = await recorded(url)
    return {
        "repeated_messages": repeats["messages"],
        "repeated_in_chats": repeats["sample"],
        "unrecorded_messages": stats.get("messages", 0)
        - to_sample
        - repeats["messages"]
        - ledger["messages_recorded"],
        **ledger,
    }


def environment(url: str, api: str, *, paid: bool) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api,
        "RATE_LIMIT_PER_SECOND": str(PAID_RATE if paid else FREE_RATE),
        "PAID_BROADCAST": "true" if paid else "false",
        "DELIVERY_INTERVAL_SECONDS": "2",
        "DIGEST_MAX_ITEMS": "3",
        "LOG_LEVEL": "WARNING",
        "METRICS_LISTEN": "",
    }


# Workers run as deploy/systemd/newsbot-worker@.service runs them, below `run`'s
# priority, so that a person's reply never waits for a core behind a pass.
WORKER_NICE = 5


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """A newsbot process whose log goes to a file: a pipe nobody reads until the end
    fills (64 KiB) and then blocks the process at its next log line, in the middle of
    whatever it was doing, transactions included."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
    nice = WORKER_NICE if args[:1] == ("worker",) else 0
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,  # noqa: PLW1509
    )
    LOGS[process.pid] = log
    return process


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024


def stop(process: subprocess.Popen[bytes]) -> str:
    """Stop the process; the end of its log."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = LOGS.pop(process.pid)
    with log:
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - 2_000))
        return log.read().decode(errors="replace")


async def sample_digest(
    client: EmulatorClient, chats: list[int], done: asyncio.Event, replies: list[float]
) -> None:
    """/digest from each sample chat in turn while the pass runs: ms to its reply, into
    ``replies``."""
    turn = 0
    while not done.is_set():
        chat = chats[turn % len(chats)]
        turn += 1
        cursor = max([0] + [e["seq"] for e in await client.events(chat)])
        started = time.perf_counter()
        await client.send_text(chat, "/digest")
        events = await client.events(chat, after=cursor, count=1, wait=60)
        if events:
            replies.append((time.perf_counter() - started) * 1000)
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1.0)


def metrics_at(emulator: EmulatorProcess) -> str:
    """Where `run` serves its metrics in a run: beside the emulator's port."""
    return f"127.0.0.1:{emulator.port + 1000}"


async def handled_within(url: str, command: str) -> dict[str, Any]:
    """From a newsbot process's /metrics: how many ``command`` updates it handled within
    each bucket of newsbot_update_seconds (ms: count), and the least bucket bound that
    holds 95 % of them (None when there were none). A process that does not answer
    (it died: the run's errors say why) gives its error instead."""
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(url, timeout=10)
            answer.raise_for_status()
    except httpx.HTTPError as error:
        return {"count": 0, "p95_within_ms": None, "error": str(error) or repr(error)}
    within: dict[float, int] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if (
                sample.name == "newsbot_update_seconds_bucket"
                and sample.labels.get("command") == command
            ):
                within[float(sample.labels["le"])] = int(sample.value)
    total = within.get(math.inf, 0)
    p95 = next((le for le, n in sorted(within.items()) if total and n >= 0.95 * total), None)
    return {
        "count": total,
        "p95_within_ms": None if p95 is None else round(p95 * 1000),
        "within_ms": {
            ("+Inf" if le == math.inf else str(round(le * 1000))): n
            for le, n in sorted(within.items())
        },
    }


def steady_rate(progress: list[tuple[float, int]]) -> float:
    """Messages a second between a tenth and nine tenths of the pass's messages, from
    (seconds, messages so far) samples."""
    low = next((t, n) for t, n in progress if n >= progress[-1][1] * 0.1)
    high = next((t, n) for t, n in progress if n >= progress[-1][1] * 0.9)
    return (high[1] - low[1]) / (high[0] - low[0]) if high[0] > low[0] else 0.0


async def one_run(url: str, due: int, subscribers: int, workers: int, *, paid: bool) -> None:
    before = await reset(url, due)
    size = population_size(subscribers + SAMPLE_CHATS)
    sample = [chat_id_of(subscribers + i, size) for i in range(1, SAMPLE_CHATS + 1)]
    with EmulatorProcess() as emulator:
        client = EmulatorClient(emulator.url)
        await telegram_limits(client)
        env = environment(url, emulator.url, paid=paid)
        replier = start({**env, "METRICS_LISTEN": metrics_at(emulator)}, "run", "--no-delivery")
        # The pass starts once `run` answers (its /help reply is not a digest).
        await client.send_text(sample[-1], "/help")
        if not await client.events(sample[-1], count=1, wait=120):
            raise RuntimeError(f"newsbot run did not answer: {stop(replier)}")
        warmup = 1
        started = time.perf_counter()
        pool = [start(env, "worker") for _ in range(workers)]
        done = asyncio.Event()
        latencies: list[float] = []
        sampler = asyncio.create_task(sample_digest(client, sample, done, latencies))
        progress: list[tuple[float, int]] = []
        finished = False
        deadline = started + max(600.0, 4 * due / (PAID_RATE if paid else FREE_RATE))
        while time.perf_counter() < deadline:
            counts = await client.broadcasts()
            # Digests: every message but the sample chats' replies (one message each).
            sent = counts["paid"] + counts["free"] - len(latencies) - warmup
            progress.append((time.perf_counter() - started, sent))
            # Done when nobody is due and no digest is pending: a reader whose muted
            # words leave nothing new gets no message, so the count alone cannot tell.
            # Counting is two scans of a million rows (most of a core at that size), so
            # it is asked only once the messages stop coming.
            quiet = len(progress) > QUIET_SECONDS and sent == progress[-QUIET_SECONDS - 1][1]
            if sent and (sent >= due or (quiet and not await unfinished(url))):
                finished = True
                break
            if any(p.poll() is not None for p in pool):
                break
            await asyncio.sleep(1.0)
        done.set()
        await sampler
        rss = [round(peak_rss_mb(p.pid), 1) if p.poll() is None else 0.0 for p in pool]
        handled = await handled_within(f"http://{metrics_at(emulator)}/metrics", "digest")
        errors = [stop(p) for p in [*pool, replier]]
        stats = await client.stats()
        counts = await client.broadcasts()
        once = await exactly_once(client, url, sample, stats)
        await client.aclose()
    after = await database_bytes(url)
    vacuumed = await database_bytes(url, vacuum=True)
    steady = steady_rate(progress)
    budget = PAID_RATE if paid else FREE_RATE
    delivered = counts["paid"] + counts["free"] - len(latencies) - warmup
    cuts = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [0.0] * 19
    growth = (after - before) / max(due, 1) * 100_000 / 1e6
    kept = (vacuumed - before) / max(due, 1) * 100_000 / 1e6
    name = f"scale_{'paid' if paid else 'free'}_{workers}w"
    emit(
        name,
        f"{due:,} due digests, {workers} worker(s), paid broadcast {'on' if paid else 'off'}: "
        f"{delivered:,} messages in {progress[-1][0]:.0f} s, steady {steady:,.1f} msg/s = "
        f"{steady / budget:.1%} of the {budget}/s budget; 429s: {stats.get('429', 0)}; "
        f"workers' peak RSS {rss} MB; database +{growth:.1f} MB per 100,000 digests "
        f"(+{kept:.1f} MB after a VACUUM); "
        f"another chat's /digest p95 {cuts[18]:.0f} ms over {len(latencies)} replies "
        f"(handled by `run` within {handled['p95_within_ms']} ms at the 95th percentile); "
        f"{once['repeated_messages']} message(s) sent twice, "
        f"{once['unrecorded_messages']:+d} against the database's record",
        due=due,
        workers=workers,
        paid=paid,
        seconds=round(progress[-1][0], 1),
        messages=delivered,
        steady_per_second=round(steady, 1),
        share_of_budget=round(steady / budget, 4),
        received_429=stats.get("429", 0),
        refused_by={why: stats.get(f"429_{why}", 0) for why in ("overall", "chat", "group")},
        **once,
        sent_paid=counts["paid"],
        sent_free=counts["free"],
        peak_rss_mb=rss,
        database_mb_per_100k=round(growth, 1),
        # What autovacuum (PostgreSQL's default; off on the CI server) leaves: the sent
        # messages' texts are deleted, and a VACUUM gives their pages back.
        database_mb_per_100k_vacuumed=round(kept, 1),
        digest_p50_ms=round(statistics.median(latencies), 1) if latencies else None,
        digest_p95_ms=round(cuts[18], 1),
        digest_samples=len(latencies),
        # The same replies as `run` timed them (newsbot_update_seconds: from when it
        # starts handling the update to its reply sent, that request's round trip
        # included), by its histogram's buckets: the bot's part of the reply, apart from
        # long polling, its queue and the emulator's other hops.
        digest_handled=handled,
        complete=finished,
        emulator_gc_pause_max_ms=stats.get("gc_pause_max_ms", 0),
        errors=[e for e in errors if "Traceback" in e][:1],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument(
        "--free-seconds",
        type=int,
        default=60,
        help="how long the runs with paid broadcasts off send (at 29 msg/s)",
    )
    parser.add_argument("--free-workers", default="1,4")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n]
    with postgres_database() as url:
        if url is None:
            raise SystemExit("bench-scale needs PostgreSQL (TEST_DATABASE_URL or 127.0.0.1)")
        seconds = uvloop.run(load(url, population_size(args.subscribers + SAMPLE_CHATS)))
        emit(
            "scale_population",
            f"{args.subscribers:,} subscribers loaded in {seconds:.0f} s",
            subscribers=args.subscribers,
            seconds=round(seconds, 1),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        for workers in counts:
            uvloop.run(one_run(url, args.subscribers, args.subscribers, workers, paid=True))
        free_due = args.free_seconds * FREE_RATE
        for workers in (int(n) for n in args.free_workers.split(",") if n):
            uvloop.run(one_run(url, free_due, args.subscribers, workers, paid=False))


if __name__ == "__main__":
    main()
