"""The small shared helpers: a lock per key, an exponential backoff."""

from __future__ import annotations

import asyncio

from util import KeyedLocks, backoff


async def test_a_key_runs_one_at_a_time_and_its_lock_is_forgotten_after() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with locks("a"):
            order.append("first in")
            first_in.set()
            await release.wait()
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with locks("a"):
            order.append("second in")

    async def other() -> None:
        await first_in.wait()
        async with locks("b"):  # another key does not wait
            order.append("other")
        release.set()

    await asyncio.gather(first(), second(), other())
    assert order == ["first in", "other", "first out", "second in"]
    assert len(locks) == 0


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n, 0.5) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(10, 1.0, 30.0) == 30.0
    assert backoff(10_000, 1.0, 60.0) == 60.0
