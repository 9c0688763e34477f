"""Engine and session factory, and schema upgrades through Alembic."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.folding import SQLITE_FUNCTION, fold

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over BEGIN from the driver (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The full-text index's triggers and view fold text with it (migration 0008): a
    # connection without it can read articles but not store them.
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, _sqlite_fold, deterministic=True)


def _sqlite_fold(value: object) -> str | None:
    # SQLite hands over whatever a column holds; an exception would abort the statement.
    return None if value is None else fold(value if isinstance(value, str) else str(value))


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is
    # locked" when another connection wrote in between (the busy timeout does not apply
    # to that upgrade). Taking the write lock up front makes writers queue instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine whose pooled connections are checked before use; SQLite gets WAL,
    foreign keys and a busy timeout on every connection."""
    if is_sqlite(url):
        # SQLite has one writer. Connections of one process queueing in the pool cost
        # nothing; queueing on SQLite's lock costs the busy handler's sleeps (1, 2, 5,
        # 10… ms), which under 64 concurrent senders cut delivery to a fraction.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 60)
    # A pooled connection may have died with a database restart or a terminated backend;
    # a ping on checkout replaces it, so the first request afterwards does not fail.
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class DatabaseUnavailable(Exception):
    """The database named by the URL cannot be opened; the message says why, in one line."""


class SchemaOutdated(Exception):
    """The database is at an older schema than this code; a process that does not migrate
    must not run on it."""


# Any fixed number: every newsbot process takes the same PostgreSQL advisory lock, so
# only one of them runs the Alembic upgrade at a time and the others wait, then find
# nothing left to do.
MIGRATION_LOCK_KEY = 0x6E657773626F74


def _foreign_keys(connection: Connection, on: bool) -> None:
    # Called outside any transaction: inside one, SQLite ignores this pragma.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


@cache
def _script() -> ScriptDirectory:
    # The migration files are read once per process; a start at the newest schema then
    # costs one SELECT, not a load of every migration script.
    return ScriptDirectory.from_config(alembic_config(""))


class SchemaNewer(SchemaOutdated):
    """The database is at a schema this code does not know: a newer newsbot migrated it
    (and this older one was started on it, or a backup from it restored)."""


def _revisions(connection: Connection) -> tuple[set[str], set[str]]:
    current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(_script().get_heads())
    unknown = current - {revision.revision for revision in _script().walk_revisions()}
    if unknown:
        raise SchemaNewer(
            f"the database schema is at {', '.join(sorted(unknown))}, newer than this "
            f"newsbot, which knows up to {', '.join(sorted(heads))}: run the newsbot that "
            "migrated it, or restore a backup taken before"
        )
    return current, heads


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    if revision == "head":
        current, heads = _revisions(connection)
        connection.rollback()  # the look ended; the upgrade opens its own transaction
        if current == heads:
            return
    config = alembic_config(url)
    config.attributes["connection"] = connection
    if connection.dialect.name != "sqlite":
        with connection.begin():
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            command.upgrade(config, revision)
        return
    # Batch migrations recreate a table and DROP the old one; with foreign keys on, that
    # drop would cascade to article_tags and delivered_articles. Off during the
    # migration, checked after it.
    _foreign_keys(connection, on=False)
    try:
        with connection.begin():
            command.upgrade(config, revision)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    finally:
        _foreign_keys(connection, on=True)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on the engine's database."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade, url, revision)


async def require_current_schema(engine: AsyncEngine) -> None:
    """Raise `SchemaOutdated` unless the database is at the latest revision."""
    async with engine.connect() as connection:
        current, heads = await connection.run_sync(_revisions)
    if current != heads:
        at = ", ".join(sorted(current)) or "empty"
        raise SchemaOutdated(
            f"the database schema is at {at}, this newsbot needs {', '.join(sorted(heads))}"
        )


def describe(url: str) -> str:
    """The URL for logs and messages: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _reason(error: BaseException) -> str:
    cause: BaseException = getattr(error, "orig", None) or error
    if isinstance(cause, ConnectionRefusedError) or "Connect call failed" in str(cause):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(cause).splitlines()[0] if str(cause) else type(cause).__name__


async def open_database(url: str, *, migrate: bool = True) -> AsyncEngine:
    """An engine on a database that answers and is at the latest schema.

    ``migrate`` upgrades it; otherwise an older schema raises `SchemaOutdated`. A
    database that cannot be reached raises `DatabaseUnavailable` with one line saying why.
    """
    parsed = make_url(url)
    if is_sqlite(url) and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise DatabaseUnavailable(f"cannot open {parsed.database}: no directory {folder}")
    engine = create_engine(url)
    try:
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except (OSError, SQLAlchemyError) as error:
            where = f"{parsed.host}:{parsed.port or 5432}" if parsed.host else parsed.database
            raise DatabaseUnavailable(f"cannot connect to {where}: {_reason(error)}") from None
        if migrate:
            await upgrade(engine)
        else:
            await require_current_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def migration_pending(engine: AsyncEngine) -> bool:
    """Whether the database has a schema, older than this code's (an empty one has none;
    a newer one cannot be migrated: opening it says so)."""
    try:
        async with engine.connect() as connection:
            current, heads = await connection.run_sync(_revisions)
    except SchemaNewer:
        return False
    return bool(current) and current != heads
