"""Several `newsbot deliver` processes on one PostgreSQL deliver each digest exactly once.

PostgreSQL only (SQLite has one writer, and one delivering process): skipped, and
reported so, when TEST_DATABASE_URL is not set.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.articles.importer import import_files
from bot.config import Settings
from emulator.server import Emulator
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import Digest
from tests.auxil.cli import base_environment, start_newsbot
from tests.auxil.data import ROOT, SEEDS
from tests.auxil.population import add_subscribers
from tests.auxil.postgres import reset_schema

WORKERS = 3
SUBSCRIBERS = 300


async def run_deliver(env: dict[str, str]) -> tuple[int, str]:
    process = await start_newsbot("deliver", env=env, cwd=ROOT, merge_stderr=True)
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_three_workers_deliver_each_digest_exactly_once(
    emulator: Emulator, postgres_url: str
) -> None:
    await reset_schema(postgres_url)
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    settings = Settings(_env_file=None, database_url=postgres_url)
    await import_files(sessions, [SEEDS])
    chats = range(10_000, 10_000 + SUBSCRIBERS)
    await add_subscribers(
        sessions,
        chats,
        "science, weather",
        settings=settings,
        now=now,
        due_at=now - timedelta(minutes=1),
    )
    env = base_environment(
        DATABASE_URL=postgres_url,
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.url,
        RATE_LIMIT_PER_SECOND="2000",
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
