"""Fixtures: a database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
the Bot API emulator on loopback, and the real Application polling it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.stories import combined, labelled_sets, quality, read_set
from bot.config import Settings
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient
from storage.db import create_engine, create_sessionmaker, upgrade
from tests.auxil import snapshot
from tests.auxil.cli import Here, newsbot_sync_here
from tests.auxil.clock import FakeClock
from tests.auxil.data import ADMIN_ID, SEEDS, USER_ID
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
        return aside.submit(asyncio.run, coroutine).result()


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, migrated once per test process."""
    path = tmp_path_factory.mktemp("template") / "schema.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    _run_aside(migrate())
    return path


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
        _env_file=None,  # type: ignore[call-arg]
        database_url=schema_url,
        telegram_bot_token=SecretStr(emulator.token),
        telegram_api_url=emulator.url,
        admin_ids=frozenset({ADMIN_ID}),
        rate_limit_per_chat_seconds=0,
        rate_limit_per_group_seconds=0,
        rate_limit_per_second=1000,
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


@pytest.fixture
def seed_text() -> str:
    return (SEEDS / "000_6477664cfccc58b9.txt").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read .env from the working directory; a developer's own must not leak in.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def seed_rows(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Rows:
    """Every table's rows after importing seeds/ at the fake clock's start: imported once
    per test process, into SQLite (tests/auxil/snapshot.py)."""
    from bot.articles.importer import import_files

    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    shutil.copyfile(sqlite_template, path)

    async def load() -> Rows:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            sessions = create_sessionmaker(engine)
            report = await import_files(sessions, [SEEDS], clock=FakeClock())
            assert report.failed == 0
            async with sessions() as session:
                return await snapshot.take(session)
        finally:
            await engine.dispose()

    return _run_aside(load())


@pytest.fixture
async def seeded(app: BotApplication, seed_rows: Rows) -> BotApplication:
    """The running bot with seeds/ imported (added "now" by the fake clock): the rows the
    importer left in `seed_rows`, put into this test's database."""
    assert app.bot_data.clock() == FakeClock().now, "seeds are added at the clock's start"
    async with app.bot_data.sessions.begin() as session:
        await snapshot.put(session, seed_rows)
    return app


# Modules whose tests run for seconds (real processes, many workers, faults over time).
# They start first, so that the other workers are not left idle waiting for one of them
# at the end of the run.
LONG_FIRST = (
    "test_workers_postgres.py",
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Story grouping's figures on every labelled set and on all of them together, under
    every run's summary (the tests assert them; workers' prints do not reach this
    terminal)."""
    found = []
    for path in labelled_sets():
        one = quality(read_set(path))
        found.append(one)
        terminalreporter.write_line(
            f"stories ({path.name}, {one.pairs} labelled pairs): "
            f"precision {one.precision:.3f}, recall {one.recall:.3f}"
        )
    if found:
        every = combined(found)
        terminalreporter.write_line(
            f"stories (all {len(found)} sets, {every.pairs} labelled pairs): "
            f"precision {every.precision:.3f}, recall {every.recall:.3f}"
        )
