"""Repository functions against a real database (SQLite; PostgreSQL too in CI)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.articles.tags import make_tag
from bot.delivery.compose import TagIndex, read_for
from bot.delivery.digest import Selection
from storage import repo
from storage import stories as stories_repo
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import ArticleTag, Digest, DigestKind, Subscriber
from storage.records import ChatCounts
from tests.auxil.data import article
from tests.auxil.postgres import empty_at_head

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def new_subscriber(session: AsyncSession, chat_id: int) -> Subscriber:
    return await repo.create_subscriber(
        session, chat_id, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
    )


async def test_first_display_form_is_kept(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        first = await repo.ensure_tags(session, [make_tag("United Kingdom")])
        again = await repo.ensure_tags(session, [make_tag(" #united  KINGDOM ")])
    assert first[0].id == again[0].id
    assert again[0].name == "United Kingdom"


async def test_upsert_outcomes(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        row, outcome = await repo.upsert_article(session, article("One", "a, b"), now=NOW)
        assert outcome is repo.Outcome.ADDED
        _, outcome = await repo.upsert_article(session, article("One", "a, b"), now=NOW)
        assert outcome is repo.Outcome.UNCHANGED
        _, outcome = await repo.upsert_article(session, article("One", "a, c"), now=NOW)
        assert outcome is repo.Outcome.UPDATED
        tags = await repo.tags_of_articles(session, [row.id])
    assert tags[row.id] == ["a", "c"]


async def test_stored_times_are_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        row, _ = await repo.upsert_article(
            session, article("T", "a", "2026-11-01T10:00:00+03:00"), now=NOW
        )
    async with sessions() as session:
        stored = await repo.get_article(session, row.id)
    assert stored is not None
    assert stored.published_at == datetime(2026, 11, 1, 7, tzinfo=UTC)
    assert stored.published_at.tzinfo is not None
    assert stored.added_at == NOW


async def selected(session: AsyncSession, subscriber_id: int, max_items: int) -> Selection:
    """What the one selection engine (the pass's, and /digest's) picks for a reader."""
    index = TagIndex(NOW - timedelta(days=7))
    reading = await read_for(session, index, [subscriber_id])
    return reading.select(index, subscriber_id, max_items)


async def test_candidates_match_any_tag_and_skip_delivered_and_old(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        both, _ = await repo.upsert_article(session, article("Both", "x, y"), now=NOW)
        only_y, _ = await repo.upsert_article(session, article("Only y", "y"), now=NOW)
        other, _ = await repo.upsert_article(session, article("Other", "z"), now=NOW)
        old, _ = await repo.upsert_article(
            session, article("Old", "x"), now=NOW - timedelta(days=10)
        )
        sub = await new_subscriber(session, 1)
        tags = await repo.ensure_tags(session, [make_tag("x"), make_tag("Y")])
        await repo.subscribe(session, sub.id, [t.id for t in tags], now=NOW)
        chosen = await selected(session, sub.id, 10)
        assert sorted(chosen.article_ids) == sorted([both.id, only_y.id])
        assert chosen.remaining == 0
        top = await selected(session, sub.id, 1)
        assert (len(top.article_ids), top.remaining) == (1, 1)
        await repo.create_digests(
            session,
            [repo.NewDigest(sub.id, DigestKind.MANUAL, [], [both.id])],
            now=NOW,
            lease_until=NOW,
        )
        chosen = await selected(session, sub.id, 10)
    assert chosen.article_ids == [only_y.id]
    assert chosen.remaining == 0
    assert other.id not in chosen.article_ids
    assert old.id not in chosen.article_ids


async def test_ledger_refuses_a_second_delivery(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        row, _ = await repo.upsert_article(session, article("A", "x"), now=NOW)
        sub = await new_subscriber(session, 1)
        await repo.create_digests(
            session,
            [repo.NewDigest(sub.id, DigestKind.MANUAL, [], [row.id])],
            now=NOW,
            lease_until=NOW,
        )
    with pytest.raises(repo.AlreadyDelivered):
        async with sessions.begin() as session:
            await repo.create_digests(
                session,
                [repo.NewDigest(sub.id, DigestKind.MANUAL, [], [row.id])],
                now=NOW,
                lease_until=NOW,
            )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Digest)) == 1


async def test_failed_digest_releases_unsent_articles(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        a, _ = await repo.upsert_article(session, article("A", "x"), now=NOW)
        b, _ = await repo.upsert_article(session, article("B", "x"), now=NOW)
        sub = await new_subscriber(session, 1)
        chunks = [{"text": "1", "article_ids": [a.id]}, {"text": "2", "article_ids": [b.id]}]
        [digest_id] = await repo.create_digests(
            session,
            [repo.NewDigest(sub.id, DigestKind.SCHEDULED, chunks, [a.id, b.id])],
            now=NOW,
            lease_until=NOW,
        )
        await repo.record_sent(
            session, [repo.SentProgress(digest_id, [77], 2)], now=NOW, lease=timedelta(1)
        )
        await repo.fail_digest(session, digest_id, unsent_article_ids=[b.id], error="blocked")
    async with sessions() as session:
        assert await repo.delivered_article_ids(session, sub.id) == [a.id]


async def test_a_deleted_article_keeps_its_row_and_links_until_undeleted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        row, _ = await repo.upsert_article(session, article("A", "x, y"), now=NOW)
    later = NOW + timedelta(hours=1)
    async with sessions.begin() as session:
        deleted = await repo.delete_article(session, row.id, later)
        assert deleted is not None
        assert (deleted.title, deleted.deleted_at) == ("A", later)
        again = await repo.delete_article(session, row.id, later + timedelta(hours=1))
        assert again is not None and again.deleted_at == later  # deleted once
        assert await repo.delete_article(session, row.id + 1, later) is None
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ArticleTag)) == 2
        assert await repo.count_articles(session) == 0
        assert await repo.latest_articles(session, 10) == []
        assert [a.id for a in await repo.deleted_articles(session, 10)] == [row.id]
    async with sessions.begin() as session:
        back = await repo.undelete_article(session, row.id)
        assert back is not None and back.deleted_at is None
    async with sessions() as session:
        assert await repo.count_articles(session) == 1
        assert await repo.deleted_articles(session, 10) == []


async def test_due_subscribers_skip_paused_blocked_and_future(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        due = await new_subscriber(session, 1)
        paused = await new_subscriber(session, 2)
        paused.paused = True
        blocked = await new_subscriber(session, 3)
        blocked.blocked = True
        later = await new_subscriber(session, 4)
        later.next_due_at = NOW + timedelta(minutes=1)
    async with sessions.begin() as session:
        claimed = await repo.claim_due_subscribers(session, NOW, 10)
    assert [s.chat_id for s in claimed] == [due.chat_id]


async def test_stats(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await repo.upsert_article(session, article("A", "x, y"), now=NOW)
        sub = await new_subscriber(session, 1)
        await repo.subscribe(
            session, sub.id, [t.id for t in await repo.tags_by_key(session, ["x"])], now=NOW
        )
        await new_subscriber(session, 2)
        await repo.set_blocked(session, sub.id, True)
        stats = await repo.stats(session, NOW)
    assert stats == repo.Stats(
        articles=1,
        tags=2,
        subscribers_active=1,
        subscribers_paused=0,
        subscribers_blocked=1,
        chats=ChatCounts(private=1, groups=0, channels=0),
        subscriptions=1,
        digests_sent_24h=0,
    )


async def test_candidate_lookup_uses_indexes_on_sqlite(tmp_path: Path) -> None:
    # SQLite's plan does not depend on table sizes, so it can be asserted on an empty
    # database; PostgreSQL's does, and is exercised by the benchmarks instead.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'plan.db'}")
    await upgrade(engine)
    async with engine.connect() as session:
        plan = (
            await session.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT a.id FROM articles a "
                    "JOIN article_tags at ON at.article_id = a.id "
                    "JOIN subscriptions s ON s.tag_id = at.tag_id "
                    "WHERE s.subscriber_id = 1 AND a.added_at >= '2026-01-01'"
                )
            )
        ).all()
    await engine.dispose()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SCAN a" not in details and "SCAN articles" not in details, details


async def test_claiming_due_subscribers_uses_the_partial_index(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'due.db'}")
    await upgrade(engine)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM subscribers" in statement:
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        await repo.claim_due_subscribers(session, NOW, 10)
    [(statement, params)] = seen
    async with engine.connect() as connection:
        plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)).all()
    await engine.dispose()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_subscribers_due" in details, details
    assert "TEMP B-TREE" not in details, details


async def test_a_story_with_many_new_articles_is_one_candidate_and_the_rest_still_come(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The SQL selection reads the newest matches a few per digest entry; a story whose
    articles fill them is read past, so the digest still holds other stories."""
    async with sessions.begin() as session:
        big = []
        for n in range(9):
            published = (NOW - timedelta(minutes=n)).isoformat()
            row, _ = await repo.upsert_article(
                session, article(f"Big {n}", "x", published), now=NOW
            )
            big.append(row.id)
        older = []
        for n in range(2):
            published = (NOW - timedelta(hours=5 + n)).isoformat()
            row, _ = await repo.upsert_article(
                session, article(f"Older {n}", "x", published), now=NOW
            )
            older.append(row.id)
        await stories_repo.set_stories(session, dict.fromkeys(big, big[-1]))
        sub = await new_subscriber(session, 1)
        [tag] = await repo.ensure_tags(session, [make_tag("x")])
        await repo.subscribe(session, sub.id, [tag.id], now=NOW)
        chosen = await selected(session, sub.id, 2)
    assert list(zip(chosen.article_ids, chosen.story_ids, strict=True)) == [
        (big[0], big[-1]),
        (older[0], older[0]),
    ]
    assert (chosen.remaining, chosen.updates) == (1, frozenset())


