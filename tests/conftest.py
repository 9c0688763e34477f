"""Fixtures: a database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
the Bot API emulator on loopback, and the real Application polling it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.context import BotApplication
from bot.emulator.client import Chat, EmulatorClient
from bot.emulator.server import Emulator
from storage.db import create_engine, create_sessionmaker, upgrade
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ADMIN_ID = 9001
USER_ID = 1001

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url = os.environ["TEST_DATABASE_URL"]
    await reset_postgres(url)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


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
def settings(emulator: Emulator, db_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.url,
        admin_ids=frozenset({ADMIN_ID}),
        rate_limit_per_chat_seconds=0,
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


@pytest.fixture
async def seeded(app: BotApplication) -> BotApplication:
    """The running bot with seeds/ imported (added "now" by the fake clock)."""
    from bot.importer import import_files

    report = await import_files(app.bot_data.sessions, [SEEDS], clock=app.bot_data.clock)
    assert report.failed == 0
    return app
