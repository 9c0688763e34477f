"""Alerts to admins, end to end: a worker (`serving` beside the real Application) looks at
what it did against the emulator and a real database, and tells the admins' chats. The
fake clock moves the hours; each test calls the worker's `look` where its loop would."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.ops.alerts import Alerts, Finding
from bot.ops.health import BotApiProbe, Readiness
from bot.ops.service import serving
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient
from storage.db import create_engine, upgrade
from storage.models import Feed
from tests.auxil import snapshot
from tests.auxil.clock import FakeClock
from tests.auxil.data import ADMIN_ID
from tests.auxil.delivery import add_due_subscribers
from tests.auxil.postgres import SERVER_URL, SKIP_REASON, create_database, drop_database
from tests.auxil.running import running_bot
from tests.auxil.snapshot import Rows

DATABASE_SECONDS = 10.0
TAG = "technology"  # the seeds have articles under it


async def told(admin: Chat) -> list[str]:
    """What the bot sent the admin since the last call (an alert is sent before `look`
    returns, so nothing is still on its way)."""
    return [message.text for message in await admin.read(count=0, timeout=0)]


def _tuned(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(
        update={
            "alert_failed_percent": 50.0,
            "alert_429_per_hour": 1,
            "alert_database_seconds": DATABASE_SECONDS,
            "paid_broadcast": False,  # Telegram's free limits, and their 429s
            **more,
        }
    )


@asynccontextmanager
async def worker(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[BotApplication, Alerts]]:
    """A `newsbot worker` (it delivers, it answers no updates) and its alerts."""
    async with (
        running_bot(settings, clock=clock, handlers=False, polling=False) as app,
        serving(app, settings, answers=False, delivery=True) as served,
    ):
        assert served.alerts is not None
        yield app, served.alerts


@pytest.fixture
def admin_chat(emu: EmulatorClient) -> Chat:
    return Chat(emu, ADMIN_ID, "Ada")


async def test_failed_digests_alert_once_resolve_and_alert_again_after_an_hour(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    admin_chat: Chat,
) -> None:
    async with worker(_tuned(settings), clock) as (app, alerts):
        async with app.bot_data.sessions.begin() as session:
            await snapshot.put(session, seed_rows)
        chats = iter(range(7000, 8000))

        async def deliver(ok: int, failing: int) -> None:
            """A pass to ``ok + failing`` new subscribers, Telegram refusing ``failing``."""
            taken = [next(chats) for _ in range(ok + failing)]
            for chat in taken[ok:]:
                await emu.add_fault(
                    "sendMessage", 400, "Bad Request: can't parse entities", chat_id=chat, times=5
                )
            await add_due_subscribers(
                app.bot_data.sessions, clock, range(taken[0], taken[-1] + 1), TAG
            )
            report = await app.bot_data.deliverer.run_pass()
            assert report.sent == ok, report

        await alerts.look()
        assert await told(admin_chat) == []
        await deliver(ok=1, failing=3)
        await alerts.look()
        assert await told(admin_chat) == [
            "⚠️ The last delivery passes failed 3 of 4 digests (75%, the alert is at 50%)."
        ]
        clock.advance(minutes=1)
        await alerts.look()  # no pass since: the cause holds, and is not told again
        await deliver(ok=0, failing=2)
        await alerts.look()
        assert await told(admin_chat) == []
        await emu.clear_faults()
        await deliver(ok=3, failing=1)
        await alerts.look()
        assert await told(admin_chat) == [
            "✅ Resolved: delivery passes fail under 50% of digests again."
        ]
        clock.advance(minutes=10)
        await deliver(ok=0, failing=1)
        await alerts.look()
        assert await told(admin_chat) == [], "within the hour of the first alert"
        clock.advance(hours=1)
        await deliver(ok=2, failing=0)
        await alerts.look()  # resolved again, silently: its alert was not sent
        await deliver(ok=0, failing=2)
        await alerts.look()
        assert await told(admin_chat) == [
            "⚠️ The last delivery passes failed 2 of 2 digests (100%, the alert is at 50%)."
        ]


async def test_429s_beyond_the_threshold_alert_once_then_resolve_an_hour_later(
    settings: Settings,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
    admin_chat: Chat,
) -> None:
    async with worker(_tuned(settings, alert_429_per_hour=2), clock) as (app, alerts):
        async with app.bot_data.sessions.begin() as session:
            await snapshot.put(session, seed_rows)
        await add_due_subscribers(app.bot_data.sessions, clock, range(6000, 6008), TAG)
        # Telegram refuses the first messages of the pass with 429 (sent at once, they
        # share one pause of a second), more than the alert allows.
        refused = 3
        await emu.add_fault(
            "sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=refused
        )
        report = await app.bot_data.deliverer.run_pass()
        assert report.sent == 8
        assert (await emu.stats()).get("fault_429") == refused
        await alerts.look()
        assert await told(admin_chat) == [
            f"⚠️ Telegram refused {refused} messages with 429 Too Many Requests in the last "
            "hour (the alert is at 2)."
        ]
        clock.advance(minutes=30)
        await alerts.look()
        assert await told(admin_chat) == []
        clock.advance(minutes=31)  # the refusals are over an hour old
        await alerts.look()
        assert await told(admin_chat) == [
            "✅ Resolved: 429 Too Many Requests are under 2 an hour again."
        ]


# ------------------------------------------------------------- a database that goes away


Switch = Callable[[], Awaitable[None]]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not SERVER_URL, reason=SKIP_REASON)),
    ]
)
async def vanishing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, Switch, Switch]]:
    """A database of the test's own at the newest schema, and how to make it go away and
    come back: a SQLite file moved aside (a directory where it was), or a PostgreSQL
    database renamed after its connections are terminated."""
    if request.param == "sqlite":
        path = tmp_path / "own.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = await create_database(SERVER_URL)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    if request.param == "sqlite":
        aside = tmp_path / "aside"
        aside.mkdir()

        async def move_aside() -> None:
            for file in list(tmp_path.glob("own.db*")):  # noqa: ASYNC240 (a local directory)
                shutil.move(file, aside / file.name)
            path.mkdir()

        async def move_back() -> None:
            path.rmdir()
            for file in aside.iterdir():
                shutil.move(file, tmp_path / file.name)

        yield url, move_aside, move_back
        return
    name = make_url(url).database
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")

    async def rename(old: str, new: str) -> None:
        async with server.connect() as connection:
            for _ in range(20):  # a connection may come back between the two statements
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                    ),
                    {"d": old},
                )
                try:
                    await connection.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))
                    return
                except Exception as error:  # asyncpg's ObjectInUse, as SQLAlchemy wraps it
                    last = error
            raise last

    gone = False

    async def away() -> None:
        nonlocal gone
        await rename(f"{name}", f"{name}_away")
        gone = True

    async def back() -> None:
        nonlocal gone
        await rename(f"{name}_away", f"{name}")
        gone = False

    try:
        yield url, away, back
    finally:
        if gone:
            await back()
        await server.dispose()
        await drop_database(SERVER_URL, url)


async def test_a_database_out_of_reach_for_longer_than_the_setting_alerts_once_an_hour(
    emulator: Emulator,
    clock: FakeClock,
    admin_chat: Chat,
    vanishing: tuple[str, Switch, Switch],
) -> None:
    url, away, back = vanishing
    own = Settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=SecretStr(emulator.token),
        telegram_api_url=emulator.url,
        admin_ids=frozenset({ADMIN_ID}),
        alert_database_seconds=DATABASE_SECONDS,
    )
    async with worker(own, clock) as (app, alerts):
        await alerts.look()
        assert await told(admin_chat) == []
        await away()
        await app.bot_data.engine.dispose()  # SQLite: its pooled connection had the file open
        await alerts.look()  # down from now
        clock.advance(seconds=DATABASE_SECONDS - 1)
        await alerts.look()
        assert await told(admin_chat) == []
        clock.advance(seconds=2)
        await alerts.look()
        [alert] = await told(admin_chat)
        assert alert.startswith(
            "⚠️ The bot cannot reach its database for 11 s: does not answer: "
        ), alert
        clock.advance(minutes=5)
        await alerts.look()
        assert await told(admin_chat) == []
        await back()
        await alerts.look()
        assert await told(admin_chat) == ["✅ Resolved: the database answers again."]
        await away()
        await app.bot_data.engine.dispose()
        await alerts.look()
        clock.advance(minutes=1)
        await alerts.look()
        assert await told(admin_chat) == [], "within the hour of the first alert"
        clock.advance(hours=1)
        await alerts.look()
        [again] = await told(admin_chat)
        assert again.startswith("⚠️ The bot cannot reach its database for 3660 s"), again
        await back()


# ------------------------------------------------------------- a broken feed; the hour


def _alerts(app: BotApplication, settings: Settings) -> Alerts:
    readiness = Readiness(lambda: app.bot_data.engine, BotApiProbe(app.bot, 60), None, interval=30)
    alerts = Alerts.for_settings(app, settings, readiness, delivery=True)
    assert alerts is not None
    return alerts


async def test_a_broken_feed_is_told_once_then_resolved(
    app: BotApplication, settings: Settings, admin: Chat, clock: FakeClock
) -> None:
    alerts = _alerts(app, settings)
    async with app.bot_data.sessions.begin() as session:
        session.add(
            Feed(
                url="https://wire.example/feed.xml",
                title="Kyiv Wire",
                tags=[],
                next_poll_at=clock(),
                failures=9,
                failing_since=clock() - timedelta(days=8),
                error="HTTP 503",
                created_at=clock() - timedelta(days=30),
            )
        )
    await alerts.look()
    [alert] = await admin.read()
    assert alert.text == (
        "⚠️ Feed #1 (Kyiv Wire) is broken: it has failed every poll for 7 days. "
        "Last error: HTTP 503"
    )
    clock.advance(minutes=1)
    await alerts.look()  # still broken: nothing more
    async with app.bot_data.sessions.begin() as session:
        await session.execute(update(Feed).values(failures=0, failing_since=None, error=None))
    await alerts.look()
    [resolved] = await admin.read()
    assert resolved.text == "✅ Resolved: feed #1 (Kyiv Wire) works again, or was removed."


async def test_a_cause_is_sent_at_most_once_an_hour(
    app: BotApplication, settings: Settings, admin: Chat, clock: FakeClock
) -> None:
    alerts = _alerts(app, settings)
    told_: list[str] = []

    async def send(text: str) -> None:
        told_.append(text)

    alerts.send = send  # type: ignore[method-assign]
    start = clock()
    on, off = Finding("x", True, "on", "off"), Finding("x", False, "on", "off")
    for finding, at in ((on, 0), (off, 60), (on, 120), (off, 180), (on, 3601)):
        clock.set(start + timedelta(seconds=at))
        await alerts.apply(finding)
    assert told_ == ["on", "off", "on"]


def test_alerts_go_to_admins_or_alert_chat_id_or_nowhere(
    app: BotApplication, settings: Settings
) -> None:
    assert _alerts(app, settings).targets == sorted(settings.admin_ids)
    chat = settings.model_copy(update={"alert_chat_id": "-1001"})
    assert _alerts(app, chat).targets == [-1001]
    off = settings.model_copy(update={"alert_chat_id": ""})
    readiness = Readiness(lambda: app.bot_data.engine, BotApiProbe(app.bot, 60), None, 30)
    assert Alerts.for_settings(app, off, readiness, delivery=False) is None
