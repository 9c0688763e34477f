"""Start-up and fatal failures as a person sees them: one line naming the setting, a
non-zero exit, and never the token, whatever goes wrong."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.app import TOKEN_MALFORMED, TOKEN_REJECTED, TOKEN_REVOKED
from emulator.client import Chat, EmulatorClient
from emulator.server import Emulator
from storage.db import alembic_config, create_engine, upgrade
from tests.auxil.cli import base_environment, newsbot_here, start_newsbot

TOKEN = "123456:TEST-TOKEN"


def environment(api: str, db_url: str, token: str = TOKEN, **extra: str) -> dict[str, str]:
    return base_environment(
        DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=api,
        TELEGRAM_START_RETRY_SECONDS="1",
        **extra,
    )


Here = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Here:
    """`newsbot` in this process: for the checks that end at start-up with one line."""

    async def newsbot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
        return await newsbot_here(*args, env=env, cwd=cwd, monkeypatch=monkeypatch, capsys=capsys)

    return newsbot


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def test_a_wrong_token_is_one_line_without_the_token(
    emulator: Emulator, tmp_path: Path, run: Here
) -> None:
    wrong = "987654:WRONG-TOKEN-SHOULD-NEVER-PRINT"
    code, out, err = await run(
        "run", env=environment(emulator.url, sqlite_url(tmp_path), wrong), cwd=tmp_path
    )
    assert (code, out, err) == (2, "", TOKEN_REJECTED + "\n")


@pytest.mark.parametrize("command", ["worker", "deliver"])
async def test_a_wrong_token_stops_worker_and_deliver(
    emulator: Emulator, tmp_path: Path, command: str, run: Here
) -> None:
    wrong = "987654:WRONG-TOKEN-SHOULD-NEVER-PRINT"
    code, out, err = await run(
        command, env=environment(emulator.url, sqlite_url(tmp_path), wrong), cwd=tmp_path
    )
    assert (code, out, err) == (2, "", TOKEN_REJECTED + "\n")


async def test_a_token_revoked_while_running_ends_the_process(
    emulator: Emulator, emu: EmulatorClient, tmp_path: Path
) -> None:
    process = await start_newsbot(
        "run",
        "--no-delivery",
        env=environment(emulator.url, sqlite_url(tmp_path), emulator.token),
        cwd=tmp_path,
    )
    user = Chat(emu, 1001)
    await user.client.send_text(1001, "/start")
    await user.read(timeout=30)
    # The parked long poll returns with the next update; the poll after it is refused.
    await emu.add_fault("getUpdates", 401, "Unauthorized", times=10)
    await user.client.send_text(1001, "/help")
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert err.decode().splitlines()[-1] == TOKEN_REVOKED
    assert emulator.token not in out.decode() + err.decode()


async def test_a_token_revoked_while_a_worker_runs_ends_it(
    emulator: Emulator, emu: EmulatorClient, tmp_path: Path, run: Here
) -> None:
    env = environment(emulator.url, sqlite_url(tmp_path), emulator.token)
    assert (await run("db", "upgrade", env=env, cwd=tmp_path))[0] == 0
    process = await start_newsbot(
        "worker", env={**env, "DELIVERY_INTERVAL_SECONDS": "0.2"}, cwd=tmp_path
    )
    assert process.stderr is not None
    line = b"-"
    while line and b"started as" not in line:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
    assert line, "the worker ended before it started"
    await emu.add_fault("getMe", 401, "Unauthorized", times=10)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert err.decode().splitlines()[-1] == TOKEN_REVOKED
    assert emulator.token not in out.decode() + err.decode()


async def test_an_unreachable_api_is_retried_then_named(tmp_path: Path, run: Here) -> None:
    api = "http://127.0.0.1:9"  # discard: nothing listens on loopback
    code, out, err = await run("run", env=environment(api, sqlite_url(tmp_path)), cwd=tmp_path)
    lines = err.splitlines()
    assert code == 2
    assert lines[-1] == f"TELEGRAM_API_URL: cannot reach the Bot API at {api}"
    assert "does not answer; retrying" in lines[0]
    assert TOKEN not in out + err


@pytest.fixture
async def redirect_loop() -> AsyncIterator[str]:
    async def again(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(request.rel_url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", again)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def not_found() -> AsyncIterator[str]:
    """What api.telegram.org answers to a malformed token."""

    async def answer(request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": 404, "description": "Not Found"}
        return web.json_response(body, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_malformed_token_is_one_line(not_found: str, tmp_path: Path, run: Here) -> None:
    code, out, err = await run(
        "run", env=environment(not_found, sqlite_url(tmp_path)), cwd=tmp_path
    )
    assert (code, out, err) == (2, "", TOKEN_MALFORMED + "\n")


async def test_a_redirect_loop_is_named_without_the_token(
    redirect_loop: str, tmp_path: Path, run: Here
) -> None:
    code, out, err = await run(
        "run", env=environment(redirect_loop, sqlite_url(tmp_path)), cwd=tmp_path
    )
    assert (code, out, err) == (2, "", f"TELEGRAM_API_URL: {redirect_loop} redirects in a loop\n")


async def test_a_closed_database_port_is_one_line(
    emulator: Emulator, tmp_path: Path, run: Here
) -> None:
    url = "postgresql+asyncpg://newsbot:pw-never-printed@127.0.0.1:1/newsbot"
    code, out, err = await run(
        "run", env=environment(emulator.url, url, emulator.token), cwd=tmp_path
    )
    assert (code, out, err) == (
        2,
        "",
        "DATABASE_URL: cannot connect to 127.0.0.1:1: connection refused\n",
    )


async def test_a_missing_sqlite_directory_is_one_line(
    emulator: Emulator, tmp_path: Path, run: Here
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/nowhere/bot.db"
    code, out, err = await run(
        "run", env=environment(emulator.url, url, emulator.token), cwd=tmp_path
    )
    assert (code, out, err) == (
        2,
        "",
        f"DATABASE_URL: cannot open {tmp_path}/nowhere/bot.db: no directory {tmp_path}/nowhere\n",
    )


async def test_a_missing_postgres_database_is_one_line(
    emulator: Emulator, postgres_url: str, tmp_path: Path, run: Here
) -> None:
    name = f"newsbot_surely_missing_{secrets.token_hex(6)}"
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    code, out, err = await run(
        "run", env=environment(emulator.url, url, emulator.token), cwd=tmp_path
    )
    assert (code, out) == (2, "")
    assert err.startswith("DATABASE_URL: cannot connect to ")
    assert err.endswith(f'database "{name}" does not exist\n')
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", ["worker", "deliver"])
async def test_worker_and_deliver_refuse_an_older_schema(
    emulator: Emulator, db_url: str, tmp_path: Path, command: str, run: Here
) -> None:
    engine = create_engine(db_url)
    await upgrade(engine, "0001")
    await engine.dispose()
    code, out, err = await run(
        command, env=environment(emulator.url, db_url, emulator.token), cwd=tmp_path
    )
    assert (code, out) == (2, "")
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert err == (
        f"DATABASE_URL: the database schema is at 0001, this newsbot needs {head}; "
        "run `newsbot db upgrade` (or start `newsbot run`) first\n"
    )
