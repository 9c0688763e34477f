from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.feeds.fetch import Fetcher
from bot.feeds.service import FeedService
from bot.ops.service import Served, serving
from bot.telegram.app import build_application, running
from bot.telegram.context import BotApplication, Clock
from bot.telegram.send import RetryPolicy
from tests.auxil.clock import FakeClock


@asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    clock: Clock,
    handlers: bool = True,
    polling: bool = True,
    delivery: bool = False,
    feeds: bool = False,
    retry_policy: RetryPolicy | None = None,
) -> AsyncIterator[BotApplication]:
    """The real Application long-polling the emulator. Without ``delivery`` (``feeds``)
    there is no delivery (feed polling) job: tests run passes themselves, at the (fake)
    times they choose."""
    app = build_application(
        settings,
        clock=clock,
        handlers=handlers,
        delivery=delivery,
        feeds=feeds,
        retry_policy=retry_policy or RetryPolicy(attempts=3, backoff=0.05),
    )
    async with running(app, polling=polling, poll_timeout=1):
        yield app


def free_port() -> int:
    """A loopback port nothing listens on now (the webhook's URL must name it before the
    bot binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def webhook_settings(settings: Settings, port: int, path: str = "/telegram") -> Settings:
    """``settings`` for webhook mode on loopback ``port`` (the emulator posts there)."""
    return settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}{path}",
            "webhook_listen": f"127.0.0.1:{port}",
            "webhook_secret": SecretStr("test-secret_0123456789"),
        }
    )


@asynccontextmanager
async def webhook_bot(
    settings: Settings, *, clock: Clock, delivery: bool = False
) -> AsyncIterator[tuple[BotApplication, Served]]:
    """The real Application in webhook mode (``settings`` from `webhook_settings`): the
    emulator posts updates to it, as `newsbot run` with WEBHOOK_URL set."""
    app = build_application(
        settings,
        clock=clock,
        delivery=delivery,
        feeds=False,
        retry_policy=RetryPolicy(attempts=3, backoff=0.05),
    )
    async with (
        running(app, polling=False),
        serving(app, settings, answers=True, delivery=delivery) as served,
    ):
        yield app, served


@asynccontextmanager
async def served_app(
    settings: Settings, clock: FakeClock, *, delivery: bool
) -> AsyncIterator[tuple[BotApplication, Served]]:
    """The bot polling the emulator with its HTTP server (health, readiness, metrics) on
    ``settings.metrics_listen``; ``delivery``: readiness counts the delivery tick."""
    app = build_application(settings, clock=clock, delivery=False, feeds=False)
    async with (
        running(app, polling=True, poll_timeout=1),
        serving(app, settings, answers=True, delivery=delivery) as served,
    ):
        yield app, served


@asynccontextmanager
async def feed_service(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, *, timeout: float
) -> AsyncIterator[FeedService]:
    """A FeedService on the tests' local news sites (loopback allowed)."""
    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(""),
        feed_allow_private=True,
        feed_timeout_seconds=timeout,
    )
    service = FeedService(
        sessions, Fetcher(FeedService.limits(settings.feeds)), settings.feeds, clock=clock
    )
    try:
        yield service
    finally:
        await service.close()
