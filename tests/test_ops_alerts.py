"""Alerts to admins: a broken feed, then its "resolved" line; at most once an hour."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.config import Settings
from bot.ops.alerts import Alerts, Finding
from bot.ops.health import BotApiProbe, Readiness
from bot.telegram.context import BotApplication
from emulator import Chat
from storage.models import Feed
from tests.auxil.clock import FakeClock


def _alerts(app: BotApplication, settings: Settings, now: list[float]) -> Alerts:
    readiness = Readiness(lambda: app.bot_data.engine, BotApiProbe(app.bot, 60), None, interval=30)
    alerts = Alerts.for_settings(app, settings, readiness, delivery=True)
    assert alerts is not None
    alerts.clock = lambda: now[0]
    return alerts


async def test_a_broken_feed_is_told_once_then_resolved(
    app: BotApplication, settings: Settings, admin: Chat, clock: FakeClock
) -> None:
    now = [1000.0]
    alerts = _alerts(app, settings, now)
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
    now[0] += 60
    await alerts.look()  # still broken: nothing more
    async with app.bot_data.sessions.begin() as session:
        await session.execute(update(Feed).values(failures=0, failing_since=None, error=None))
    await alerts.look()
    [resolved] = await admin.read()
    assert resolved.text == "✅ Resolved: feed #1 (Kyiv Wire) works again, or was removed."


async def test_a_cause_is_sent_at_most_once_an_hour(
    app: BotApplication, settings: Settings, admin: Chat
) -> None:
    now = [0.0]
    alerts = _alerts(app, settings, now)
    told: list[str] = []

    async def send(text: str) -> None:
        told.append(text)

    alerts.send = send  # type: ignore[method-assign]
    on, off = Finding("x", True, "on", "off"), Finding("x", False, "on", "off")
    for finding, at in ((on, 0), (off, 60), (on, 120), (off, 180), (on, 3601)):
        now[0] = at
        await alerts.apply(finding)
    assert told == ["on", "off", "on"]


def test_alerts_go_to_admins_or_alert_chat_id_or_nowhere(
    app: BotApplication, settings: Settings
) -> None:
    now = [0.0]
    assert _alerts(app, settings, now).targets == sorted(settings.admin_ids)
    chat = settings.model_copy(update={"alert_chat_id": "-1001"})
    assert _alerts(app, chat, now).targets == [-1001]
    off = settings.model_copy(update={"alert_chat_id": ""})
    readiness = Readiness(lambda: app.bot_data.engine, BotApiProbe(app.bot, 60), None, 30)
    assert Alerts.for_settings(app, off, readiness, delivery=False) is None
