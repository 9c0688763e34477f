"""What runs beside the bot in `newsbot run` and `newsbot worker`: the HTTP server
(webhook, health, metrics), setWebhook in webhook mode, the getMe probe (readiness, and
the end of the process when the token is revoked), the metrics' database gauges, alerts
to admins and systemd's notifications. `serving` starts them once the bot has started
and stops them before it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.ops import metrics
from bot.ops.alerts import Alerts
from bot.ops.backup import running_lock
from bot.ops.health import PROBE_EVERY, BotApiProbe, Readiness
from bot.ops.notify import Notifier
from bot.ops.settings import Listen, is_loopback, parse_listen, webhook_path
from bot.ops.web import OpsServer
from bot.ops.webhook import WebhookReceiver, set_webhook

if TYPE_CHECKING:
    from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

GAUGES_EVERY = 15.0  # seconds between two counts of the outbox and the due subscribers


@dataclass
class Served:
    """What `serving` started, for the start-up line and the process's end."""

    updates: str  # how updates arrive, in words
    endpoints: str  # the HTTP endpoints, in words
    revoked: asyncio.Task[None]  # ends when the Bot API rejects the token
    server: OpsServer
    receiver: WebhookReceiver | None = None
    alerts: Alerts | None = None  # None when they are off
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.updates}; {self.endpoints}"


def _listen(settings: Settings, name: str) -> Listen | None:
    value = getattr(settings, name)
    return parse_listen(value) if value else None


async def _gauges(app: BotApplication) -> None:
    from storage import health

    state = app.bot_data
    while True:
        try:
            async with state.sessions() as session:
                pending = await health.pending_digests(session)
                due = await health.due_subscribers(session, state.clock())
            metrics.outbox(pending, due)
        except Exception as error:  # the database is down: readiness and alerts say so
            logger.debug("metrics: could not count the outbox: %s", error)
        await asyncio.sleep(GAUGES_EVERY)


@asynccontextmanager
async def serving(
    app: BotApplication, settings: Settings, *, answers: bool, delivery: bool
) -> AsyncIterator[Served]:
    """Start everything beside the bot (which has started: the database is open and the
    Bot API answered); stop it all on the way out. In webhook mode the webhook stays set
    at stop, so that Telegram keeps the updates for the next start."""
    from bot.telegram.app import ALLOWED_UPDATES

    webhook = answers and bool(settings.webhook_url)
    probe = BotApiProbe(app.bot, min(PROBE_EVERY, settings.delivery_interval_seconds))
    state = app.bot_data
    readiness = Readiness(
        lambda: state.engine,
        probe,
        (lambda: state.deliverer) if delivery else None,
        settings.delivery_interval_seconds,
    )
    hook = _listen(settings, "webhook_listen") if webhook else None
    scrape = _listen(settings, "metrics_listen")
    receiver = WebhookReceiver(app, settings.webhook_secret.get_secret_value())
    path = webhook_path(settings.webhook_url)
    listens = {hook: "WEBHOOK_LISTEN"} if hook is not None else {}
    if scrape is not None:
        listens.setdefault(scrape, "METRICS_LISTEN")
    server = OpsServer(
        readiness,
        listens,
        webhook=(path, receiver) if webhook else None,
        metrics_served=scrape is not None,
    )
    bound = await server.start() if listens else {}
    if scrape is not None and not is_loopback(scrape.host):
        logger.warning(
            "METRICS_LISTEN is %s, not loopback: /metrics and /readyz (which names the "
            "database's trouble) answer anyone who reaches this host; keep it behind a "
            "firewall, or listen on 127.0.0.1",
            scrape,
        )
    tasks: list[asyncio.Task[Any]] = []
    notifier = Notifier()
    stack = contextlib.ExitStack()

    def spawn(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=f"ops:{name}")
        tasks.append(task)
        return task

    try:
        # A restore refuses while this is held (SQLite; bot.ops.backup).
        stack.enter_context(running_lock(settings.database_url))
        if webhook:
            await set_webhook(app, settings, ALLOWED_UPDATES)
        revoked = spawn(probe.run(), "probe")
        if scrape is not None:
            spawn(_gauges(app), "gauges")
        alerts = Alerts.for_settings(app, settings, readiness, delivery=delivery)
        if alerts is not None:
            spawn(alerts.run(), "alerts")
        spawn(notifier.keep_alive(), "watchdog")
        served = Served(
            _updates(settings, answers=answers, webhook=webhook, bound=bound, hook=hook),
            _endpoints(bound, scrape=scrape, hook=hook if webhook else None),
            revoked,
            server,
            receiver if webhook else None,
            alerts,
            tasks,
        )
        notifier.ready(served.describe())
        yield served
    finally:
        notifier.stopping()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.stop()
        stack.close()


def _updates(
    settings: Settings,
    *,
    answers: bool,
    webhook: bool,
    bound: dict[Listen, Listen],
    hook: Listen | None,
) -> str:
    if not answers:
        return "no updates (a worker)"
    if not webhook or hook is None:
        return "updates by long polling"
    return (
        f"updates by webhook at {settings.webhook_url} "
        f"(served on {bound[hook].url}{webhook_path(settings.webhook_url)})"
    )


def _endpoints(bound: dict[Listen, Listen], *, scrape: Listen | None, hook: Listen | None) -> str:
    if not bound:
        return "no HTTP endpoints (METRICS_LISTEN is off)"
    parts = []
    for asked, at in bound.items():
        names = ["/healthz", "/readyz"] + (["/metrics"] if asked == scrape else [])
        parts.append(f"{', '.join(names)} on {at.url}")
    return "; ".join(parts)
