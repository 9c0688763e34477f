"""One Telegram budget for every process that sends, kept in PostgreSQL.

Telegram allows a bot about 30 messages a second in all, however many processes send
them. Each process (`newsbot run`, every `worker`, `deliver`) takes its slots from one
row per bot (storage.budget, keyed by the bot's numeric id): digests lease a tenth of a
second's worth at a time with one statement (bot.telegram.leases), a reply takes its
own slot at once, borrowing it from the digests; a 429 any process sees pauses them
all. The row counts the digests' slots per second of every process, so that each knows
which of its own are beyond Telegram's free 30 a second (what paid broadcasts cost).
See README, "Several processes" and "Paid broadcasts".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery.broadcast import lease_beyond_free
from bot.ops import metrics
from bot.telegram.leases import FULL, LEASE_SECONDS, Slots, lease_size, local_time
from bot.telegram.ratelimit import Lane, LocalBudget
from storage import budget as budget_repo
from storage.db import create_engine, create_sessionmaker, is_sqlite

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Two readings of one pause differ by the round trips' jitter.
SAME_PAUSE = 0.05
# The database out of reach: the process paces on its own this long before asking again
# (an alert that the database is down must still go out).
ON_OWN_SECONDS = 5.0
CONNECT_SECONDS = 2.0  # a database that does not answer fails the budget's call this soon


class OnOwn(Exception):
    """The shared row was out of reach a moment ago: this process paces on its own."""


class SharedBudget:
    """The `Budget` (bot.telegram.ratelimit) of every process sending for ``bot_id``."""

    def __init__(self, database_url: str, bot_id: int, overall_per_second: float) -> None:
        self.database_url = database_url
        self.bot_id = bot_id
        self.rate = overall_per_second
        self.interval = 1.0 / overall_per_second
        self._slots = Slots(grace=LEASE_SECONDS)
        self._wanting = 0  # bulk messages waiting for a slot
        self._leasing = asyncio.Lock()
        self._paused_until = 0.0  # on this event loop's clock
        self._holds: dict[int, float] = {}  # chats other processes replied to lately
        self._engine: AsyncEngine | None = None
        self._own = LocalBudget(overall_per_second)  # while the database is out of reach
        self._on_own_until = 0.0
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self.statements = 0  # round trips to the shared row, for the benchmark

    async def initialize(self) -> None:
        if self._engine is None:
            # A statement is its own transaction (no BEGIN and COMMIT round trips), and
            # no ping on checkout: a dropped connection fails once and is retried. Its
            # commit does not wait for the disk (9 ms against 1.3 ms a lease, loaded
            # bench machine): a database crash may forget the last leases, which end
            # within AHEAD_SECONDS anyway.
            self._engine = create_engine(
                self.database_url,
                pool_size=2,
                max_overflow=6,
                pool_pre_ping=False,
                isolation_level="AUTOCOMMIT",
                connect_args={
                    "server_settings": {"synchronous_commit": "off"},
                    "timeout": CONNECT_SECONDS,
                    "command_timeout": CONNECT_SECONDS,
                },
            )
            self._sessions = create_sessionmaker(self._engine)

    async def shutdown(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._sessions = None

    async def _run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        sessions = self._sessions
        if sessions is None:
            raise RuntimeError("the shared budget is not initialized")
        self.statements += 1
        async with sessions() as session:
            return await work(session)

    @property
    def slots_died(self) -> int:
        """Leased slots nobody took in time (the benchmark's figure)."""
        return self._slots.died

    def held_until(self, chat_id: int | str) -> float:
        return self._holds.get(chat_id, 0.0) if isinstance(chat_id, int) else 0.0

    async def turn(self, lane: Lane, chat_id: int | str | None, spacing: float) -> bool:
        loop = asyncio.get_running_loop()
        if loop.time() < self._on_own_until:
            return await self._own.turn(lane, chat_id, spacing)
        try:
            if lane is Lane.BULK:
                return await self._bulk()
            if isinstance(chat_id, int):
                await self._reply(chat_id, spacing)
            else:  # no chat, or a channel's @username: no shared hold
                await self._reply(0, 0.0)
            return False  # a reply is never a paid broadcast
        except OnOwn:
            return await self._own.turn(lane, chat_id, spacing)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            self._on_own(error)
            return await self._own.turn(lane, chat_id, spacing)

    def _on_own(self, error: BaseException) -> None:
        """The shared row is out of reach: pace on this process's own for a while."""
        loop = asyncio.get_running_loop()
        if loop.time() >= self._on_own_until:
            logger.warning(
                "the shared Telegram budget is out of reach (%s); pacing this process on "
                "its own for %g s",
                str(error).splitlines()[0] if str(error) else type(error).__name__,
                ON_OWN_SECONDS,
            )
        self._on_own_until = loop.time() + ON_OWN_SECONDS

    async def _bulk(self) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            self._wanting += 1
            try:
                while (slot := self._slots.take(loop.time())) is None:
                    await self._lease()
            finally:
                self._wanting -= 1
            if (delay := slot.at - loop.time()) > 0:
                await asyncio.sleep(delay)
            if loop.time() >= self._paused_until:
                return slot.beyond_free
            # A pause came while this message waited: its slot dies, it takes a new one.

    async def _lease(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._leasing:
            if len(self._slots):
                return  # another message leased while this one waited for the lock
            if loop.time() < self._on_own_until:
                raise OnOwn  # the lease before this one found the database out of reach
            # Hold no more than AHEAD_SECONDS: the processes take turns, and a reply
            # never finds the bulk lanes reserved far ahead.
            full = lease_size(self.rate, FULL)
            if wait := self._slots.lease_wait(loop.time(), self._wanting, full):
                await asyncio.sleep(wait)
            count = lease_size(self.rate, self._wanting)
            lease = await self._run(
                lambda s: budget_repo.lease(s, self.bot_id, count, self.interval)
            )
            now = loop.time()
            self._slots.add(
                local_time(lease.start, lease.now, now),
                self.interval,
                lease_beyond_free(count, lease.before, lease.first),
            )
            self._holds = {c: local_time(t, lease.now, now) for c, t in lease.holds.items()}
            self._learn_pause(local_time(lease.paused_until, lease.now, now), now)

    async def _reply(self, chat_id: int, spacing: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            slot, shared_now = await self._run(
                lambda s: budget_repo.reply_slot(s, self.bot_id, self.interval, chat_id, spacing)
            )
            if (delay := local_time(slot, shared_now, loop.time()) - loop.time()) > 0:
                await asyncio.sleep(delay)
            if loop.time() >= self._paused_until:
                return

    async def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        metrics.send_paused(here=True)
        await self._own.pause(seconds, counted=False)
        try:
            paused = await self._run(lambda s: budget_repo.pause(s, self.bot_id, seconds))
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            self._on_own(error)
            return
        until = local_time(paused.until, paused.now, loop.time())
        self._paused_until = max(self._paused_until, until)
        self._slots.drop_before(until)

    def _learn_pause(self, until: float, now: float) -> None:
        """A pause the shared row holds that this process did not know of: another
        process got a 429. The slots before its end die."""
        if until <= now or until <= self._paused_until + SAME_PAUSE:
            return
        self._paused_until = until
        dropped = self._slots.drop_before(until)
        metrics.send_paused(here=False)
        logger.warning(
            "another process got a 429: all sending paused for %.1f s (%d leased slots dropped)",
            until - now,
            dropped,
        )


def budget_for(database_url: str, bot_id: int, overall_per_second: float) -> SharedBudget | None:
    """The shared budget on PostgreSQL; None on SQLite, where one process sends and its
    own pacer is the budget."""
    if is_sqlite(database_url):
        return None
    return SharedBudget(database_url, bot_id, overall_per_second)
