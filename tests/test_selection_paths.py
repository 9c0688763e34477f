"""The two ways a digest is selected agree: SQL for one subscriber (/digest), the per-pass
tag index for many (scheduled delivery)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.compose import TagIndex
from bot.config import Settings
from bot.digest import select_articles
from storage import repo
from storage.models import DigestKind
from tests.auxil.data import article
from tests.auxil.population import add_subscriber

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


async def test_index_and_sql_select_the_same_articles(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(7)
    tags = [f"t{i}" for i in range(8)]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with sessions.begin() as session:
        for n in range(60):
            chosen = ", ".join(rng.sample(tags, rng.randint(1, 3)))
            published = (NOW - timedelta(hours=rng.randint(0, 200))).isoformat()
            added = NOW - timedelta(days=rng.choice([0, 1, 3, 9]))
            await repo.upsert_article(session, article(f"A{n}", chosen, published), now=added)
    for chat in range(1, 13):
        await add_subscriber(
            sessions,
            chat,
            ", ".join(rng.sample(tags, rng.randint(1, 4))),
            settings=settings,
            now=NOW,
        )
    since = NOW - timedelta(days=7)
    async with sessions.begin() as session:
        # Some articles were already delivered to some subscribers.
        for chat in range(1, 13, 3):
            subscriber = await repo.get_subscriber(session, chat)
            assert subscriber is not None
            rows, _ = await repo.undelivered_candidates(session, subscriber.id, since, 4)
            await repo.create_digests(
                session,
                [repo.NewDigest(subscriber.id, DigestKind.MANUAL, [], [a for a, _ in rows])],
                now=NOW,
                lease_until=NOW,
            )
    async with sessions() as session:
        index = TagIndex(since)
        for chat in range(1, 13):
            subscriber = await repo.get_subscriber(session, chat)
            assert subscriber is not None
            tag_ids = (await repo.subscription_tags(session, [subscriber.id]))[subscriber.id]
            await index.load(session, set(tag_ids))
            delivered = (await repo.delivered_since(session, [subscriber.id], since))[
                subscriber.id
            ]
            by_index = index.select(tag_ids, delivered, 5)
            rows, total = await repo.undelivered_candidates(session, subscriber.id, since, 5)
            by_sql = select_articles(rows, 5, total)
            assert by_index == by_sql, chat
