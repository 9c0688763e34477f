"""The arithmetic of a budget that several processes share (pure: no telegram, no
sqlalchemy; bot.telegram.shared does the I/O).

A process leases a few slots at a time from the shared row: ``count`` slots
``interval`` apart from ``start``, on the database's clock, which it maps onto its own.
A lease is small (``LEASE_SECONDS`` of the rate) and a process leases again only when
what it holds ends less than ``AHEAD_SECONDS`` from now, so that the processes take
turns every tenth of a second and what a dead process held is lost within that. A slot
nobody took by its time (plus ``grace``) dies: unused slots are never saved up into a
burst.
"""

from __future__ import annotations

import math
from collections import deque

LEASE_SECONDS = 0.1  # a lease's share of the rate: 3 slots at 29/s, 100 at 1,000/s
AHEAD_SECONDS = 0.2  # lease again once what a process holds ends sooner than this


def lease_size(rate: float, wanted: int, seconds: float = LEASE_SECONDS) -> int:
    """How many slots to lease for ``wanted`` waiting messages: at most ``seconds`` of
    the rate, at least one."""
    return max(1, min(wanted, math.ceil(rate * seconds)))


def local_time(shared: float, shared_now: float, local_now: float) -> float:
    """A moment on the database's clock (``shared_now`` read as its answer arrived, at
    ``local_now``) on this process's clock; off by at most half a round trip."""
    return local_now + (shared - shared_now)


class Slots:
    """The slots one process holds, on its own clock, earliest first."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._slots: deque[float] = deque()
        self.ends = -math.inf  # when the last slot leased so far ends

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, start: float, count: int, interval: float) -> None:
        self._slots.extend(start + n * interval for n in range(count))
        self.ends = max(self.ends, start + count * interval)

    def take(self, now: float) -> float | None:
        """The earliest slot still alive at ``now``; slots older than ``grace`` die."""
        while self._slots and self._slots[0] < now - self.grace:
            self._slots.popleft()
        return self._slots.popleft() if self._slots else None

    def drop_before(self, moment: float) -> int:
        """A pause until ``moment``: the slots before it die. Returns how many."""
        dropped = 0
        while self._slots and self._slots[0] < moment:
            self._slots.popleft()
            dropped += 1
        return dropped

    def lease_wait(self, now: float, ahead: float = AHEAD_SECONDS) -> float:
        """Seconds to wait before leasing more, so as not to hold more than ``ahead``."""
        return max(0.0, self.ends - ahead - now)
