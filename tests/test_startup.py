"""Start-up and fatal failures as a person sees them: one line naming the setting, a
non-zero exit, and never the token, whatever goes wrong."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.telegram.app import TOKEN_MALFORMED, TOKEN_REJECTED, TOKEN_REVOKED
from emulator.client import Chat, EmulatorClient
from emulator.server import Emulator
from storage.db import alembic_config, create_engine, upgrade
from tests.auxil.cli import base_environment, newsbot_here, start_newsbot
from tests.auxil.data import SEEDS

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
    # A handled condition: python-telegram-bot's own InvalidToken traceback is not logged.
    assert "Traceback" not in err.decode()
    assert "InvalidToken" not in err.decode()


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


async def test_an_unreachable_api_is_retried_saying_why_then_named(
    tmp_path: Path, run: Here
) -> None:
    """Each retry says why from the first line on (it said only "does not answer", and
    why came a minute later); the database is not touched, not even by --import."""
    api = "http://127.0.0.1:9"  # discard: nothing listens on loopback
    env = environment(api, sqlite_url(tmp_path))
    code, out, err = await run("run", "--import", str(SEEDS), env=env, cwd=tmp_path)
    lines = err.splitlines()
    why = "cannot connect to 127.0.0.1:9: connection refused"
    assert code == 2
    assert lines[-1] == f"TELEGRAM_API_URL: cannot reach the Bot API at {api}: {why}"
    assert lines[0].endswith(
        f"WARNING bot.telegram.app: the Bot API at {api} does not answer ({why}); "
        "retrying in 0.25 s"
    )
    assert all("retrying in" in line for line in lines[:-1])
    assert TOKEN not in out + err
    assert not (tmp_path / "bot.db").exists()


def serving(status: int, content_type: str, body: bytes) -> Callable[[], Any]:
    """A server at a TELEGRAM_API_URL that is not the Bot API: every path answers this."""

    @asynccontextmanager
    async def server() -> AsyncIterator[str]:
        async def answer(request: web.Request) -> web.Response:
            return web.Response(status=status, body=body, content_type=content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()

    return server


PAGE = b"<!doctype html><html><body><h1>Not Found</h1></body></html>"


@pytest.mark.parametrize(
    ("status", "content_type", "body", "answer"),
    [
        (404, "text/html", PAGE, "404 Not Found (text/html)"),
        (200, "text/html", PAGE, "200 OK (text/html)"),
        (404, "application/json", b'{"error": "no route"}', "404 Not Found (application/json)"),
        (200, "application/json", b'{"id": 1}', 'JSON without the Bot API\'s "ok"'),
        (401, "text/plain", b"Unauthorized", "401 Unauthorized (text/plain)"),
    ],
)
async def test_a_server_that_is_not_the_bot_api_is_named_at_once(
    tmp_path: Path, run: Here, status: int, content_type: str, body: bytes, answer: str
) -> None:
    """Another HTTP server at TELEGRAM_API_URL (a web site, another API, the Bot API URL
    with a path): one line naming that setting, without a traceback and without blaming
    the token, and the database untouched. It printed a 12-line traceback at every retry,
    then "cannot reach the Bot API" or "TELEGRAM_BOT_TOKEN was rejected (404 Not Found)"."""
    async with serving(status, content_type, body)() as api:
        # A minute of retries allowed: the answer must come at once.
        env = {**environment(api, sqlite_url(tmp_path)), "TELEGRAM_START_RETRY_SECONDS": "60"}
        code, out, err = await run("run", "--import", str(SEEDS), env=env, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == (
        f"TELEGRAM_API_URL: {api} is not the Bot API: getMe got {answer}, not the Bot API's "
        "JSON; the setting is the server's root, e.g. https://api.telegram.org\n"
    )
    assert not (tmp_path / "bot.db").exists()


async def test_a_failing_proxy_in_front_of_the_bot_api_is_retried_saying_so(
    tmp_path: Path, run: Here
) -> None:
    """A 502 page may be a proxy before Telegram that recovers: retried, each time saying
    what answered, then named."""
    async with serving(502, "text/html", PAGE)() as api:
        code, _, err = await run("run", env=environment(api, sqlite_url(tmp_path)), cwd=tmp_path)
    lines = err.splitlines()
    assert code == 2
    why = "it answered 502 Bad Gateway (text/html)"
    assert lines[0].endswith(f"the Bot API at {api} does not answer ({why}); retrying in 0.25 s")
    assert lines[-1] == f"TELEGRAM_API_URL: cannot reach the Bot API at {api}: {why}"
    assert "Traceback" not in err


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
