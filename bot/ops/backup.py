"""Backups of the database: `newsbot db backup FILE`, `newsbot db restore FILE`, and the
copy `newsbot db upgrade` takes of a SQLite database before it migrates.

SQLite: an online, consistent copy through SQLite's backup API (`sqlite3.Connection.backup`),
safe while the bot runs and writes. A restore writes the copy back through the same API,
refused while a `newsbot run` or `worker` uses the database: each holds a shared lock
on ``<database>.running`` for as long as it runs, and the restore needs it exclusively.

PostgreSQL: `pg_dump` is the tool (a consistent snapshot, any size, restorable with
`pg_restore`); `newsbot db backup` says how to call it and whether it is on the PATH.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import ConfigError


class BackupRefused(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


def sqlite_path(url: str) -> Path | None:
    """The SQLite file ``url`` names; None for PostgreSQL (or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _lock_path(database: Path) -> Path:
    # The file itself, however it is named (a symlink, another directory's spelling):
    # a restore and a running bot must lock the same one.
    real = database.resolve()
    return real.with_name(real.name + ".running")


@contextlib.contextmanager
def running_lock(url: str) -> Iterator[None]:
    """Held (shared) by a running `newsbot run` or `worker` on a SQLite database, so that
    a restore can tell it is in use. Nothing for PostgreSQL."""
    database = sqlite_path(url)
    if database is None or not database.parent.is_dir():
        yield
        return
    with open(_lock_path(database), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pg_dump_advice(url: str) -> str:
    """What to run instead for PostgreSQL, and whether pg_dump is there."""
    shown = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    found = shutil.which("pg_dump")
    where = (
        f"pg_dump is at {found}"
        if found
        else "pg_dump is not on the PATH: install the PostgreSQL client (e.g. postgresql-client)"
    )
    return (
        "newsbot backs up SQLite only; for PostgreSQL use pg_dump, e.g.\n"
        f"  pg_dump --format=custom --file newsbot.dump '{shown}'\n"
        "and pg_restore to bring it back (the password from ~/.pgpass or PGPASSWORD).\n"
        f"{where}"
    )


def _copy(source: Path, target: Path) -> None:
    """An online, consistent copy of the database ``source`` into ``target``."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        # The copy stands alone: one file, no write-ahead log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")


def backup(url: str, target: Path) -> Path:
    """Copy the SQLite database to ``target`` (a new file); returns it."""
    database = sqlite_path(url)
    if database is None:
        raise BackupRefused(pg_dump_advice(url))
    if not database.is_file():
        raise ConfigError(f"DATABASE_URL: there is no database at {database}")
    if target.exists():
        raise BackupRefused(f"{target} exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupRefused(f"{target}: no directory {target.parent}")
    try:
        _copy(database, target)
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        raise BackupRefused(f"{database}: cannot copy it: {error}") from None
    return target


def _check_copy(source: Path) -> None:
    """``source`` is a SQLite database with newsbot's tables."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
            [[result]] = db.execute("PRAGMA quick_check").fetchall()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as error:
        raise BackupRefused(f"{source} is not a SQLite database: {error}") from None
    if result != "ok":
        raise BackupRefused(f"{source} is damaged: {result}")
    if "alembic_version" not in tables or "subscribers" not in tables:
        raise BackupRefused(f"{source} is not a newsbot database (no newsbot tables)")
    _check_schema(source)


def _check_schema(source: Path) -> None:
    """``source``'s schema is one this newsbot knows (an older one is migrated by
    `newsbot db upgrade`; a newer one would stop every start)."""
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    script = ScriptDirectory.from_config(alembic_config(""))
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = sorted(set(versions) - known)
    if unknown:
        raise BackupRefused(
            f"{source} is from a newer newsbot (schema {', '.join(unknown)}, unknown to this "
            f"one, which knows up to {', '.join(script.get_heads())}): restore it with the "
            "newsbot that made it"
        )


def restore(url: str, source: Path) -> Path:
    """Write the backup ``source`` over the SQLite database; refused while it is in use."""
    database = sqlite_path(url)
    if database is None:
        raise BackupRefused("newsbot restores SQLite only; for PostgreSQL use pg_restore")
    if not source.is_file():
        raise BackupRefused(f"{source}: no such file")
    if database.exists() and source.samefile(database):
        raise BackupRefused(f"{source} is the database itself ({database}): nothing to restore")
    _check_copy(source)
    if not database.parent.is_dir():
        raise ConfigError(f"DATABASE_URL: no directory {database.parent}")
    with open(_lock_path(database), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupRefused(
                f"{database} is in use by a running newsbot (run or worker): stop it first"
            ) from None
        try:
            _copy(source, database)
        except sqlite3.Error as error:
            raise BackupRefused(f"{database}: cannot write it: {error}") from None
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return database


def before_upgrade(url: str, pending: bool) -> Path | None:
    """The copy `newsbot db upgrade` takes of a SQLite database that has tables and is
    about to be migrated (``pending``), beside it: ``<name>.<UTC time>.bak``."""
    database = sqlite_path(url)
    if database is None or not pending or not database.is_file():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return backup(url, database.with_name(f"{database.name}.{stamp}.bak"))
