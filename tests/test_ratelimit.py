"""The pacer on its own: spacing, the per-chat gap, a 429 pause, cancellation.

Requests go through `process_request` the way python-telegram-bot calls it; the callback
stands in for the HTTP call and notes when it ran. Every timing assertion is a lower
bound, or an upper bound far above the expected figure, so that a loaded 2-core machine
only makes them pass more slowly, never fail.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.telegram.ratelimit import Lane, PacingRateLimiter

EARLY = 0.005  # asyncio may run a timer up to its clock resolution early


class Telegram:
    """The far side of the limiter: records when each request reached it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.calls: list[tuple[float, Any]] = []
        self.refuse_next: list[BaseException] = []
        self.hold: asyncio.Event | None = None

    async def call(self, chat_id: Any) -> dict[str, Any]:
        if self.refuse_next:
            raise self.refuse_next.pop(0)
        self.calls.append((self.loop.time(), chat_id))
        if self.hold is not None:
            await self.hold.wait()
        return {"ok": True}


async def send(
    limiter: PacingRateLimiter,
    telegram: Telegram,
    chat_id: int | None,
    endpoint: str = "sendMessage",
    lane: Lane | None = None,
) -> Any:
    data = {"chat_id": chat_id} if chat_id is not None else {}
    return await limiter.process_request(telegram.call, (chat_id,), {}, endpoint, data, lane)


def times(telegram: Telegram, chat_id: Any = None) -> list[float]:
    return [t for t, chat in telegram.calls if chat_id is None or chat == chat_id]


async def test_messages_are_spaced_evenly_under_the_overall_rate() -> None:
    limiter = PacingRateLimiter(overall_per_second=20, per_chat_interval=0)
    telegram = Telegram()
    started = telegram.loop.time()
    await asyncio.gather(*(send(limiter, telegram, chat) for chat in range(10)))
    sent = sorted(times(telegram))
    assert len(sent) == 10
    # The n-th message goes no sooner than n slots after the start. (Gaps between two
    # messages are no bound: one woken late by a loaded machine narrows the next gap.)
    early = [(n, t - started) for n, t in enumerate(sent) if t - started < n * 0.05 - EARLY]
    assert not early, sent


async def test_one_chat_gets_at_most_one_message_per_interval_others_are_not_held_up() -> None:
    limiter = PacingRateLimiter(overall_per_second=1000, per_chat_interval=0.2)
    telegram = Telegram()
    started = telegram.loop.time()
    await asyncio.gather(
        *(send(limiter, telegram, 1) for _ in range(3)),
        *(send(limiter, telegram, chat) for chat in range(2, 12)),
    )
    one = times(telegram, 1)
    # The n-th message to chat 1 goes no sooner than n intervals after the first (a
    # message woken late on a loaded machine may narrow the next gap, never the pace).
    assert all(t >= one[0] + n * 0.2 - EARLY for n, t in enumerate(one)), one
    others = [t for t, chat in telegram.calls if chat != 1]
    # Ten other chats went while chat 1 waited its turn.
    assert max(others) < one[-1], (one, others)
    assert min(others) - started < 0.2


async def test_calls_that_are_not_messages_are_not_paced() -> None:
    limiter = PacingRateLimiter(overall_per_second=1, per_chat_interval=10)
    telegram = Telegram()
    async with asyncio.timeout(5):  # paced, these would take 10 s and more
        for _ in range(10):
            await send(limiter, telegram, 1, endpoint="answerCallbackQuery")
    assert len(telegram.calls) == 10


async def test_a_429_pauses_all_sending_and_retries_the_refused_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = PacingRateLimiter(overall_per_second=1000, per_chat_interval=0)
    telegram = Telegram()
    telegram.refuse_next.append(RetryAfter(timedelta(seconds=0.3)))
    refused_at = telegram.loop.time()
    first = asyncio.create_task(send(limiter, telegram, 1))
    for _ in range(100):  # the 429 arrives (the pause starts as it is raised)
        if not telegram.refuse_next:
            break
        await asyncio.sleep(0)
    else:
        pytest.fail("the 429 never reached the limiter")
    await send(limiter, telegram, 2)  # then another chat wants a turn
    await first
    [retried] = [r.getMessage() for r in caplog.records if "asked to wait" in r.getMessage()]
    assert "retry 1 of 5" in retried
    assert len(telegram.calls) == 2
    assert min(times(telegram)) >= refused_at + 0.3 - EARLY  # both waited out the pause


async def test_retries_give_up_after_max_retries() -> None:
    limiter = PacingRateLimiter(overall_per_second=1000, per_chat_interval=0, max_retries=2)
    telegram = Telegram()
    telegram.refuse_next.extend(RetryAfter(timedelta(seconds=0.01)) for _ in range(3))
    with pytest.raises(RetryAfter):
        await send(limiter, telegram, 1)
    assert telegram.calls == []


async def test_a_cancelled_request_frees_its_chat_and_its_connection() -> None:
    limiter = PacingRateLimiter(overall_per_second=1000, per_chat_interval=0, max_in_flight=1)
    telegram = Telegram()
    telegram.hold = asyncio.Event()
    stuck = asyncio.create_task(send(limiter, telegram, 1))
    for _ in range(100):  # until it holds the only connection
        if telegram.calls:
            break
        await asyncio.sleep(0)
    else:
        pytest.fail("the request never reached Telegram")
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    telegram.hold = None
    async with asyncio.timeout(5):
        assert await send(limiter, telegram, 2) == {"ok": True}


async def test_a_request_cancelled_while_waiting_for_its_chat_is_never_sent() -> None:
    limiter = PacingRateLimiter(overall_per_second=1000, per_chat_interval=30)
    telegram = Telegram()
    await send(limiter, telegram, 1)
    waiting = asyncio.create_task(send(limiter, telegram, 1))  # its turn is 30 s away
    # One turn of the loop: the task takes chat 1's free lock without yielding and sleeps
    # toward its turn, so the cancel below reaches it waiting, not before it started.
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(5):
        await send(limiter, telegram, 2)
    assert [chat for _, chat in telegram.calls] == [1, 2]


async def test_a_reply_jumps_the_queue_of_a_delivery_pass_and_the_rate_still_holds() -> None:
    limiter = PacingRateLimiter(overall_per_second=20, per_chat_interval=0)
    telegram = Telegram()
    started = telegram.loop.time()
    # Twenty digests reserve the next second of slots; then a person asks for something.
    bulk = [asyncio.create_task(send(limiter, telegram, c, lane=Lane.BULK)) for c in range(20)]
    await asyncio.sleep(0)
    await send(limiter, telegram, 99)
    replied = times(telegram, 99)[0] - started
    await asyncio.gather(*bulk)
    assert replied < 0.5  # not behind the 1 s queue (0.05 s when the machine is idle)
    moments = sorted(times(telegram))
    assert len(moments) == 21
    # The slot the reply took was given back: 21 messages still span 20 intervals.
    assert moments[-1] - moments[0] >= 20 * 0.05 - EARLY, moments
