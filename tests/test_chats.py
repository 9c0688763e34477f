"""The pieces behind groups and channels: the administrators' cache, group pacing and
the chat-choosing button."""

from __future__ import annotations

import pytest

from bot.telegram import buttons
from bot.telegram.chats import AdminCache
from bot.telegram.ratelimit import PacingRateLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_administrators_answer_is_trusted_for_a_while_then_asked_again() -> None:
    ticks = Ticks()
    cache = AdminCache(ttl=300, clock=ticks)
    assert cache.get(-1, 7) is None
    cache.put(-1, 7, True)
    cache.put(-1, 8, False)
    assert (cache.get(-1, 7), cache.get(-1, 8)) == (True, False)
    ticks.now += 299
    assert cache.get(-1, 7) is True
    ticks.now += 2
    assert cache.get(-1, 7) is None


def test_the_cache_is_bounded_and_forgets_a_chat_at_once() -> None:
    cache = AdminCache(size=3, clock=Ticks())
    for user in range(5):
        cache.put(-1, user, True)
    assert [cache.get(-1, user) for user in range(5)] == [None, None, True, True, True]
    cache.put(-2, 1, True)
    cache.forget(-1)
    assert (cache.get(-1, 4), cache.get(-2, 1)) == (None, True)


@pytest.mark.parametrize(
    ("chat", "spacing"),
    [(1001, 1.05), (-1001, 3.15), (-1001234567890, 3.15), ("@news", 3.15), (None, 0.0)],
)
def test_a_group_or_channel_gets_at_most_20_messages_a_minute(
    chat: int | str | None, spacing: float
) -> None:
    limiter = PacingRateLimiter(per_chat_interval=1.05, per_group_interval=3.15)
    assert limiter.spacing(chat) == spacing
    assert 60 / 3.15 < 20


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("c:0", buttons.SelectChat(0)),
        ("c:42", buttons.SelectChat(42)),
        ("c:2147483648", None),
        ("c:-1", None),
        ("c:007", None),
        ("c:", None),
    ],
)
def test_the_chat_button_names_a_row_or_the_own_chat(
    data: str, expected: buttons.SelectChat | None
) -> None:
    assert buttons.decode(data) == expected
