"""Migrations: rows survive them, ids in links are never reused, one process migrates at
a time, and processes that do not migrate refuse an older schema."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, delete, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.words.keywords import parse_query
from bot.words.search import full_text
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
from storage.models import Article, ArticleTag, Base, UTCDateTime
from tests.auxil.cli import base_environment
from tests.auxil.data import article
from tests.auxil.ledger import ledger_pairs
from tests.auxil.postgres import reset_schema

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def fill(engine: AsyncEngine) -> None:
    """Two tagged articles, one subscriber, a digest and its ledger rows, written in the
    SQL of schema 0001 (the models describe the newest schema, which has more columns)."""
    stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
    statements = [
        "INSERT INTO articles (id, fingerprint, content_hash, title, source, category,"
        " published_at, added_at, url, summary, body) VALUES"
        f" (1, 'f1', 'h1', 'Alpha', 'S', 'News', '{stamp}', '{stamp}', NULL, 'A.', 'A.'),"
        f" (2, 'f2', 'h2', 'Beta', 'S', 'News', '{stamp}', '{stamp}', NULL, 'B.', 'B.')",
        "INSERT INTO tags (id, key, name) VALUES (1, 'space', 'space'), (2, 'moon', 'moon')",
        "INSERT INTO article_tags (tag_id, article_id) VALUES (1, 1), (1, 2), (2, 2)",
        "INSERT INTO subscribers (id, chat_id, timezone, digest_time, frequency, weekday,"
        f" paused, blocked, next_due_at, created_at) VALUES (1, 77, 'UTC', '09:00:00',"
        f" 'daily', 0, false, false, '{stamp}', '{stamp}')",
        "INSERT INTO digests (id, subscriber_id, kind, status, created_at, sent_at,"
        " lease_until, chunks, sent_chunks, message_ids, attempts, error) VALUES"
        f" (1, 1, 'scheduled', 'sent', '{stamp}', '{stamp}', NULL, '[]', 0, '[]', 1, NULL)",
        "INSERT INTO delivered_articles (subscriber_id, article_id, digest_id, delivered_at)"
        f" VALUES (1, 1, 1, '{stamp}'), (1, 2, 1, '{stamp}')",
    ]
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
        if connection.dialect.name == "postgresql":
            # Rows inserted with explicit ids leave the sequences behind.
            for table in ("articles", "tags", "subscribers", "digests"):
                await connection.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )


async def counts(engine: AsyncEngine, *, packed: bool = True) -> tuple[int, int]:
    """(article tags, ledger entries): the ledger as rows before 0013, packed since."""
    async with create_sessionmaker(engine)() as session:
        tags = await session.scalar(select(func.count()).select_from(ArticleTag))
        if packed:
            ledger = len(await ledger_pairs(session))
        else:
            ledger = await session.scalar(text("SELECT count(*) FROM delivered_articles"))
    return int(tags or 0), int(ledger or 0)


async def test_tags_and_ledger_survive_the_upgrade(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0001")
        await fill(engine)
        assert await counts(engine, packed=False) == (3, 2)
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
            # Removed, as /delete did before 0009 (it now marks the row; rows still go
            # with a downgrade past 0009).
            await session.execute(delete(Article).where(Article.id == last.id))
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


def _mapped(name: str | None, kind: str, *_: object) -> bool:
    """What the models describe: all but the full-text index, which only migrations 0004
    and 0010 and the search query know (SQLite's articles_fts tables and view,
    PostgreSQL's search_vector)."""
    return name is None or not (name.startswith("articles_fts") or "search_vector" in name)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": _mapped, "include_object": _object}
    )
    return list(compare_metadata(context, Base.metadata))


