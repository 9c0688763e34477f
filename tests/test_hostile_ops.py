"""Hostile conditions for the ops endpoints and settings: the database gone mid-run,
settings an admin gets wrong, backups and restores of the wrong file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import ConfigError, Settings, load_settings
from bot.ops.backup import running_lock
from bot.ops.service import Served, serving
from bot.telegram.app import build_application, running
from bot.telegram.context import BotApplication
from storage.db import create_engine
from tests.auxil.cli import Here, base_environment
from tests.auxil.clock import FakeClock
from tests.auxil.running import free_port, served_app


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


@pytest.fixture
def ops_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_listen": f"127.0.0.1:{free_port()}"})


@pytest.fixture
async def served(
    ops_settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[BotApplication, Served]]:
    async with served_app(ops_settings, clock, delivery=False) as both:
        yield both


async def test_readyz_names_the_database_when_it_is_gone_mid_run(
    served: tuple[BotApplication, Served], ops_settings: Settings
) -> None:
    base = f"http://{ops_settings.metrics_listen}"
    status, body = await _get(f"{base}/readyz")
    assert status == 200, body
    url = ops_settings.database_url
    if url.startswith("sqlite"):
        await asyncio.to_thread(Path(url.split("///", 1)[1]).unlink)
    else:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()
    status, body = await _get(f"{base}/readyz")
    assert status == 503, body
    assert body.splitlines()[0].startswith("FAIL database: "), body
    assert await _get(f"{base}/healthz") == (200, "ok\n")


@pytest.mark.parametrize(
    ("url", "secret", "named"),
    [
        ("http://bot.example.org/tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https://bot.example.org/tg#x", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("https://bot.example.org/#/tg", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("https://bot.example.org/tg#", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("https://bot.example.org/a%2Fb", "abc", "WEBHOOK_URL: an escaped / or \\ (%2F, %5C)"),
        ("ftp://bot.example.org/tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https:///tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https://bot.example.org/tg", "ab c", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", " abc", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "абв", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "a" * 257, "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "a=b", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "", "WEBHOOK_SECRET: required with WEBHOOK_URL"),
    ],
)
def test_a_wrong_webhook_setting_is_named(url: str, secret: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(webhook_url=url, webhook_secret=secret)
    assert str(raised.value).startswith(named), str(raised.value)
    assert secret not in str(raised.value) or not secret.strip()  # a secret is never echoed


async def test_metrics_on_every_address_is_served_with_a_warning(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    wide = settings.model_copy(update={"metrics_listen": f"0.0.0.0:{port}"})
    app = build_application(wide, clock=clock, delivery=False, feeds=False)
    with caplog.at_level(logging.WARNING, "bot.ops.service"):
        async with running(app, polling=False), serving(app, wide, answers=True, delivery=False):
            assert (await _get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    assert [r.getMessage() for r in caplog.records if r.name == "bot.ops.service"] == [
        f"METRICS_LISTEN is 0.0.0.0:{port}, not loopback: /metrics and /readyz (which names "
        "the database's trouble) answer anyone who reaches this host; keep it behind a "
        "firewall, or listen on 127.0.0.1"
    ]


async def test_a_port_in_use_is_named_by_its_setting(settings: Settings, clock: FakeClock) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = settings.model_copy(update={"metrics_listen": f"127.0.0.1:{port}"})
        app = build_application(busy, clock=clock, delivery=False, feeds=False)
        async with running(app, polling=False):
            with pytest.raises(ConfigError) as raised:
                async with serving(app, busy, answers=True, delivery=False):
                    pytest.fail("served on a port in use")
    assert str(raised.value) == (
        f"METRICS_LISTEN: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def _made(path: Path, here: Here) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    assert here("db", "upgrade", env=base_environment(DATABASE_URL=url), cwd=path.parent)[0] == 0
    return url


def test_restore_refuses_a_file_from_a_newer_schema(tmp_path: Path, here: Here) -> None:
    url = _made(tmp_path / "bot.db", here)
    newer = tmp_path / "newer.db"
    _made(newer, here)
    with contextlib.closing(sqlite3.connect(newer)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    env = base_environment(DATABASE_URL=url)
    code, out, err = here("db", "restore", str(newer), env=env, cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(
        f"{newer} is from a newer newsbot (schema 0099, unknown to this one, which knows up to "
    ), err
    code, out, _ = here("healthcheck", env=env, cwd=tmp_path)
    assert out.splitlines()[0] == "ok database: answers, newest schema"


@pytest.mark.parametrize(
    "junk",
    [b"", b"not a database", b"SQLite format 3\x00" + b"\x00" * 200, b"\x00" * 4096],
)
def test_restore_refuses_what_is_not_a_newsbot_database(
    junk: bytes, tmp_path: Path, here: Here
) -> None:
    url = _made(tmp_path / "bot.db", here)
    source = tmp_path / "junk.db"
    source.write_bytes(junk)
    code, out, err = here(
        "db", "restore", str(source), env=base_environment(DATABASE_URL=url), cwd=tmp_path
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"{source} is not a"), err
    assert "Traceback" not in err
    assert source.read_bytes() == junk  # not even touched


def test_restore_is_refused_onto_a_running_bot_however_the_path_is_spelled(
    tmp_path: Path, here: Here
) -> None:
    (tmp_path / "srv").mkdir()
    database = tmp_path / "srv" / "bot.db"
    url = _made(database, here)
    copy = tmp_path / "copy.db"
    assert (
        here("db", "backup", str(copy), env=base_environment(DATABASE_URL=url), cwd=tmp_path)[0]
        == 0
    )
    (tmp_path / "current.db").symlink_to(database)
    running = f"sqlite+aiosqlite:///{tmp_path / 'current.db'}"  # the service file's name
    with running_lock(running):
        code, _, err = here(
            "db", "restore", str(copy), env=base_environment(DATABASE_URL=url), cwd=tmp_path
        )
    assert (code, err) == (
        1,
        f"{database} is in use by a running newsbot (run or worker): stop it first\n",
    )


def test_restore_of_the_database_onto_itself_is_refused(tmp_path: Path, here: Here) -> None:
    database = tmp_path / "bot.db"
    url = _made(database, here)
    code, _, err = here(
        "db", "restore", "bot.db", env=base_environment(DATABASE_URL=url), cwd=tmp_path
    )
    assert (code, err) == (1, f"bot.db is the database itself ({database}): nothing to restore\n")


def test_upgrade_of_a_newer_schema_says_so_and_copies_nothing(tmp_path: Path, here: Here) -> None:
    """The code rolled back after a newer newsbot migrated the database."""
    database = tmp_path / "bot.db"
    url = _made(database, here)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    code, out, err = here("db", "upgrade", env=base_environment(DATABASE_URL=url), cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith(
        "DATABASE_URL: the database schema is at 0099, newer than this newsbot, which knows up to "
    ), err
    assert list(tmp_path.glob("bot.db.*.bak")) == []


async def test_readyz_names_a_sqlite_file_replaced_under_the_running_bot(
    served: tuple[BotApplication, Served], ops_settings: Settings
) -> None:
    """A careless restore: `mv copy.db newsbot.db` while the bot runs."""
    url = ops_settings.database_url
    if not url.startswith("sqlite"):
        return  # PostgreSQL has no file to replace
    base = f"http://{ops_settings.metrics_listen}"
    database = Path(url.split("///", 1)[1])
    copy = database.with_name("copy.db")
    await asyncio.to_thread(shutil.copyfile, database, copy)
    await asyncio.to_thread(copy.replace, database)
    status, body = await _get(f"{base}/readyz")
    assert status == 503, body
    assert body.splitlines()[0] == (
        f"FAIL database: the SQLite file {database} was replaced while the bot runs; restart "
        "it (and restore with `newsbot db restore`, the bot stopped)"
    )
