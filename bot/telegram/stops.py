"""Chats whose digests must stop at once: a chat that asked to be forgotten (/forget)
while one of its digests was being sent.

Pure code. The delivery checks it before each message of a digest, and the pacer checks
it again once a digest's message has waited for its turn, so that at most the message
already on its way reaches the chat. A stop applies to what was started before it: a
digest begun after it (the chat wrote again, and is a new chat) is sent as usual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar

from cachetools import TTLCache
from telegram.error import TelegramError

KEEP_SECONDS = 6 * 3600.0  # longer than any delivery pass; then a stop is forgotten
MAX_STOPS = 10_000


class ChatStopped(TelegramError):
    """A digest's message was not sent: its chat asked to be forgotten meanwhile."""

    def __init__(self, chat_id: object) -> None:
        super().__init__(f"chat {chat_id} was forgotten; its digest stops")


class LeaseSpent(TelegramError):
    """A digest's message was not sent: the digest's lease ran low before its turn, and
    another process may take the digest up once it runs out."""

    def __init__(self, chat_id: object) -> None:
        super().__init__(f"the lease of chat {chat_id}'s digest ran low before its turn")


# Whether the digest whose message is being sent has too little of its lease left, set
# by bot.telegram.send around each message of a delivery pass's digests; the pacer asks
# it before the message waits for its turn, and again once it has its turn and one of
# the pacer's places for an HTTP request.
LEASE_LOW: ContextVar[Callable[[], bool] | None] = ContextVar("lease_low", default=None)


class StopList:
    """Chat id -> when its digests were stopped (a monotonic clock); bounded in number
    and in time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._since: TTLCache[int | str, float] = TTLCache(MAX_STOPS, KEEP_SECONDS, timer=clock)

    def now(self) -> float:
        return self.clock()

    def stop(self, chat_id: int) -> None:
        self._since[chat_id] = self.clock()

    def stopped(self, chat_id: int | str | None, began: float) -> bool:
        """Whether what was started for ``chat_id`` at ``began`` must not go on."""
        if chat_id is None:
            return False
        since = self._since.get(chat_id)
        return since is not None and began <= since
