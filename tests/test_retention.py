"""Old digests are purged; no purge ever lets an article be sent to someone twice."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.words import search
from emulator.client import EmulatorClient
from storage import repo
from storage.models import Digest, DigestKind, DigestStatus, StoryKey
from tests.auxil.clock import FakeClock
from tests.auxil.data import article
from tests.auxil.population import add_subscriber
from tests.auxil.running import running_bot

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


async def old_digest(
    session: AsyncSession,
    subscriber_id: int,
    article_ids: list[int],
    *,
    days_ago: int,
    status: DigestStatus = DigestStatus.SENT,
) -> int:
    created = NOW - timedelta(days=days_ago)
    new = repo.NewDigest(subscriber_id, DigestKind.SCHEDULED, [], article_ids)
    [digest_id] = await repo.create_digests(session, [new], now=created, lease_until=created)
    await session.execute(update(Digest).where(Digest.id == digest_id).values(status=status))
    return digest_id


async def test_purge_keeps_pending_digests_and_ledger_rows_still_selectable(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        sub = await repo.create_subscriber(
            session, 1, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
        )
        ancient, _ = await repo.upsert_article(
            session, article("Ancient", "x"), now=NOW - timedelta(days=71)
        )
        older, _ = await repo.upsert_article(
            session, article("Older", "x"), now=NOW - timedelta(days=65)
        )
        recent, _ = await repo.upsert_article(
            session, article("Selectable", "x"), now=NOW - timedelta(days=36)
        )
        gone = await old_digest(session, sub.id, [ancient.id], days_ago=70)
        failed = await old_digest(
            session, sub.id, [older.id], days_ago=40, status=DigestStatus.FAILED
        )
        # Created long ago, but its article is still inside a 60-day selection window.
        protecting = await old_digest(session, sub.id, [recent.id], days_ago=35)
        pending = await old_digest(session, sub.id, [], days_ago=50, status=DigestStatus.PENDING)
        young = await old_digest(session, sub.id, [], days_ago=10)
    async with sessions.begin() as session:
        purged = await repo.purge_digests(
            session,
            created_before=NOW - timedelta(days=30),
            selectable_since=NOW - timedelta(days=60),
            limit=1,
        )
    assert purged == 1  # the batch size holds
    async with sessions.begin() as session:
        purged = await repo.purge_digests(
            session,
            created_before=NOW - timedelta(days=30),
            selectable_since=NOW - timedelta(days=60),
            limit=100,
        )
    assert purged == 1
    async with sessions() as session:
        left = set((await session.scalars(select(Digest.id))).all())
        ledger = set(await repo.delivered_article_ids(session, sub.id))
    assert left == {protecting, pending, young}
    assert gone not in left and failed not in left
    assert ledger == {recent.id}  # the still selectable article stays delivered


async def test_a_purging_tick_never_sends_an_article_again(
    emulator: object, emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    keeping = settings.model_copy(update={"digest_retention_days": 30, "digest_max_age_days": 60})
    async with running_bot(keeping, clock=clock, handlers=False, polling=False) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            await repo.upsert_article(session, article("Kept news", "kept"), now=clock())
        await add_subscriber(sessions, 801, "kept", settings=keeping, now=clock(), due_at=clock())
        deliverer = app.bot_data.deliverer
        assert (await deliverer.run_pass()).sent == 1

        # 31 days on: the digest is past retention, but its article is still selectable.
        clock.advance(days=31)
        report = await deliverer.run_pass()
        assert (report.due, report.sent, report.purged) == (1, 0, 0)

        # 62 days on: the article left the window; now the digest may go.
        clock.advance(days=31)
        report = await deliverer.run_pass()
        assert (report.due, report.sent, report.purged) == (1, 0, 1)
        async with sessions() as session:
            assert (await session.scalars(select(Digest.id))).all() == []
    messages = [e for e in await emu.events(801) if e["kind"] == "message"]
    assert len(messages) == 1


async def test_story_keys_of_articles_no_digest_can_select_are_forgotten(
    emulator: object, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock=clock, handlers=False, polling=False) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            [(old, _)] = await search.store_articles(
                session, [article("Old news", "x")], now=clock() - timedelta(days=30)
            )
            [(new, _)] = await search.store_articles(
                session, [article("New news", "x")], now=clock()
            )
        await app.bot_data.deliverer.run_pass()
        async with sessions() as session:
            keys = set((await session.scalars(select(StoryKey.article_id).distinct())).all())
    assert keys == {new.id} and old.id not in keys
