"""Search: `/search` latency over 100,000 articles, inject -> reply at the emulator, on
SQLite and PostgreSQL (README benchmark #11)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime

import uvloop
from sqlalchemy import text

from bench.harness import (
    EmulatorProcess,
    emit_latencies,
    populate,
    reply_latency,
    sample_chats,
    settings_for,
)
from bench.population import WORDS, Size
from bot.telegram.app import build_application, running
from emulator.client import EmulatorClient
from storage.db import create_engine

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
    uvloop.run(populate(url, size, datetime.now(UTC)))
    if not url.startswith("sqlite"):
        uvloop.run(analyze(url))
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

        uvloop.run(go())
