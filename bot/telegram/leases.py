"""The arithmetic of a budget that several processes share (pure: no telegram, no
sqlalchemy; bot.telegram.shared does the I/O).

A process leases a few slots at a time from the shared row: ``count`` slots
``interval`` apart from ``start``, on the database's clock, which it maps onto its own.
A lease is small (``LEASE_SECONDS`` of the rate) and a process leases again only when
what it holds ends less than ``AHEAD_SECONDS`` from now, so that the processes take
turns every tenth of a second and what a dead process held is lost within that. A slot
nobody took by its time (plus ``grace``) dies: unused slots are never saved up into a
burst. Each slot knows whether it is beyond the free 30 of its second on the database's
clock, counting every process's slots (bot.delivery.broadcast): a paid broadcast's
message sent in it is charged.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

LEASE_SECONDS = 0.1  # a lease's share of the rate: 3 slots at 29/s, 100 at 1,000/s
AHEAD_SECONDS = 0.2  # lease again once what a process holds ends sooner than this
GATHER_SECONDS = 0.05  # a lease for fewer than a whole waits until then, for more demand


FULL = 1 << 30  # wanted: as many as a lease may hold


def lease_size(rate: float, wanted: int, seconds: float = LEASE_SECONDS) -> int:
    """How many slots to lease for ``wanted`` waiting messages: at most ``seconds`` of
    the rate, at least one."""
    return max(1, min(wanted, math.ceil(rate * seconds)))


def local_time(shared: float, shared_now: float, local_now: float) -> float:
    """A moment on the database's clock (``shared_now`` read as its answer arrived, at
    ``local_now``) on this process's clock; off by at most half a round trip."""
    return local_now + (shared - shared_now)


class Slot(NamedTuple):
    at: float  # on this process's clock
    beyond_free: bool  # beyond the free 30 of its second, counting every process's


class Slots:
    """The slots one process holds, on its own clock, earliest first."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._slots: deque[Slot] = deque()
        self.ends = -math.inf  # when the last slot leased so far ends
        self.died = 0  # slots nobody took in time

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, start: float, interval: float, beyond_free: Sequence[bool]) -> None:
        """A lease: a slot every ``interval`` from ``start``, one for each of
        ``beyond_free``, which says whether it is beyond the free 30 of its second."""
        self._slots.extend(
            Slot(start + n * interval, beyond) for n, beyond in enumerate(beyond_free)
        )
        self.ends = max(self.ends, start + len(beyond_free) * interval)

    def take(self, now: float) -> Slot | None:
        """The earliest slot still alive at ``now``; slots older than ``grace`` die."""
        while self._slots and self._slots[0].at < now - self.grace:
            self._slots.popleft()
            self.died += 1
        return self._slots.popleft() if self._slots else None

    def drop_before(self, moment: float) -> int:
        """A pause until ``moment``: the slots before it die. Returns how many."""
        dropped = 0
        while self._slots and self._slots[0].at < moment:
            self._slots.popleft()
            dropped += 1
        return dropped

    def lease_wait(self, now: float, wanted: int, full: int) -> float:
        """Seconds to wait before leasing for ``wanted`` messages, ``full`` being a whole
        lease: never to hold more than AHEAD_SECONDS; and for fewer than a whole lease,
        while this process's own slots last (all but GATHER_SECONDS), so that the
        messages freed meanwhile join the lease. So a lease is as large as the demand
        (64 digests in flight at 1,000/s lease about 64 at a time, not one per message
        freed) and never larger: the last lease of a pass leaves no slots to die."""
        wait = self.ends - AHEAD_SECONDS - now
        if wanted < full:
            wait = max(wait, self.ends - GATHER_SECONDS - now)
        return max(0.0, wait)
