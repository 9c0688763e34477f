"""The two ways a digest is selected agree: SQL for one subscriber (/digest), the per-pass
tag index for many (scheduled delivery)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.format import parse_article
from bot.config import Settings
from bot.delivery.compose import TagIndex
from bot.delivery.digest import select_articles
from bot.subscriptions import service
from bot.words import search
from bot.words.keywords import Matcher, Term, parse_terms
from storage import keywords as words_repo
from storage import repo
from storage.models import DigestKind
from storage.records import WordKind
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
            rows, _, _ = await repo.undelivered_candidates(session, subscriber.id, since, 4)
            await repo.create_digests(
                session,
                [repo.NewDigest(subscriber.id, DigestKind.MANUAL, [], [a for a, _, _ in rows])],
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
            rows, total, had = await repo.undelivered_candidates(session, subscriber.id, since, 5)
            by_sql = select_articles(rows, 5, total, had)
            assert by_index == by_sql, chat


async def test_with_words_index_and_sql_agree_and_mutes_win(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Followed words add articles, muted words remove them whatever matched, and an
    article matched by a tag and a word is counted once — on both paths."""
    rng = random.Random(11)
    tags = [f"t{i}" for i in range(5)]
    vocabulary = ["moon", "mars", "storm", "grain", "vote", "peace talks", "rocket"]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # Words are followed before some articles arrive and after others (the backfill).
    early_words = "moon storm"
    async with sessions.begin() as session:
        holder = await service.ensure_subscriber(session, 999, settings, NOW)
        await search.add_words(
            session,
            holder,
            parse_terms(early_words),
            WordKind.FOLLOW,
            now=NOW,
            max_age=timedelta(days=7),
        )

    def body() -> str:
        return " and ".join(rng.sample(vocabulary, rng.randint(0, 3)))

    async with sessions.begin() as session:
        for n in range(60):
            chosen = ", ".join(rng.sample(tags, rng.randint(1, 2)))
            published = (NOW - timedelta(hours=rng.randint(0, 200))).isoformat()
            added = NOW - timedelta(days=rng.choice([0, 1, 3, 9]))
            parsed = parse_article(
                f"Science {published}\nScience Desk\nA{n} {body()}\n\n{chosen}\n\n{body()}.\n"
            )
            [(row, _)] = await search.store_articles(session, [parsed], now=added)
            if n % 6 == 2:  # deleted by an admin: on neither path, and muting nothing
                await repo.delete_article(session, row.id, NOW)
    for chat in range(1, 16):
        await add_subscriber(
            sessions,
            chat,
            ", ".join(rng.sample(tags, rng.randint(0, 2))),
            settings=settings,
            now=NOW,
        )
        async with sessions.begin() as session:
            subscriber = await repo.get_subscriber(session, chat)
            assert subscriber is not None
            follows = rng.sample(vocabulary, rng.randint(0, 3))
            mutes = [w for w in rng.sample(vocabulary, rng.randint(0, 2)) if w not in follows]
            for words, kind in ((follows, WordKind.FOLLOW), (mutes, WordKind.MUTE)):
                typed = " ".join(f'"{w}"' for w in words)
                if typed:
                    await search.add_words(
                        session, subscriber, parse_terms(typed), kind, now=NOW,
                        max_age=timedelta(days=7),
                    )  # fmt: skip
    since = NOW - timedelta(days=7)
    async with sessions() as session:
        index = TagIndex(since)
        checked = 0
        for chat in range(1, 16):
            subscriber = await repo.get_subscriber(session, chat)
            assert subscriber is not None
            tag_ids = (await repo.subscription_tags(session, [subscriber.id]))[subscriber.id]
            held = (await words_repo.subscription_words(session, [subscriber.id]))[subscriber.id]
            await index.load(session, set(tag_ids), {*held[0], *held[1]})
            by_index = index.select(tag_ids, (set(), set()), 8, held)
            rows, total, had = await repo.undelivered_candidates(session, subscriber.id, since, 8)
            by_sql = select_articles(rows, 8, total, had)
            assert by_index == by_sql, chat
            # Mutes win: no selected article contains a muted word.
            mine = await words_repo.subscriber_words(session, subscriber.id)
            muted = Matcher(Term.from_key(k) for _, k, kind in mine if kind == WordKind.MUTE)
            lines = await repo.digest_lines(session, by_sql.article_ids)
            for line in lines.values():
                article = await repo.get_article(session, line.id)
                assert article is not None
                assert article.deleted_at is None
                assert not muted.keys_in(article.title, article.summary, article.body)
            checked += len(by_sql.article_ids)
        assert checked > 20
