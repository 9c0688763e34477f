"""Import: 10,000 article files through the real importer, each grouped into a story
as it is stored (README benchmarks #4, #14), and with 10,000 distinct words followed
(#12: each article is matched against all of them)."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvloop
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.harness import emit, fresh_database
from bench.population import WORDS, Population, Size
from bot.articles.importer import import_files
from storage import stories as stories_repo
from storage.db import create_engine, create_sessionmaker
from storage.models import Subscriber, SubscriberWord, Word
from storage.records import WordKind


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

        async def go() -> tuple[int, float, float, tuple[int, int]]:
            await fresh_database(url)
            engine = create_engine(url)
            sessions = create_sessionmaker(engine)
            if words:
                await follow_words(sessions, words)
            started, cpu = time.perf_counter(), time.process_time()
            report = await import_files(sessions, [folder], progress=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            async with sessions() as session:
                grouped = await stories_repo.count_grouped(session)
            await engine.dispose()
            assert report.failed == 0, report.failures[:3]
            return report.added, seconds, cpu, grouped

        added, seconds, cpu, (stories, in_stories) = uvloop.run(go())
    emit(
        "import_words" if words else "import",
        f"{added:,} article files in {seconds:.1f} s = {added / seconds:,.0f} articles/s"
        + (f" with {words:,} distinct words followed" if words else "")
        + f"; grouped {in_stories:,} of them into {stories:,} stories; "
        + f"{added / cpu:,.0f} articles per CPU-second (the process's, its threads too)",
        words=words,
        stories=stories,
        articles_in_stories=in_stories,
        files=added,
        seconds=round(seconds, 2),
        per_second=round(added / seconds),
        cpu_seconds=round(cpu, 2),
        per_cpu_second=round(added / cpu),
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
