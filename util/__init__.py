"""Small helpers that bot/, storage/ and emulator/ share: a lock per key, an exponential
backoff.

Pure code: it imports nothing of this project, nor telegram nor sqlalchemy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
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


def backoff(attempt: int, base: float, cap: float = float("inf")) -> float:
    """The wait before retry number ``attempt`` (0 for the first): ``base`` doubled
    ``attempt`` times, at most ``cap``."""
    return min(base * (1 << min(attempt, 64)), cap)
