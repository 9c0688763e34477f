"""Pacing every outgoing message to Telegram's limits, so flood errors never happen.

python-telegram-bot's AIORateLimiter limits groups per chat but not private chats, and
digests go to private chats. This limiter spaces all messages evenly under the overall
rate, keeps at least ``per_chat_interval`` between two messages to one chat (so the parts
of a split digest are paced too), gives a digest's message a new turn when its own passed
while the Bot API kept every connection busy, and on a 429 pauses all sending for
``retry_after`` before retrying the refused message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.broadcast import Seconds
from bot.ops import metrics
from bot.telegram.stops import LEASE_LOW, ChatStopped, LeaseSpent, StopList
from util import Gate, KeyedLocks

logger = logging.getLogger(__name__)

# Calls that put a message in a chat; the rest (getUpdates, answerCallbackQuery, …) are
# not counted by Telegram's per-chat message limits.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "sendDocument",
        "sendPhoto",
        "copyMessage",
        "forwardMessage",
    }
)


# A digest's message that got a place in flight longer than this after its turn (or
# longer than its queue should take, `PacingRateLimiter._patience`) takes a new one.
LATE_TURN = 0.5
ROUND_TRIP_WEIGHT = 0.05  # of each request in the round trips' moving average


class Lane(IntEnum):
    """Which queue a request waits in; passed as python-telegram-bot's rate_limit_args."""

    REPLY = 0  # answers to people: the default for every call
    BULK = 1  # scheduled digests of a delivery pass


class Budget(Protocol):
    """The overall rate and the 429 pause: this process's own (`LocalBudget`), or one
    that every sending process shares (bot.telegram.shared, on PostgreSQL)."""

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def turn(self, lane: Lane, chat_id: int | str | None, spacing: float) -> bool:
        """Wait for a slot under the overall rate (and the pause) in ``lane``; whether
        it is a digest's slot beyond Telegram's free 30 in its second (a paid broadcast's
        message sent in it is charged)."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429 with ``retry_after``: nobody sends for ``seconds``."""

    def held_until(self, chat_id: int | str) -> float:
        """Until when another process holds ``chat_id`` (a reply it sent there), on this
        event loop's clock; 0 when none does."""


class LocalBudget:
    """The overall rate of one process: SQLite deployments, and tests of the pacer."""

    def __init__(self, overall_per_second: float) -> None:
        self.interval = 1.0 / overall_per_second
        self._next_slot = 0.0
        self._next_reply = 0.0
        self._borrowed = 0
        self._paused_until = 0.0
        self._seconds = Seconds()  # the digests' slots used, per second

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def held_until(self, chat_id: int | str) -> float:
        return 0.0

    async def pause(self, seconds: float, *, counted: bool = True) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        if counted:
            metrics.send_paused(here=True)

    async def turn(self, lane: Lane, chat_id: int | str | None, spacing: float) -> bool:
        """Wait for a slot under the overall rate; for a digest, whether its slot is
        beyond the free 30 of its second (on the wall clock, as Telegram's).

        Bulk messages (scheduled digests) queue for evenly spaced slots reserved ahead.
        A reply to a person must not wait behind that queue, seconds long during a
        delivery pass: it takes the next slot of its own lane at once and borrows it
        from the bulk queue, whose next waking message gives its slot back instead of
        sending. So replies jump the queue and the overall rate still holds.
        """
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if lane is Lane.BULK:
                slot = max(now, self._next_slot, self._paused_until)
                self._next_slot = slot + self.interval
            else:
                slot = max(now, self._next_reply, self._paused_until)
                self._next_reply = slot + self.interval
                if self._next_slot > slot:
                    self._borrowed += 1  # bulk slots are reserved past this one
                else:
                    self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            # A 429 that arrived while this request slept moves the pause; honour it.
            if loop.time() < self._paused_until:
                continue
            if lane is Lane.BULK and self._borrowed:
                self._borrowed -= 1  # a reply was sent in this slot
                continue
            if lane is Lane.REPLY:
                return False  # a reply is never a paid broadcast
            return self._seconds.beyond_free(time.time() + slot - loop.time())


class PacingRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        overall_per_second: float = 29.0,
        per_chat_interval: float = 1.05,
        max_retries: int = 5,
        max_in_flight: int = 8,
        per_group_interval: float = 3.15,
        budget: Budget | None = None,
    ) -> None:
        self.budget = budget or LocalBudget(overall_per_second)
        # Messages waiting for an HTTP connection wait here, where waiting is cheap,
        # not in aiohttp's connection pool (bot.telegram.http); a delivery pass narrows
        # it to this process's share (`share`).
        self.max_in_flight = max_in_flight
        self._in_flight = Gate(max_in_flight)
        self.per_chat_interval = per_chat_interval
        # Groups and channels (negative ids) take at most 20 messages a minute.
        self.per_group_interval = per_group_interval
        self.max_retries = max_retries
        self._chat_next: dict[int | str, float] = {}
        self._chat_locks: KeyedLocks[int | str] = KeyedLocks()
        # Chats whose digests stop at once (/forget): checked when a digest's message
        # has waited for its turn (bot.telegram.stops).
        self.stops: StopList | None = None
        # Messages sent with allow_paid_broadcast in a slot beyond Telegram's free 30 of
        # its second, as the budget counts them: what a delivery pass reports it cost.
        self.paid = 0
        # Digests' messages that took a new turn, theirs having passed while they waited
        # for a place in flight (`LATE_TURN`).
        self.late = 0
        self._round_trip = 0.0  # the Bot API's recent answers, in seconds (`_answered`)

    async def initialize(self) -> None:
        await self.budget.initialize()

    async def shutdown(self) -> None:
        await self.budget.shutdown()

    @property
    def connections(self) -> int:
        """Requests to the Bot API this pacer lets in flight at once."""
        return self._in_flight.limit

    def share(self, connections: int) -> None:
        """Let at most ``connections`` requests in flight (this process's share of the
        rate, while other processes send too), never more than ``max_in_flight``: the
        requests in flight when the Bot API stalls arrive there at once when it resumes."""
        self._in_flight.limit = max(1, min(self.max_in_flight, connections))

    def spacing(self, chat_id: int | str | None) -> float:
        """The least time between two messages to ``chat_id``: a person's private chat
        (a positive id) or a group or channel (negative, or an @username)."""
        if chat_id is None:
            return 0.0
        group = isinstance(chat_id, str) or chat_id < 0
        return self.per_group_interval if group else self.per_chat_interval

    async def _wait_turn(self, chat_id: int | str | None, lane: Lane) -> bool:
        """Until the message may go; whether its slot is beyond the free 30 a second."""
        loop = asyncio.get_running_loop()
        spacing = self.spacing(chat_id)
        if chat_id is not None and spacing > 0:
            async with self._chat_locks(chat_id):
                while True:
                    # This process's last message there, or (shared budget) a reply
                    # another process sent there, which a lease may tell of meanwhile:
                    # then the slot goes unused.
                    held = max(self._chat_next.get(chat_id, 0.0), self.budget.held_until(chat_id))
                    if held > loop.time():
                        await asyncio.sleep(held - loop.time())
                    beyond_free = await self.budget.turn(lane, chat_id, spacing)
                    if self.budget.held_until(chat_id) <= loop.time():
                        break
                self._chat_next[chat_id] = loop.time() + spacing
            self._forget_idle_chats(loop.time())
            return beyond_free
        return await self.budget.turn(lane, chat_id, 0.0)

    def _forget_idle_chats(self, now: float) -> None:
        """Keep memory flat over 100k chats: drop chats whose spacing has passed (their
        locks go by themselves, when nobody holds or waits for them)."""
        if len(self._chat_next) < 10_000:
            return
        for chat, due in list(self._chat_next.items()):
            if due <= now:
                del self._chat_next[chat]

    def _patience(self) -> float:
        """How long a digest's message that has its turn now may wait for a place in
        flight: `LATE_TURN`, or twice what the queue before it takes at the Bot API's
        recent round trips, if longer. Over a slow link every connection is busy and
        messages queue for one: that is no stall, and they keep their turns."""
        gate = self._in_flight
        expected = (gate.waiting / gate.limit + 1) * self._round_trip
        return max(LATE_TURN, 2 * expected)

    def _answered(self, seconds: float) -> None:
        """A request was answered in ``seconds``: the round trips' moving average. A
        sample counts as at most twice the average (or `LATE_TURN`), so that the
        requests Telegram held through a stall raise it only slowly and do not make the
        next stall look like a slow link; it falls back as the answers come."""
        if not self._round_trip:
            self._round_trip = min(seconds, LATE_TURN)
            return
        sample = min(seconds, max(LATE_TURN, 2 * self._round_trip))
        self._round_trip += ROUND_TRIP_WEIGHT * (sample - self._round_trip)

    async def _turn_and_connection(
        self, chat_id: int | str | None, lane: Lane, began: float
    ) -> bool:
        """Wait for the message's turn, then for a place in flight (held on return);
        whether its slot is beyond the free 30 a second. A digest's message whose turn
        passed longer ago than the `_patience` it had at its turn, while it waited for a
        place (Telegram stalled, every connection held), takes a new turn: otherwise all
        the messages held back so would go at once when Telegram answers again, over the
        rate. The abandoned turn sent nothing to the chat, which may have a message at
        once. Its lease is asked
        before each turn and once it has its place (`LEASE_LOW`), the stop list once it
        has its turn."""
        loop = asyncio.get_running_loop()
        lease_low = LEASE_LOW.get()
        while True:
            if lease_low is not None and lease_low():
                raise LeaseSpent(chat_id)  # before it takes a slot of the budget
            beyond_free = await self._wait_turn(chat_id, lane)
            if lane is Lane.BULK and self.stops and self.stops.stopped(chat_id, began):
                raise ChatStopped(chat_id)
            turned, patience = loop.time(), self._patience()
            mine = self._chat_next.get(chat_id) if chat_id is not None else None
            await self._in_flight.acquire()
            try:
                if lease_low is not None and lease_low():
                    raise LeaseSpent(chat_id)
            except BaseException:
                self._in_flight.release()
                raise
            if lane is Lane.BULK and loop.time() - turned > patience:
                self._in_flight.release()
                # Nothing went to the chat in that turn, whose spacing `_wait_turn` had
                # waited out: it may have a message at once, unless another message to
                # it took a turn since.
                if (
                    chat_id is not None
                    and mine is not None
                    and self._chat_next.get(chat_id) == mine
                ):
                    del self._chat_next[chat_id]
                self.late += 1
                metrics.late_turn()
                continue
            return beyond_free

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        paced = endpoint in PACED_METHODS
        chat_id = data.get("chat_id")
        lane = Lane(rate_limit_args or Lane.REPLY)
        began = self.stops.now() if self.stops is not None else 0.0
        loop = asyncio.get_running_loop()
        for attempt in range(self.max_retries + 1):
            try:
                if not paced:
                    return await callback(*args, **kwargs)
                beyond_free = await self._turn_and_connection(chat_id, lane, began)
                requested = loop.time()
                try:
                    sent = await callback(*args, **kwargs)
                finally:
                    self._in_flight.release()
                self._answered(loop.time() - requested)
                if beyond_free and data.get("allow_paid_broadcast"):
                    self.paid += 1
                return sent
            except RetryAfter as error:
                if attempt >= self.max_retries:
                    raise
                after = error.retry_after
                seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
                metrics.retry_after(seconds)
                await self.budget.pause(seconds)
                logger.warning(
                    "Telegram asked to wait %.0f s (%s to chat %s); retry %d of %d",
                    seconds,
                    endpoint,
                    chat_id,
                    attempt + 1,
                    self.max_retries,
                )
                if not paced:
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable")  # pragma: no cover
