"""What a batch shares between its readers (one rendering of an entry, of a whole digest;
one object per distinct entry across batches) changes no digest: a varied population
composed in one batch gets, byte for byte, what each reader composed alone gets, on the
first pass and on a second one where stories they had have new reports (updates, silent
reports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.harness import settings_for
from bench.population import Population, Size
from bot.delivery.compose import TagIndex, compose_due_batch
from bot.delivery.outbox import Chunk
from storage.models import Article, ArticleTag, ChatType, Digest, Subscriber
from tests.auxil.ledger import ledger_pairs

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SIZE = Size(subscribers=80, articles=400, tags=6)  # few tags: readers share digests

Composed = dict[int, tuple[Chunk, ...]]


async def vary(session: AsyncSession) -> None:
    """Languages, timezones, layouts, the why shown or not, weekly readers and groups."""
    for condition, values in (
        (Subscriber.id % 3 == 0, {"language": "uk"}),
        (Subscriber.id % 5 == 0, {"timezone": "Europe/Kyiv"}),
        (Subscriber.id % 5 == 1, {"timezone": "America/New_York"}),
        (Subscriber.id % 4 == 0, {"compact": True}),
        (Subscriber.id % 7 == 0, {"show_tags": False}),
        (Subscriber.id % 11 == 0, {"frequency": "weekly"}),
        (Subscriber.id % 13 == 0, {"chat_type": ChatType.GROUP, "chat_id": -Subscriber.chat_id}),
    ):
        await session.execute(update(Subscriber).where(condition).values(**values))


async def follow_ups(session: AsyncSession, at: datetime) -> None:
    """New reports of recent stories: some with a new figure (an update), some a plain
    re-report by another source (taken in silently)."""
    rows = (await session.execute(select(Article).where(Article.id > 300))).scalars().all()
    for number, old in enumerate(rows[::3], start=1):
        new = 10_000 + old.id
        await session.execute(
            insert(Article).values(
                id=new,
                fingerprint=f"f-{new}",
                content_hash=f"f-{new}",
                title=f"{old.title} {number} dead" if number % 2 else old.title,
                source="REUTERS" if number % 3 else "Other Wire",
                category=old.category,
                published_at=at,
                added_at=at,
                url=None,
                summary=old.summary,
                body=old.body,
                story_id=old.story_id,
            )
        )
        tags = await session.scalars(
            select(ArticleTag.tag_id).where(ArticleTag.article_id == old.id)
        )
        for tag_id in tags.all():
            await session.execute(insert(ArticleTag).values(article_id=new, tag_id=tag_id))


async def compose_all(
    sessions: async_sessionmaker[AsyncSession], url: str, now: datetime, size: int
) -> tuple[Composed, set[tuple[int, int]]]:
    """Every due reader's messages, composed ``size`` readers a batch, and the ledger;
    then the database as it was."""
    settings = settings_for(url)
    index = TagIndex(now - timedelta(days=settings.digest_max_age_days))
    composed: Composed = {}
    while True:
        batch = await compose_due_batch(
            sessions,
            settings.digest,
            now=now,
            bot_username="newsbot_test_bot",
            index=index,
            size=size,
        )
        if not batch.claimed:
            break
        composed.update((o.subscriber_id, o.chunks) for o in batch.outbound)
    async with sessions.begin() as session:
        had = await ledger_pairs(session)
    return composed, had


async def undo(sessions: async_sessionmaker[AsyncSession], since: datetime, due: datetime) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(Digest).where(Digest.created_at >= since))
        await session.execute(update(Subscriber).values(next_due_at=due))


async def test_a_batch_composes_what_each_reader_alone_gets(
    sessions: async_sessionmaker[AsyncSession], schema_url: str
) -> None:
    await Population(SIZE, NOW).load(sessions)
    async with sessions.begin() as session:
        await vary(session)
    due = NOW - timedelta(minutes=1)
    together = await compose_all(sessions, schema_url, NOW, 1_000)
    await undo(sessions, NOW, due)
    alone = await compose_all(sessions, schema_url, NOW, 1)
    assert len(together[0]) == SIZE.subscribers
    assert together == alone

    later = NOW + timedelta(hours=22)
    async with sessions.begin() as session:
        await follow_ups(session, NOW + timedelta(hours=20))
    await undo(sessions, later, later - timedelta(minutes=1))
    together = await compose_all(sessions, schema_url, later, 1_000)
    await undo(sessions, later, later - timedelta(minutes=1))
    alone = await compose_all(sessions, schema_url, later, 1)
    assert any(
        "Update" in c.text or "Оновлення" in c.text for cs in together[0].values() for c in cs
    )
    assert together == alone
