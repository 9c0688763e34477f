"""A PostgreSQL database of the test run's own: created at the start, dropped at the end.

TEST_DATABASE_URL names a server and a database to connect to for that; the tests never
touch the database it names, only the one they create beside it.
"""

from __future__ import annotations

import os
from functools import lru_cache

import asyncpg
from sqlalchemy import text

from storage import admin
from storage.db import create_engine

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")
SKIP_REASON = (
    "PostgreSQL tests need TEST_DATABASE_URL, e.g. "
    "TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test make test"
)
PREFIX = "newsbot_test"


async def create_database(server_url: str) -> str:
    return await admin.create_database(server_url, PREFIX)


async def drop_database(server_url: str, url: str) -> None:
    await admin.drop_database(server_url, url, PREFIX)


async def reset_schema(url: str) -> None:
    """Empty the run's own database between tests."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@lru_cache(maxsize=1)
def _head() -> str:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


async def empty_at_head(url: str) -> None:
    """The run's own database at the newest schema with no rows: emptied with DELETE
    (faster than TRUNCATE for a test's few rows) and its sequences restarted when it is
    already there, in one script; migrated afresh otherwise (a test before may have left
    it at an older schema, or none)."""
    from storage.db import upgrade

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            try:
                version = await driver.fetchval("SELECT version_num FROM alembic_version")
            except asyncpg.UndefinedTableError:  # not migrated at all
                version = None
            if version == _head():
                # Without parameters, asyncpg sends a script of statements at once.
                await driver.execute(_empty_script())
                return
        await reset_schema(url)
        await upgrade(engine)
    finally:
        await engine.dispose()


@lru_cache(maxsize=1)
def _empty_script() -> str:
    from storage.models import Base

    deletes = "".join(
        f'DELETE FROM "{table.name}";\n' for table in reversed(Base.metadata.sorted_tables)
    )
    return (
        f"BEGIN;\n{deletes}"
        "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false)"
        " FROM pg_sequences WHERE schemaname = 'public';\nCOMMIT;"
    )
