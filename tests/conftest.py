"""Fixtures: a database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
the Bot API emulator on loopback, and the real Application polling it."""

from __future__ import annotations

import sys

# Write bytecode caches even where the environment says not to (PYTHONDONTWRITEBYTECODE,
# as on the CI machine): otherwise every xdist worker and every `python -m bot` a test
# starts compiles the project anew, and every worker rewrites the asserts of every test
# module anew (3.6 s of each worker's start). Reading caches was never turned off.
sys.dont_write_bytecode = False

import asyncio
import fcntl
import gc
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvloop
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient
from storage.db import create_engine, create_sessionmaker, upgrade
from tests.auxil import snapshot
from tests.auxil.cli import Here, newsbot_sync_here
from tests.auxil.clock import FakeClock
from tests.auxil.data import ADMIN_ID, SEEDS, STORY_FIGURES, USER_ID
from tests.auxil.feedserver import FeedServer
from tests.auxil.postgres import (
    SERVER_URL,
    SKIP_REASON,
    create_database,
    drop_database,
    empty_at_head,
    reset_schema,
)
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows

T = TypeVar("T")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not SERVER_URL, reason=SKIP_REASON)),
]


def _run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    # Session fixtures may first be asked for from inside a test's running event loop.
    with ThreadPoolExecutor(1) as aside:
        return aside.submit(uvloop.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The run's own PostgreSQL database (see tests/auxil/postgres.py)."""
    if not SERVER_URL:
        pytest.skip(SKIP_REASON)
    url = _run_aside(create_database(SERVER_URL))
    try:
        yield url
    finally:
        _run_aside(drop_database(SERVER_URL, url))


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    await reset_schema(url)
    return url


def _made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The file ``name`` in the directory this run's test processes share, made by
    ``make`` in whichever process asks first while the others wait for it."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's basetemp is a folder of the run's own
    path = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            partial = root / f"{name}.partial"
            make(partial)
            partial.rename(path)
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, migrated once per test run."""

    async def migrate(path: Path) -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    return _made_once(tmp_path_factory, "schema.db", lambda path: _run_aside(migrate(path)))


@pytest.fixture(params=BACKENDS)
async def schema_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema, with no rows: for every test but those of
    migrations and start-up, which take `db_url` (empty)."""
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    await empty_at_head(url)
    return url


@pytest.fixture
async def engine(schema_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(schema_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A news site on 127.0.0.1 (tests/auxil/feedserver.py)."""
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Here:
    """`newsbot ARGS` run in this process (tests/auxil/cli.py, `newsbot_sync_here`)."""

    def run(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
        return newsbot_sync_here(*args, env=env, cwd=cwd, monkeypatch=monkeypatch, capsys=capsys)

    return run


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def emu(emulator: Emulator) -> AsyncIterator[EmulatorClient]:
    client = EmulatorClient(emulator.url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(emulator: Emulator, schema_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=schema_url,
        telegram_bot_token=SecretStr(emulator.token),
        telegram_api_url=emulator.url,
        admin_ids=frozenset({ADMIN_ID}),
        rate_limit_per_chat_seconds=0,
        rate_limit_per_group_seconds=0,
        rate_limit_per_second=1000,
        paid_broadcast=True,
    )


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, clock=clock) as app:
        yield app


@pytest.fixture
def user(emu: EmulatorClient, app: BotApplication) -> Chat:
    return Chat(emu, USER_ID, "Ann")


@pytest.fixture
def admin(emu: EmulatorClient, app: BotApplication) -> Chat:
    return Chat(emu, ADMIN_ID, "Ada")


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read .env from the working directory; a developer's own must not leak in.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def seed_rows(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Rows:
    """Every table's rows after importing seeds/ at the fake clock's start: imported once
    per test run, into SQLite, and read by each test process (tests/auxil/snapshot.py)."""
    from bot.articles.importer import import_files

    async def load(path: Path) -> None:
        shutil.copyfile(sqlite_template, path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            report = await import_files(create_sessionmaker(engine), [SEEDS], clock=FakeClock())
            assert report.failed == 0
        finally:
            await engine.dispose()

    async def read(path: Path) -> Rows:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with create_sessionmaker(engine)() as session:
                return await snapshot.take(session)
        finally:
            await engine.dispose()

    seeded = _made_once(tmp_path_factory, "seeded.db", lambda path: _run_aside(load(path)))
    return _run_aside(read(seeded))


@pytest.fixture
async def seeded(app: BotApplication, seed_rows: Rows) -> BotApplication:
    """The running bot with seeds/ imported (added "now" by the fake clock): the rows the
    importer left in `seed_rows`, put into this test's database."""
    assert app.bot_data.clock() == FakeClock().now, "seeds are added at the clock's start"
    async with app.bot_data.sessions.begin() as session:
        await snapshot.put(session, seed_rows)
    return app


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test and its fixtures on uvloop's event loop, the one every newsbot
    process runs on (`uvloop.run` in its entry points)."""
    return {"uvloop": uvloop.new_event_loop}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's addopts): one worker more than cores. Many tests wait (on
    a subprocess, a paced send, the database), and the extra worker uses that time."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return (len(usable) if usable else os.cpu_count() or 1) + 1


# Modules whose tests run for seconds (real processes, many workers, faults over time).
# They start first, so that the other workers are not left idle waiting for one of them
# at the end of the run.
LONG_FIRST = (
    "test_workers_postgres.py",
    "test_budget_processes.py",
    "test_delivery_dbblip.py",
    "test_processes.py",
    "test_demo.py",
    "test_startup.py",
    "test_migrations.py",
    "test_delivery_hostile.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within each group is kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is alive once the tests are collected (the imported modules, the test items)
    lives for the whole run: frozen, the garbage collector no longer walks it. Each of
    a worker's ~15 full collections walked all of it, 2.3 s of CPU per worker in all.
    With the higher thresholds young objects are collected a third as often, and full
    collections (after 20 of the middle generation, not 10) about 5 in a run, not 15."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(2000, 20, 20)


# Story grouping's figures, which test_stories measures on every labelled set (and on all
# together) and hands over as the user property STORY_FIGURES: a line each.
_story_figures: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":  # every phase's report carries the test's properties
        return
    for name, lines in report.user_properties:
        if name == STORY_FIGURES and isinstance(lines, list):
            _story_figures.extend(str(line) for line in lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Story grouping's figures under the run's summary, as the test that asserts them
    found them (workers' prints do not reach this terminal)."""
    for line in _story_figures:
        terminalreporter.write_line(line)
