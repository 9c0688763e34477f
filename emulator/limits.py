"""What stands between the bot's calls and the world: faults a test injects, and
Telegram's flood limits (token buckets per bot and per chat, each group's sliding window).

A message sent with ``allow_paid_broadcast`` takes from a bucket of its own, 1,000 a
second (Telegram charges the bot's Stars for it); ordinary ones from the free 30. What
Telegram would charge is counted per whole second (`PaidSeconds`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn

from telegram.constants import FloodLimit

from emulator.errors import ApiError


class Refusal(StrEnum):
    """Which limit a 429 was for: the bot's overall rate (free or paid), one chat's
    (two messages within a second), or a group's window (20 a minute)."""

    OVERALL = "overall"
    CHAT = "chat"
    GROUP = "group"


@dataclass
class Fault:
    """Answer the next ``times`` matching calls with an error instead of serving them."""

    method: str
    status: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """0 when a token was taken, else seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Limits:
    """Telegram's flood limits, off until a test or the benchmarks turn them on."""

    enabled: bool = False
    per_second: float = float(FloodLimit.MESSAGES_PER_SECOND)
    burst: float = float(FloodLimit.MESSAGES_PER_SECOND)
    per_chat_per_second: float = float(FloodLimit.MESSAGES_PER_SECOND_PER_CHAT)
    per_chat_burst: float = 2.0
    # Groups, supergroups and channels: at most this many messages in any sliding window.
    per_group_per_window: int = int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)
    group_window_seconds: float = 60.0
    # Messages sent with allow_paid_broadcast (Bot API 7.11).
    paid_per_second: float = float(FloodLimit.PAID_MESSAGES_PER_SECOND)
    paid_burst: float = float(FloodLimit.PAID_MESSAGES_PER_SECOND)


class PaidSeconds:
    """What paid broadcasts would cost, as the emulator models Telegram's rule ("each
    message broadcasted over the free amount of 30 messages per second"): in each whole
    second of the wall clock, the messages sent with allow_paid_broadcast beyond the first
    30 of them. Ordinary messages are not counted against the 30."""

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()  # paid messages by whole second

    def note(self, now: float) -> None:
        self.sent[math.floor(now)] += 1

    @property
    def beyond_free(self) -> int:
        free = FloodLimit.MESSAGES_PER_SECOND
        return sum(max(0, n - free) for n in self.sent.values())


class Gate:
    """Checks each of the bot's calls before it is served: an injected fault answers
    first; then, for what sends a message, the flood limits (a 429 with retry_after).
    ``counters`` (the emulator's statistics) counts what it refused."""

    def __init__(self, counters: defaultdict[str, int]) -> None:
        self.counters = counters
        self.faults: list[Fault] = []
        self.limits = Limits()
        self.global_bucket = Bucket(0, 0, 0, 0)
        self.paid_bucket = Bucket(0, 0, 0, 0)
        self.chat_buckets: dict[int, Bucket] = {}
        self.stalled_until = 0.0  # time.monotonic(): until then every send is held
        self._stall_for: float | None = None  # a stall that begins at the next send
        # When the bot's recent messages to each group or channel were let through.
        self.group_windows: dict[int, deque[float]] = defaultdict(deque)
        self.set_limits(self.limits)

    def set_limits(self, limits: Limits) -> None:
        self.limits = limits
        now = time.monotonic()
        self.global_bucket = Bucket(limits.per_second, limits.burst, limits.burst, now)
        self.paid_bucket = Bucket(
            limits.paid_per_second, limits.paid_burst, limits.paid_burst, now
        )
        self.chat_buckets.clear()
        self.group_windows.clear()

    def stall(self, seconds: float) -> None:
        """From the next message the bot sends (sendMessage, editMessageText,
        sendDocument), hold every one for ``seconds``, then answer them all: Telegram
        stalled (a test's `/_emu/stall`)."""
        self._stall_for = seconds

    async def held(self) -> None:
        """Return once the stall this send came in has ended."""
        if self._stall_for is not None:
            self.stalled_until = time.monotonic() + self._stall_for
            self._stall_for = None
        if (wait := self.stalled_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def check_faults(self, method: str, chat_id: int | None) -> None:
        for fault in self.faults:
            if (
                fault.times > 0
                and fault.method in (method, "*")
                and (fault.chat_id is None or fault.chat_id == chat_id)
            ):
                fault.times -= 1
                self.counters[f"fault_{fault.status}"] += 1
                raise ApiError(fault.status, fault.description, fault.retry_after)
        self.faults = [f for f in self.faults if f.times > 0]

    def check_limits(self, chat_id: int | None, *, group: bool, paid: bool = False) -> None:
        """``group``: the chat is a group, supergroup or channel (it has a window too);
        ``paid``: sent with allow_paid_broadcast (its own, larger bucket)."""
        if not self.limits.enabled:
            return
        now = time.monotonic()
        overall = self.paid_bucket if paid else self.global_bucket
        wait = overall.take(now)
        if not wait and chat_id is not None:
            bucket = self.chat_buckets.get(chat_id)
            if bucket is None:
                bucket = Bucket(
                    self.limits.per_chat_per_second,
                    self.limits.per_chat_burst,
                    self.limits.per_chat_burst,
                    now,
                )
                self.chat_buckets[chat_id] = bucket
            wait = bucket.take(now)
            if wait:
                overall.tokens += 1  # the refused request used no overall capacity
                self._too_many(round(wait + 0.5), paid, Refusal.CHAT)
            elif group and (window := self._take_window(chat_id, now)):
                bucket.tokens += 1
                overall.tokens += 1
                self._too_many(math.ceil(window), paid, Refusal.GROUP)
        if wait:
            self._too_many(round(wait + 0.5), paid, Refusal.OVERALL)

    def _take_window(self, chat_id: int, now: float) -> float:
        """0 when the group's sliding window had room (the message now counts in it), else
        seconds until its oldest message leaves the window."""
        sent = self.group_windows[chat_id]
        span = self.limits.group_window_seconds
        while sent and sent[0] <= now - span:
            sent.popleft()
        if len(sent) >= self.limits.per_group_per_window:
            return sent[0] + span - now
        sent.append(now)
        return 0.0

    def _too_many(self, retry: int, paid: bool, refusal: Refusal) -> NoReturn:
        retry = max(1, retry)
        self.counters["429"] += 1
        self.counters["429_paid" if paid else "429_free"] += 1
        self.counters[f"429_{refusal}"] += 1
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
