"""Small helpers that bot/, storage/ and emulator/ share: a lock per key, a semaphore
whose limit may change, an exponential backoff.

Pure code: it imports nothing of this project, nor telegram nor sqlalchemy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """An `asyncio.Lock` per key, forgotten when nobody holds or waits for it, so that
    memory stays flat over any number of keys (chats, hosts) and idle keys cost nothing.

    ``async with locks(key): ...`` runs the block with ``key``'s lock held.
    """

    def __init__(self) -> None:
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def __call__(self, key: K) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """How many keys are held or waited for now."""
        return len(self._locks)


class Gate:
    """A semaphore whose ``limit`` may change while it is held: lowered, it lets nobody
    in until fewer than the new limit hold it (those inside finish); raised, it lets
    waiters in at once. Waiters enter in the order they came. ``async with gate: ...``
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a gate lets at least 1 in; got {limit}")
        self._limit = limit
        self._held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"a gate lets at least 1 in; got {value}")
        self._limit = value
        self._wake()

    @property
    def held(self) -> int:
        return self._held

    @property
    def waiting(self) -> int:
        """How many wait to be let in."""
        return len(self._waiters)

    def locked(self) -> bool:
        """Whether one more would have to wait."""
        return self._held >= self._limit or bool(self._waiters)

    async def acquire(self) -> None:
        if not self.locked():
            self._held += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # `_wake` counted this one in before waking it
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # let in, then cancelled before it went on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        if self._held <= 0:
            raise ValueError("the gate was released more often than acquired")
        self._held -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._held < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._held += 1
                waiter.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def backoff(attempt: int, base: float, cap: float = float("inf")) -> float:
    """The wait before retry number ``attempt`` (0 for the first): ``base`` doubled
    ``attempt`` times, at most ``cap``."""
    return min(base * (1 << min(attempt, 64)), cap)