def _object(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    return _mapped(name, kind)


async def test_the_migrations_create_exactly_the_models_schema(db_url: str) -> None:
    """Every schema change comes with its migration: after `upgrade` nothing is missing
    and nothing extra, on both backends."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


def _downgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    with connection.begin():
        command.downgrade(config, revision)


async def test_search_migration_indexes_existing_articles_and_downgrades_clean(
    db_url: str,
) -> None:
    # Whatever comes before the search migration.
    before = ScriptDirectory.from_config(alembic_config("")).get_revision("0004")
    assert isinstance(before.down_revision, str)
    engine = create_engine(db_url)
    try:
        await upgrade(engine, before.down_revision)
        await fill(engine)
        await upgrade(engine, "0004")
        async with create_sessionmaker(engine)() as session:
            found = await words_repo.added_matching(
                session, full_text(parse_query("beta")), NOW - timedelta(days=90)
            )
        assert found == [2]
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
        assert await counts(engine, packed=False) == (3, 2)
    finally:
        await engine.dispose()


def _downgrade_as_migrations_run(connection: Connection, url: str, revision: str) -> None:
    """`_downgrade` with SQLite's foreign keys off, as storage.db migrates: nothing
    cascades, so a migration must name every row it removes."""
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or ignored
        cursor.close()
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        connection.rollback()
    _downgrade(connection, url, revision)


async def test_deleted_articles_leave_with_their_rows_when_0009_is_undone(db_url: str) -> None:
    """0009 keeps a deleted article's row; the schema before it cannot, so its downgrade
    removes deleted articles as /delete did then, with their tag links and ledger rows,
    and keeps the rest."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0001")
        await fill(engine)
        await upgrade(engine)
        async with create_sessionmaker(engine).begin() as session:
            assert await repo.delete_article(session, 2, NOW) is not None
            assert await repo.count_articles(session) == 1
        async with engine.connect() as connection:
            url = engine.url.render_as_string(hide_password=False)
            await connection.run_sync(_downgrade_as_migrations_run, url, "0007")
            ids = (await connection.execute(text("SELECT id FROM articles"))).scalars().all()
        # Article 2 had two tag links and one ledger row; article 1 keeps its own.
        assert ids == [1]
        assert await counts(engine, packed=False) == (1, 1)
    finally:
        await engine.dispose()


async def _found(engine: AsyncEngine, typed: str) -> list[str]:
    """The titles the full-text index finds for ``typed``, at any revision since 0004
    (`added_matching` reads no column a later migration added)."""
    async with create_sessionmaker(engine)() as session:
        ids = await words_repo.added_matching(
            session, full_text(parse_query(typed)), NOW - timedelta(days=90)
        )
        titles = await session.scalars(select(Article.title).where(Article.id.in_(ids)))
        return sorted(titles)


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query))]


