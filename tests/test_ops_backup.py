"""`newsbot db backup`, `db restore`, and the backup `db upgrade` takes of SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from bot.ops.backup import running_lock
from storage.db import create_engine, upgrade
from tests.auxil.cli import Here, base_environment
from tests.auxil.data import SEED_COUNT, SEEDS


def _count(path: Path, table: str = "articles") -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        [[count]] = db.execute(f"SELECT count(*) FROM {table}").fetchall()
        assert isinstance(count, int)
        return count


def test_backup_and_restore_sqlite(tmp_path: Path, here: Here) -> None:
    database = tmp_path / "bot.db"
    env = base_environment(DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    assert here("import", str(SEEDS), env=env, cwd=tmp_path)[0] == 0
    copy = tmp_path / "copy.db"
    assert here("db", "backup", str(copy), env=env, cwd=tmp_path) == (
        0,
        f"backed up {database} to {copy}\n",
        "",
    )
    assert _count(copy) == SEED_COUNT
    tagged = _count(copy, "article_tags")
    assert tagged > 0
    code, _, err = here("db", "backup", str(copy), env=env, cwd=tmp_path)
    assert (code, err) == (1, f"{copy} exists; choose a new file name\n")
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM article_tags")  # a careless admin's mistake
    with running_lock(env["DATABASE_URL"]):  # as a running `newsbot run` holds it
        code, _, err = here("db", "restore", str(copy), env=env, cwd=tmp_path)
        assert (code, err) == (
            1,
            f"{database} is in use by a running newsbot (run or worker): stop it first\n",
        )
    assert _count(database, "article_tags") == 0
    code, out, err = here("db", "restore", str(copy), env=env, cwd=tmp_path)
    assert (code, err) == (0, ""), out
    assert (_count(database), _count(database, "article_tags")) == (SEED_COUNT, tagged)
    (tmp_path / "junk.db").write_text("not a database")
    code, _, err = here("db", "restore", str(tmp_path / "junk.db"), env=env, cwd=tmp_path)
    assert code == 1
    assert err.startswith(f"{tmp_path / 'junk.db'} is not a SQLite database")


def test_postgresql_backup_points_to_pg_dump(tmp_path: Path, here: Here) -> None:
    env = base_environment(DATABASE_URL="postgresql+asyncpg://bot:secret@db.example/news")
    code, out, err = here("db", "backup", str(tmp_path / "x"), env=env, cwd=tmp_path)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[:2] == [
        "newsbot backs up SQLite only; for PostgreSQL use pg_dump, e.g.",
        "  pg_dump --format=custom --file newsbot.dump 'postgresql://bot:***@db.example/news'",
    ]
    assert "secret" not in err
    assert lines[-1].startswith(("pg_dump is at /", "pg_dump is not on the PATH"))


def test_upgrade_backs_up_an_older_sqlite_database_first(tmp_path: Path, here: Here) -> None:
    database = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{database}"

    async def old() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, "0009")
        finally:
            await engine.dispose()

    asyncio.run(old())
    code, out, _ = here("db", "upgrade", env=base_environment(DATABASE_URL=url), cwd=tmp_path)
    assert code == 0
    first, second = out.splitlines()
    [saved] = list(tmp_path.glob("bot.db.*.bak"))
    assert first == f"backed up the database to {saved} before migrating it"
    assert second == "database is at the latest schema"
    with contextlib.closing(sqlite3.connect(saved)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0009",)]
    # At the newest schema already: nothing to migrate, no copy.
    code, out, _ = here("db", "upgrade", env=base_environment(DATABASE_URL=url), cwd=tmp_path)
    assert (code, out) == (0, "database is at the latest schema\n")
    assert len(list(tmp_path.glob("bot.db.*.bak"))) == 1
