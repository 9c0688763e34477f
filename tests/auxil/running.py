from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.telegram.app import build_application, running
from bot.telegram.context import BotApplication, Clock
from bot.telegram.send import RetryPolicy


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