async def test_a_second_move_of_a_migrated_group_waits_and_moves_nothing(
    postgres_url: str,
) -> None:
    """Telegram tells both the old group and the new supergroup, and the bot handles the
    two at once. The second mover must wait for the first: reading the row before the
    first committed, it went on to delete the moved row as "the supergroup's own",
    subscriptions and all."""
    await empty_at_head(postgres_url)
    engine = create_engine(postgres_url)
    sessions = create_sessionmaker(engine)

    async def second_move() -> bool:
        async with sessions.begin() as session:
            return await repo.move_chat(session, -100, -1001000)

    try:
        async with sessions.begin() as session:
            group = await new_subscriber(session, -100)
            tags = await repo.ensure_tags(session, [make_tag("negotiations")])
            await repo.subscribe(session, group.id, [tags[0].id], now=NOW)
        async with sessions() as first, first.begin():
            assert await repo.move_chat(first, -100, -1001000)
            second = asyncio.create_task(second_move())
            await someone_waits_on_a_lock(engine)
        assert await second is False
        async with sessions() as session:
            moved = await repo.get_subscriber(session, -1001000)
            assert moved is not None
            assert [tag.name for tag in await repo.subscribed_tags(session, moved.id)] == [
                "negotiations"
            ]
    finally:
        await engine.dispose()


async def someone_waits_on_a_lock(engine: AsyncEngine, timeout: float = 10) -> None:
    """Until a connection to this database waits on a lock (PostgreSQL)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + timeout
    async with engine.connect() as watcher:
        while not await watcher.scalar(query):
            assert asyncio.get_running_loop().time() < deadline, "nobody waited on a lock"
            await watcher.rollback()
