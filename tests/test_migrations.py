"""Migrations: rows survive them, ids in links are never reused, one process migrates at
a time, and processes that do not migrate refuse an older schema."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.keywords import parse_query
from bot.search import full_text
from storage import keywords as words_repo
from storage import repo
from storage.db import (
    SchemaOutdated,
    alembic_config,
    create_engine,
    create_sessionmaker,
    require_current_schema,
    upgrade,
)
from storage.models import ArticleTag, DeliveredArticle, Digest, Subscriber
from tests.auxil.cli import base_environment
from tests.auxil.data import article
from tests.auxil.postgres import reset_schema

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def fill(engine: AsyncEngine) -> None:
    """Two tagged articles, one subscriber, a digest and its ledger rows."""
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        stored = await repo.upsert_articles(
            session, [article("Alpha", "space"), article("Beta", "space, moon")], now=NOW
        )
        subscriber = Subscriber(
            chat_id=77, timezone="UTC", digest_time=NOW.time(), frequency="daily",
            weekday=0, paused=False, blocked=False, next_due_at=NOW, created_at=NOW,
        )  # fmt: skip
        session.add(subscriber)
        await session.flush()
        digest = Digest(
            subscriber_id=subscriber.id, kind="scheduled", status="sent", created_at=NOW,
            sent_at=NOW, lease_until=None, chunks=[], sent_chunks=0, message_ids=[],
            attempts=1, error=None,
        )  # fmt: skip
        session.add(digest)
        await session.flush()
        for row, _ in stored:
            session.add(
                DeliveredArticle(
                    subscriber_id=subscriber.id,
                    article_id=row.id,
                    digest_id=digest.id,
                    delivered_at=NOW,
                )
            )


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with create_sessionmaker(engine)() as session:
        tags = await session.scalar(select(func.count()).select_from(ArticleTag))
        ledger = await session.scalar(select(func.count()).select_from(DeliveredArticle))
    return int(tags or 0), int(ledger or 0)


async def test_tags_and_ledger_survive_the_upgrade(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0001")
        await fill(engine)
        assert await counts(engine) == (3, 2)
        await upgrade(engine)
        assert await counts(engine) == (3, 2)
        await require_current_schema(engine)
    finally:
        await engine.dispose()


async def test_a_deleted_article_id_is_never_handed_out_again(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0001")
        await fill(engine)
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as session:
            [(last, _)] = await repo.upsert_articles(session, [article("Gamma", "x")], now=NOW)
        async with sessions.begin() as session:
            await repo.delete_article(session, last.id)
        async with sessions.begin() as session:
            [(new, _)] = await repo.upsert_articles(session, [article("Delta", "x")], now=NOW)
        assert new.id > last.id
    finally:
        await engine.dispose()


async def test_an_older_schema_is_refused_by_name(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0001")
        with pytest.raises(SchemaOutdated, match="schema is at 0001, this newsbot needs 0"):
            await require_current_schema(engine)
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_take_turns(postgres_url: str, tmp_path: Path) -> None:
    """Without the advisory lock several processes all see an empty database and all try
    CREATE TABLE; with it the others wait and find nothing to do. (On SQLite, BEGIN
    IMMEDIATE already makes them take turns.)"""
    await reset_schema(postgres_url)
    env = base_environment(DATABASE_URL=postgres_url)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "db",
            "upgrade",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [(await p.communicate())[0].decode() for p in processes]
    assert outputs == ["database is at the latest schema\n"] * 4
    assert [p.returncode for p in processes] == [0] * 4


def _downgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    with connection.begin():
        command.downgrade(config, revision)


async def test_search_migration_indexes_existing_articles_and_downgrades_clean(
    db_url: str,
) -> None:
    # Whatever comes before 0003_search once migrations are merged and re-chained.
    before = ScriptDirectory.from_config(alembic_config("")).get_revision("0003_search")
    assert isinstance(before.down_revision, str)
    engine = create_engine(db_url)
    try:
        await upgrade(engine, before.down_revision)
        await fill(engine)
        await upgrade(engine, "0003_search")
        async with create_sessionmaker(engine)() as session:
            hits = await words_repo.search_articles(
                session, full_text(parse_query("beta")), since=NOW - timedelta(days=90), limit=5
            )
        assert [h.title for h in hits] == ["Beta"]
        async with engine.connect() as connection:
            url = engine.url.render_as_string(hide_password=False)
            await connection.run_sync(_downgrade, url, before.down_revision)
            names = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("articles")}
            )
        assert not names & {"words", "subscriber_words", "article_words"}
        assert not any(name.startswith("articles_fts") for name in names)
        assert "search_vector" not in columns
        assert await counts(engine) == (3, 2)
    finally:
        await engine.dispose()
