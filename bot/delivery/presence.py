"""This process's presence: a row in ``processes`` refreshed every few seconds, so that
when a process dies in the middle of a delivery pass (``kill -9``, a crash, a lost host)
another one resumes the digests it held within PROCESS_TIMEOUT_SECONDS, instead of
waiting out their 5-minute lease. See README, "How delivery works".

A heartbeat row rather than PostgreSQL's session list (an advisory lock per process):
a lock dies with its connection, and connections are dropped and made again while the
process lives on (a restarted database, a proxy's idle timeout), which would hand its
digests to another process while it still sends them. A row is seen on SQLite too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repo
from storage.retry import retrying

logger = logging.getLogger(__name__)

BEATS = 6  # heartbeats within one timeout: a few may be late or fail without harm


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (one of another user's too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Presence:
    """This process's row: registered by `start`, seen every ``timeout / BEATS`` seconds,
    deleted by `stop`. Digests it composes or resumes carry its ``id``. It says whether
    the process is in a delivery pass (`passing`, and every heartbeat again); each
    heartbeat counts the others that are (``senders``).

    ``solo`` (SQLite, where the processes of one database share its host): at start,
    the rows of this host's processes that no longer run are deleted, so that a process
    restarted after a crash resumes its own digests at once.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        *,
        timeout: float,
        solo: bool = False,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.timeout = timedelta(seconds=timeout)
        self.beat_every = timeout / BEATS
        self.solo = solo
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.id: int | None = None
        self.in_pass = False
        self._writing = asyncio.Lock()  # this process's row: a beat or `passing`
        # This process and the others in a delivery pass, as last counted: they share
        # the Telegram budget (bot.delivery.broadcast.Sizing).
        self.senders = 1
        self._seen = -float("inf")  # time.monotonic() of the last beat that was stored
        self._task: asyncio.Task[None] | None = None

    def seen_since(self, now: datetime) -> datetime:
        """A process last seen before this is taken for dead."""
        return now - self.timeout

    @property
    def lost(self) -> bool:
        """Whether this process may soon be taken for dead: no heartbeat stored for half
        the timeout (a stalled loop, the database out of reach). It starts no digest then,
        since another process may take its digests over at the full timeout."""
        return time.monotonic() - self._seen > self.timeout.total_seconds() / 2

    async def passing(self, in_pass: bool) -> int:
        """This process begins (True) or ends a delivery pass: store it; how many
        processes are in a pass now, this one included. When the database is out of
        reach: the last count (every heartbeat stores the flag again)."""
        self.in_pass = in_pass
        if self.id is None:
            return self.senders
        try:
            async with self._writing, self.sessions.begin() as session:
                await repo.mark_in_pass(session, self.id, in_pass)
                await self._count_senders(session)
        except Exception as error:
            logger.warning("could not store that this process is in a pass: %s", error)
        return self.senders

    async def count_senders(self) -> int:
        """This process and the others in a pass, counted now (the last count when the
        database is out of reach)."""
        if self.id is None:
            return self.senders
        try:
            async with self.sessions() as session:
                await self._count_senders(session)
        except Exception as error:
            logger.warning("could not count the processes in a delivery pass: %s", error)
        return self.senders

    async def _count_senders(self, session: AsyncSession) -> None:
        """This process and the others in a pass: what a pass of this one shares the
        rate with (its own row aside, which a write may not have reached yet)."""
        assert self.id is not None
        seen_since = self.seen_since(self.clock())
        self.senders = 1 + await repo.count_in_pass(session, seen_since, besides=self.id)

    async def start(self) -> None:
        await retrying(self._register, "registering this process")
        self._task = asyncio.create_task(self._beat_forever(), name="presence")

    async def stop(self) -> None:
        """Stop the heartbeat and delete the row: the digests this process still holds
        (a pass cut short) are resumed by the next pass of any process at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.id is None:
            return
        try:
            async with self.sessions.begin() as session:
                await repo.forget_processes(session, [self.id])
        except Exception as error:  # the row ages out; its digests are resumed then
            logger.warning("could not delete this process's row %s: %s", self.id, error)

    async def _register(self) -> None:
        started = time.monotonic()
        async with self.sessions.begin() as session:
            if self.solo:
                gone = [
                    process_id
                    for process_id, pid in await repo.processes_on(session, self.host)
                    if pid == self.pid or not _pid_alive(pid)
                ]
                await repo.forget_processes(session, gone)
            self.id = await repo.register_process(
                session, self.host, self.pid, self.clock(), in_pass=self.in_pass
            )
        self._seen = started
        logger.debug("this process is #%s (%s, pid %s)", self.id, self.host, self.pid)

    async def beat(self) -> None:
        """Store that this process is alive; delete the rows of processes long gone."""
        assert self.id is not None, "start() registers the process first"
        started = time.monotonic()
        now = self.clock()
        # One write at a time: a beat must not store an in_pass that `passing` changed.
        async with self._writing, self.sessions.begin() as session:
            if not await repo.see_process(session, self.id, now, in_pass=self.in_pass):
                logger.warning(
                    "this process (#%s) was taken for dead (not seen for %s s): other "
                    "processes may have resumed its digests; it goes on",
                    self.id,
                    self.timeout.total_seconds(),
                )
                await repo.register_process(
                    session, self.host, self.pid, now, process_id=self.id, in_pass=self.in_pass
                )
            await repo.forget_unseen(session, now - 2 * self.timeout)
        self._seen = started
        await self.count_senders()  # apart: a failed count does not lose the heartbeat

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.beat_every)
            try:
                await self.beat()
            except Exception as error:  # the database is down: readiness and alerts say so
                logger.warning("could not store this process's heartbeat: %s", error)
