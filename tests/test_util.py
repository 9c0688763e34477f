"""The small shared helpers: a lock per key, a gate whose limit may change, an
exponential backoff."""

from __future__ import annotations

import asyncio

import pytest

from util import Gate, KeyedLocks, backoff


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


async def entered(gate: Gate, name: str, order: list[str]) -> None:
    await gate.acquire()
    order.append(name)


async def settle() -> None:
    """Let every task that can run, run (a gate wakes its waiters in one turn)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_lowered_gate_lets_nobody_in_until_fewer_than_the_new_limit_hold_it() -> None:
    gate = Gate(4)
    for _ in range(4):
        await gate.acquire()
    gate.limit = 2  # those inside finish; nobody new until fewer than 2 hold it
    order: list[str] = []
    waiters = [asyncio.create_task(entered(gate, name, order)) for name in "abc"]
    await settle()
    assert gate.locked()
    gate.release()
    gate.release()  # 2 still hold it
    await settle()
    assert order == []
    gate.release()  # 1 holds it: one more may enter, the first that came
    await settle()
    assert (order, gate.held) == (["a"], 2)
    gate.limit = 4  # raised: the rest enter at once, in the order they came
    await settle()
    assert (order, gate.held) == (["a", "b", "c"], 4)
    await asyncio.gather(*waiters)


async def test_a_waiter_cancelled_before_or_after_it_was_let_in_holds_no_place() -> None:
    gate = Gate(1)
    await gate.acquire()
    order: list[str] = []
    before = asyncio.create_task(entered(gate, "before", order))
    after = asyncio.create_task(entered(gate, "after", order))
    await settle()
    before.cancel()  # still waiting: it leaves the queue
    await settle()
    gate.release()  # lets "after" in; cancelled before it runs, it gives its place back
    after.cancel()
    with pytest.raises(asyncio.CancelledError):
        await after
    assert (order, gate.held, gate.locked()) == ([], 0, False)
    async with gate:
        assert gate.held == 1
    assert gate.held == 0


def test_a_gate_refuses_a_limit_under_one_and_a_release_it_did_not_give() -> None:
    with pytest.raises(ValueError, match="at least 1 in; got 0"):
        Gate(0)
    gate = Gate(2)
    with pytest.raises(ValueError, match="at least 1 in; got -1"):
        gate.limit = -1
    with pytest.raises(ValueError, match="released more often than acquired"):
        gate.release()
