"""Liveness and readiness.

``/healthz`` answers when the process and its event loop do. ``/readyz`` runs the checks
below and answers 200, or 503 naming each failing check:

- ``database``: it answers a query and is at the newest migration;
- ``bot_api``: the Bot API answered getMe within the last few minutes (a probe asks
  every minute, or every delivery interval if shorter);
- ``delivery`` (processes that deliver): a delivery pass is running, or one ended within
  two delivery intervals (the first is allowed two intervals from start).

`newsbot healthcheck` runs the same checks from the command line (bot.ops.commands).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.error import InvalidToken, TelegramError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from telegram import Bot

    from bot.delivery.deliverer import Deliverer

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0  # seconds a check may take before it counts as failed
PROBE_EVERY = 60.0
STALE_PROBES = 3  # getMe answers older than this many probe intervals are too old


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _sqlite_file(engine: AsyncEngine) -> str | None:
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    return database


def _sqlite_file_gone(engine: AsyncEngine) -> str | None:
    """The engine's SQLite file when it is no longer there. A connection kept open reads
    and writes a deleted file as if nothing happened, and all it writes is lost."""
    database = _sqlite_file(engine)
    return None if database is None or os.path.exists(database) else database


def sqlite_inode(engine: AsyncEngine) -> int | None:
    """Which file the engine's SQLite database is now (None for PostgreSQL)."""
    database = _sqlite_file(engine)
    try:
        return None if database is None else os.stat(database).st_ino
    except OSError:
        return None


async def check_database(engine: AsyncEngine) -> Check:
    """The database answers and its schema is the newest."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import SchemaOutdated, require_current_schema

    gone = _sqlite_file_gone(engine)
    if gone is not None:
        return Check("database", False, f"the SQLite file {gone} is gone")
    try:
        await asyncio.wait_for(require_current_schema(engine), CHECK_TIMEOUT)
    except SchemaOutdated as error:
        return Check("database", False, str(error))
    except TimeoutError:
        return Check("database", False, f"no answer within {CHECK_TIMEOUT:g} s")
    except (OSError, SQLAlchemyError) as error:
        cause = getattr(error, "orig", None) or error
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        return Check("database", False, f"does not answer: {reason}")
    return Check("database", True, "answers, newest schema")


class BotApiProbe:
    """Asks getMe every ``every`` seconds and remembers the last answer. `run` returns
    when the Bot API rejects the token (revoked while running), which ends the process."""

    def __init__(
        self, bot: Bot, every: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bot = bot
        self.every = every
        self.clock = clock
        self.last_ok: float | None = clock()  # start-up's getMe has just answered
        self.last_error = ""

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.bot.get_me()
            except InvalidToken:
                return
            except TelegramError as error:
                self.last_error = str(error)
                logger.debug("getMe probe: %s", error)
            else:
                self.last_ok = self.clock()

    def check(self) -> Check:
        limit = max(STALE_PROBES * self.every, 30.0)
        if self.last_ok is None or self.clock() - self.last_ok > limit:
            why = f": {self.last_error}" if self.last_error else ""
            return Check("bot_api", False, f"no getMe answer for over {limit:g} s{why}")
        return Check("bot_api", True, f"getMe answered {self.clock() - self.last_ok:.0f} s ago")


def check_delivery(
    deliverer: Deliverer, interval: float, started: float, now: float | None = None
) -> Check:
    """A pass is running, or one ended within two intervals (of ``started``, the
    process's start, before the first)."""
    now = time.monotonic() if now is None else now
    if deliverer.pass_started is not None:
        return Check("delivery", True, f"a pass is running ({now - deliverer.pass_started:.0f} s)")
    last = deliverer.last_pass_ended
    since = now - (started if last is None else last)
    if since > 2 * interval:
        what = "no delivery pass since start" if last is None else "the last pass ended"
        return Check("delivery", False, f"{what} {since:.0f} s ago (interval {interval:g} s)")
    return Check("delivery", True, f"last pass {since:.0f} s ago")


@dataclass
class Readiness:
    """The checks of one running process."""

    engine: Callable[[], AsyncEngine]
    probe: BotApiProbe
    deliverer: Callable[[], Deliverer] | None
    interval: float
    started: float = field(init=False, default_factory=time.monotonic)
    inode: int | None = field(init=False)  # the file the process opened

    def __post_init__(self) -> None:
        self.inode = sqlite_inode(self.engine())

    async def checks(self) -> list[Check]:
        engine = self.engine()
        now = sqlite_inode(engine)
        if now is not None and self.inode is not None and now != self.inode:
            # Moved or copied over while running: the open connections still write to the
            # file that was there. Only `newsbot db restore`, with the bot stopped, is safe.
            replaced = Check(
                "database",
                False,
                f"the SQLite file {engine.url.database} was replaced while the bot runs; "
                "restart it (and restore with `newsbot db restore`, the bot stopped)",
            )
            found = [replaced, self.probe.check()]
        else:
            found = [await check_database(engine), self.probe.check()]
        if self.deliverer is not None:
            found.append(check_delivery(self.deliverer(), self.interval, self.started))
        return found
