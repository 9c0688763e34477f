"""When a delivery pass composes its next batch of readers: while the last digests of
the current one are still to be sent, so that the pacer never waits for a compose, but
not so early that a digest of the next batch would wait out its lease (`LEASE`,
counted from compose) before it is started. And, whatever the pace does meanwhile, no
digest is started, nor any of its messages sent, once its lease is nearly spent
(`lease_left`): another process, or the pass's own look for stale digests, may take up
a digest whose lease ran out, and would send it a second time. The leases are on each
process's wall clock: the processes' clocks must agree within seconds (NTP). See
`bot.delivery.deliverer`.

Pure code: no Telegram, no database.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from bot.delivery.outbox import LEASE

# The pace is measured over this many of the pass's last digests that waited for a
# place in flight (those that did not, at the start of a pass, say nothing of it).
PACE_SAMPLE = 32
# At the pass's pace, every digest of the batch composed ahead must start within this
# many seconds of its compose: a quarter of the lease, so the pace may fall to a quarter
# (other processes joining on one budget, a shared pause after a 429) and its last
# digest still starts before its lease runs out.
AHEAD_WITHIN = LEASE.total_seconds() / 4
# A pass starts a digest only while this much of its lease is left, and ends otherwise.
LEASE_LEFT_TO_START = timedelta(seconds=90)
# And a digest's message goes out only while this much is left once it has its turn in
# the pacer: time for the request (a connection, 5 s to connect, 5 s to read) and its
# record. Otherwise the rest of the digest is left pending.
LEASE_LEFT_TO_SEND = timedelta(seconds=45)


class Pace:
    """How fast a pass starts its digests once each waits for a place in flight:
    over the last `PACE_SAMPLE` of them."""

    def __init__(self, sample: int = PACE_SAMPLE) -> None:
        self._starts: deque[float] = deque(maxlen=sample)

    def note(self, now: float) -> None:
        """A digest that waited for its place started at ``now`` (monotonic seconds)."""
        self._starts.append(now)

    def per_second(self) -> float | None:
        """Digests (not messages) started a second, or None until the sample is full."""
        starts = self._starts
        if len(starts) < (starts.maxlen or 0):
            return None
        span = starts[-1] - starts[0]
        return (len(starts) - 1) / span if span > 0 else None


def compose_ahead(
    left: int, *, batch: int, in_flight: int, per_second: float | None, within: float
) -> bool:
    """Whether to compose the next batch of ``batch`` readers now, with ``left`` digests
    of this one still to start. Once they fit in ``in_flight``: the next batch's first
    digest then starts about when it would if composed after this one's last. Earlier,
    when at the pass's pace (``per_second``) the rest of this batch and all of the next
    start within ``within`` seconds: at 1,000 a second, at once; at Telegram's free 29
    shared by several processes, never (a batch of 1,000 takes minutes). The pace may
    still fall after (processes joining on one budget, Telegram slowing): `lease_left`
    is what keeps a digest from outwaiting its lease."""
    if left <= in_flight:
        return True
    return per_second is not None and left + batch <= per_second * within


def batch_for(per_second: float, most: int) -> int:
    """How many readers a pass claims at a time when this process's share of the rate
    is ``per_second`` messages a second (the rate divided among the processes in a
    pass): at most ``most``, and no more than start within `AHEAD_WITHIN` at that pace,
    so that the batch's last digest starts within its lease even if the pace falls to
    about a third (digests of several messages, more processes joining): 75 s of the
    210 s before `LEASE_LEFT_TO_START`. At Telegram's
    free 29 a second shared by seven processes, 310 rather than 1,000, whose last digest
    would start after 4 minutes and end the pass for its lease."""
    return max(1, min(most, math.floor(per_second * AHEAD_WITHIN)))


def lease_left(now: datetime, leased_until: datetime, at_least: timedelta) -> bool:
    """Whether at least ``at_least`` of a lease that runs until ``leased_until`` is left
    at ``now``."""
    return now <= leased_until - at_least
