"""A database blip in the middle of a delivery pass loses and repeats nothing.

PostgreSQL only (it terminates the bot's server connections): skipped, and reported so,
when TEST_DATABASE_URL is not set. Only backends of the test's own database are touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text

from bot.config import Settings
from bot.delivery.outbox import LEASE
from emulator.server import Emulator
from storage import repo
from storage.db import create_engine
from storage.models import Digest, DigestStatus
from tests.auxil.clock import FakeClock
from tests.auxil.data import article
from tests.auxil.delivery import add_due_subscribers
from tests.auxil.postgres import reset_schema
from tests.auxil.running import running_bot

SUBSCRIBERS = 1000
BLIPS = 6

TERMINATE_OWN_BACKENDS = text(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def test_terminated_connections_during_a_pass_repeat_and_lose_nothing(
    emulator: Emulator,
    postgres_url: str,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await reset_schema(postgres_url)
    settings = Settings(
        _env_file=None,
        database_url=postgres_url,
        telegram_bot_token=SecretStr(emulator.token),
        telegram_api_url=emulator.url,
        rate_limit_per_chat_seconds=0,
        rate_limit_per_second=1000,
        paid_broadcast=True,
    )
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    async with running_bot(settings, clock=clock, handlers=False, polling=False) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            await repo.upsert_article(session, article("Blip news", "blip"), now=clock())
        chats = range(900_001, 900_001 + SUBSCRIBERS)
        await add_due_subscribers(sessions, clock, chats, "blip")
        sent_before = len(emulator.state.messages)

        terminated: list[int] = []

        async def blip_while(delivering: asyncio.Task[object]) -> None:
            while len(terminated) < BLIPS and not delivering.done():
                # Wait for the pass to make progress, then cut its connections.
                if len(emulator.state.messages) - sent_before >= 100 * (len(terminated) + 1):
                    async with killer.connect() as connection:
                        cut = int(await connection.scalar(TERMINATE_OWN_BACKENDS) or 0)
                    if cut:  # none when the pool had just lost its connection anyway
                        terminated.append(cut)
                await asyncio.sleep(0.01)

        with caplog.at_level(logging.WARNING):
            delivering = asyncio.create_task(app.bot_data.deliverer.run_pass())
            await blip_while(delivering)
            first = await delivering
            passes = 1
            # What a blip left pending is resumed once its lease runs out, not earlier.
            while passes < 5:
                clock.advance(seconds=LEASE.total_seconds() + 1)
                report = await app.bot_data.deliverer.run_pass()
                passes += 1
                if not (report.resumed or report.due):
                    break
        async with sessions() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Digest.status, func.count()).group_by(Digest.status)
                    )
                ).all()
            )
    await killer.dispose()

    received = Counter(chat for chat, _ in list(emulator.state.messages)[sent_before:])
    print(
        f"\n{len(terminated)} blips terminated {sum(terminated)} connections; first pass "
        f"sent {first.sent} of {first.due} due; {passes} passes; "
        f"{sum(1 for n in received.values() if n > 1)} duplicates, "
        f"{SUBSCRIBERS - len(received)} missing; "
        f"{sum(1 for r in caplog.records if 'retry' in r.getMessage())} retried transactions"
    )
    assert len(terminated) == BLIPS and sum(terminated) >= BLIPS
    assert set(received) == set(chats)  # none missing
    assert set(received.values()) == {1}, received.most_common(3)  # none twice
    assert statuses == {DigestStatus.SENT: SUBSCRIBERS}


async def test_the_first_request_after_the_connections_died_succeeds(postgres_url: str) -> None:
    await reset_schema(postgres_url)
    engine = create_engine(postgres_url)
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:  # a connection now waits in the pool
            assert await connection.scalar(text("SELECT 1")) == 1
        async with killer.connect() as connection:
            assert await connection.scalar(TERMINATE_OWN_BACKENDS) == 1
        async with engine.connect() as connection:  # pre-ping replaces the dead one
            assert await connection.scalar(text("SELECT 2")) == 2
    finally:
        await killer.dispose()
        await engine.dispose()
