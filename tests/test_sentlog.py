"""SentLog, which records sent messages: at once, in windows, on close, through failures."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.send import SentLog
from storage import repo
from storage.models import Digest, DigestKind, DigestStatus

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def clock() -> datetime:
    return NOW


async def two_digests(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions.begin() as session:
        ids = []
        for chat in (1, 2):
            sub = await repo.create_subscriber(
                session, chat, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
            )
            new = repo.NewDigest(sub.id, DigestKind.SCHEDULED, [], [])
            ids += await repo.create_digests(session, [new], now=NOW, lease_until=NOW)
        return ids


async def progress(
    sessions: async_sessionmaker[AsyncSession], digest_id: int
) -> tuple[int, list[int], DigestStatus]:
    async with sessions() as session:
        digest = await session.get(Digest, digest_id)
        assert digest is not None
        return digest.sent_chunks, digest.message_ids, digest.status


async def written(sessions: async_sessionmaker[AsyncSession], digest_id: int, sent: int) -> None:
    async with asyncio.timeout(10):
        for _ in range(10_000):
            if (await progress(sessions, digest_id))[0] == sent:
                return
            await asyncio.sleep(0.01)


async def test_without_a_window_each_message_is_on_record_before_note_returns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, _ = await two_digests(sessions)
    log = SentLog(sessions, clock)
    await log.note(a, [11], 2)
    assert await progress(sessions, a) == (1, [11], DigestStatus.PENDING)
    await log.note(a, [11, 12], 2)
    assert await progress(sessions, a) == (2, [11, 12], DigestStatus.SENT)


async def test_a_window_groups_records_and_close_writes_the_latest_of_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await two_digests(sessions)
    async with SentLog(sessions, clock, window=3600) as log:
        await log.note(a, [11], 3)
        await log.note(b, [21], 1)
        await log.note(a, [11, 12], 3)
        # The window is an hour: nothing is written yet.
        assert await progress(sessions, a) == (0, [], DigestStatus.PENDING)
        assert log.unwritten == 2
    assert await progress(sessions, a) == (2, [11, 12], DigestStatus.PENDING)
    assert await progress(sessions, b) == (1, [21], DigestStatus.SENT)


async def test_records_are_written_by_the_window_without_waiting_for_close(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, _ = await two_digests(sessions)
    async with SentLog(sessions, clock, window=0.05) as log:
        await log.note(a, [11], 1)
        await written(sessions, a, 1)
        assert log.unwritten == 0


async def refuse_updates(sessions: async_sessionmaker[AsyncSession], refuse: bool) -> None:
    """A trigger that makes every write to digests fail, as a broken disk or a revoked
    grant would; real database errors, nothing patched."""
    async with sessions.begin() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            statements = (
                [
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
                    "CREATE TRIGGER refuse BEFORE UPDATE ON digests "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()",
                ]
                if refuse
                else ["DROP TRIGGER refuse ON digests", "DROP FUNCTION refuse()"]
            )
        else:
            statements = (
                [
                    "CREATE TRIGGER refuse BEFORE UPDATE ON digests "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                ]
                if refuse
                else ["DROP TRIGGER refuse"]
            )
        for statement in statements:
            await session.execute(text(statement))


async def test_a_failed_write_keeps_its_records_and_retries(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await two_digests(sessions)
    await refuse_updates(sessions, True)
    with caplog.at_level(logging.ERROR, logger="bot.telegram.send"):
        async with SentLog(sessions, clock, window=0.01) as log:
            await log.note(a, [11], 1)
            async with asyncio.timeout(10):
                for _ in range(10_000):  # until the background write failed …
                    if caplog.records:
                        break
                    await asyncio.sleep(0.01)
            assert log.unwritten == 1  # … and kept the record
            await log.note(b, [21], 1)
            await refuse_updates(sessions, False)
            await written(sessions, a, 1)  # written at a later window
            await written(sessions, b, 1)
    assert "could not record 1 sent digests; will retry" in caplog.records[0].getMessage()


async def test_close_raises_when_the_database_stays_broken_and_keeps_the_records(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, _ = await two_digests(sessions)
    log = SentLog(sessions, clock, window=3600)
    await log.__aenter__()
    await log.note(a, [11], 1)
    await refuse_updates(sessions, True)
    with pytest.raises(Exception, match="refused"):
        await log.close()
    assert log.unwritten == 1
    await refuse_updates(sessions, False)
    await log.flush()
    assert await progress(sessions, a) == (1, [11], DigestStatus.SENT)
