"""Updates from different chats run concurrently; one chat's run in order; a flood is cut.

python-telegram-bot hands every update to an update processor (`concurrent_updates`).
The default one runs them all at once, in no order per chat; a value of 1 runs them one at
a time, so a chat that sends 60 messages makes every other chat wait behind its paced
replies. `ChatUpdateProcessor` keeps one lock per chat instead, and asks a `ChatThrottle`
first, so that a flooding chat's surplus is dropped before it reaches any handler or the
database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

logger = logging.getLogger(__name__)


class Verdict(Enum):
    ADMIT = "admit"
    NOTIFY = "notify"  # the first update dropped in a flood: tell the chat once
    DROP = "drop"


class ChatThrottle:
    """A sliding window per chat: at most ``burst`` updates in ``window`` seconds.

    Memory stays bounded over any number of chats: each chat keeps at most ``burst``
    timestamps, and beyond ``max_chats`` the least recently seen chat is forgotten.
    """

    def __init__(
        self,
        burst: int = 20,
        window: float = 10.0,
        *,
        max_chats: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.window = window
        self.max_chats = max_chats
        self.clock = clock
        self._seen: OrderedDict[int, deque[float]] = OrderedDict()
        self._notified: set[int] = set()

    def check(self, chat_id: int) -> Verdict:
        now = self.clock()
        stamps = self._seen.pop(chat_id, None)
        if stamps is None:
            stamps = deque(maxlen=self.burst)
        self._seen[chat_id] = stamps  # most recently seen last
        if len(self._seen) > self.max_chats:
            forgotten, _ = self._seen.popitem(last=False)
            self._notified.discard(forgotten)
        if len(stamps) == self.burst and now - stamps[0] < self.window:
            if chat_id in self._notified:
                return Verdict.DROP
            self._notified.add(chat_id)
            return Verdict.NOTIFY
        stamps.append(now)
        self._notified.discard(chat_id)
        return Verdict.ADMIT

    def __len__(self) -> int:
        return len(self._seen)


Notifier = Callable[[int], Awaitable[Any]]


class ChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat, throttled per chat."""

    def __init__(self, max_concurrent_updates: int, throttle: ChatThrottle) -> None:
        super().__init__(max_concurrent_updates)
        self.throttle = throttle
        self.notify: Notifier | None = None  # set once the bot exists (see bot.app)
        self.dropped = 0
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        verdict = self.throttle.check(chat.id)
        if verdict is not Verdict.ADMIT:
            self.dropped += 1
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never started: no handler, no database work
        if verdict is Verdict.DROP:
            return
        # One lock per chat, dropped when nobody waits on it, so idle chats cost nothing.
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                if verdict is Verdict.ADMIT:
                    await coroutine
                elif self.notify is not None:
                    await self._notify(chat.id)
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def _notify(self, chat_id: int) -> None:
        assert self.notify is not None
        try:
            await self.notify(chat_id)
        except Exception as error:  # the notice is a courtesy; never let it break polling
            logger.warning("could not tell chat %s to slow down: %s", chat_id, error)

    @property
    def chats_tracked(self) -> int:
        return len(self._locks)