async def test_the_folding_migration_refolds_indexes_and_words_and_downgrades(
    db_url: str,
) -> None:
    """0010: both indexes see folded text (Ukrainian apostrophes one letter, "Straße" as
    "strasse"), words stored by the older code are folded anew (merged when they become
    one) and linked again; the downgrade brings back 0004's index, triggers included."""
    engine = create_engine(db_url)
    url = engine.url.render_as_string(hide_password=False)
    try:
        await upgrade(engine, "0001")
        await fill(engine)
        await upgrade(engine, "0007")
        stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
        async with engine.begin() as connection:
            for statement in [
                "UPDATE articles SET title = 'Zürich talks', body = 'Новий обʼєкт.' WHERE id = 1",
                "UPDATE articles SET title = 'Die Straße', body = 'Сім''я.' WHERE id = 2",
                # As the code before 0010 kept them: "Zürich" and "zurich" two words, a
                # word of a lone modifier letter, the old Turkish split.
                "INSERT INTO words (id, key, created_at) VALUES (1, 'zürich', '{t}'),"
                " (2, 'zurich', '{t}'), (3, 'обʼєкт', '{t}'), (4, 'ʹ', '{t}'),"
                " (5, 'i stanbul*', '{t}')",
                "INSERT INTO subscriber_words (subscriber_id, word_id, kind, created_at)"
                " VALUES (1, 1, 'follow', '{t}'), (1, 4, 'mute', '{t}'), (1, 5, 'follow', '{t}')",
                "INSERT INTO article_words (word_id, article_id) VALUES (1, 1), (5, 2)",
            ]:
                await connection.execute(text(statement.replace("{t}", stamp)))
            # The links are found again among recently added articles: recent now.
            await connection.execute(
                text("UPDATE articles SET added_at = :now").bindparams(
                    bindparam("now", type_=UTCDateTime())
                ),
                {"now": datetime.now(UTC)},
            )
        assert await _found(engine, "Straße") == []  # the defect of issue 22, item 12

        await upgrade(engine, "0010")
        assert await _rows(engine, "SELECT id, key FROM words ORDER BY id") == [
            (2, "zurich"),
            (3, "обʼєкт"),
            (5, "i stanbul*"),  # a phrase stays a phrase
        ]
        assert await _rows(
            engine, "SELECT subscriber_id, word_id, kind FROM subscriber_words ORDER BY word_id"
        ) == [(1, 2, "follow"), (1, 5, "follow")]
        assert await _rows(
            engine, "SELECT word_id, article_id FROM article_words ORDER BY word_id"
        ) == [(2, 1), (3, 1)]
        assert await _found(engine, "zurich") == ["Zürich talks"]
        assert await _found(engine, "об'єкт") == ["Zürich talks"]
        assert await _found(engine, "STRASSE") == ["Die Straße"]
        assert await _found(engine, "сімʼя") == ["Die Straße"]

        async with engine.connect() as connection:
            await connection.run_sync(_downgrade, url, "0007")
        async with engine.begin() as connection:  # in 0007's SQL: the models are newer
            await connection.execute(
                text(
                    "INSERT INTO articles (id, fingerprint, content_hash, title, source,"
                    " category, published_at, added_at, url, summary, body) VALUES (3, 'f3',"
                    " 'h3', 'Gamma ray', 'S', 'News', :now, :now, NULL, 'G.', 'x')"
                ).bindparams(bindparam("now", type_=UTCDateTime())),
                {"now": datetime.now(UTC)},
            )
        assert await _found(engine, "gamma") == ["Gamma ray"]  # 0004's triggers are back
        assert await _found(engine, "talks") == ["Zürich talks"]

        await upgrade(engine)
        assert await _found(engine, "gamma") == ["Gamma ray"]
        assert await _found(engine, "straße") == ["Die Straße"]
        await require_current_schema(engine)
    finally:
        await engine.dispose()


async def test_0013_keeps_unsent_texts_only_and_packs_the_ledger_both_ways(db_url: str) -> None:
    """A pending digest keeps the text of its unsent messages and a sent one none; each
    digest's ledger rows become its packed ledger; the downgrade gives both back."""
    engine = create_engine(db_url)
    stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
    parts = '[{"text": "one", "article_ids": [1]}, {"text": "two", "article_ids": [2]}]'
    try:
        await upgrade(engine, "0012")
        await fill(engine)  # digest 1, sent, with ledger rows of articles 1 and 2
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM delivered_articles WHERE article_id = 2"))
            await connection.execute(
                text(
                    "INSERT INTO digests (id, subscriber_id, kind, status, created_at, sent_at,"
                    " lease_until, chunks, sent_chunks, message_ids, attempts, error) VALUES"
                    f" (2, 1, 'scheduled', 'pending', '{stamp}', NULL, '{stamp}', '{parts}', 1,"
                    " '[5]', 0, NULL)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO delivered_articles (subscriber_id, article_id, digest_id,"
                    f" delivered_at) VALUES (1, 2, 2, '{stamp}')"
                )
            )
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            assert await ledger_pairs(session) == {(1, 1), (1, 2)}
            assert await repo.unsent_messages(session, [1, 2]) == {
                1: [],
                2: [{"text": "two", "article_ids": [2]}],
            }
        async with engine.connect() as connection:
            url = engine.url.render_as_string(hide_password=False)
            await connection.run_sync(_downgrade_as_migrations_run, url, "0012")
            ledger = (
                await connection.execute(
                    text("SELECT digest_id, article_id FROM delivered_articles ORDER BY 1, 2")
                )
            ).all()
            chunks = (
                await connection.execute(text("SELECT id, chunks FROM digests ORDER BY id"))
            ).all()
        assert [tuple(row) for row in ledger] == [(1, 1), (2, 2)]
        kept = [(i, c if isinstance(c, list) else json.loads(c)) for i, c in chunks]
        assert kept == [
            (1, []),
            (2, [{"text": "(sent)", "article_ids": []}, {"text": "two", "article_ids": [2]}]),
        ]
    finally:
        await engine.dispose()
