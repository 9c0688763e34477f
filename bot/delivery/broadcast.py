"""What a paid broadcast costs: the messages sent beyond Telegram's free rate in their
second, at 0.1 Telegram Stars each (PAID_BROADCAST; see README, "Paid broadcasts").

Telegram counts the bot's messages, whichever process sends them. So it is the budget
that hands out the digests' slots (bot.telegram.ratelimit) that says which slot is
beyond the free 30 of its second: a process's own budget counts its slots by whole
second of the clock (`Seconds`, SQLite, where one process sends); the budget shared on
PostgreSQL counts every process's slots by whole second of the database's clock, and
each lease learns which of its own slots are beyond (`lease_beyond_free`).

Pure code: no Telegram, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

FREE_PER_SECOND = 30  # Telegram's broadcasting limit, free of charge
PAID_PER_SECOND = 1000  # with allow_paid_broadcast (telegram.constants.FloodLimit)
STARS_PER_MESSAGE = Decimal("0.1")  # each message beyond the free 30, paid that way


# The Bot API round trip the defaults below carry the rate over (README, "Sending").
ROUND_TRIP_SECONDS = 0.1
MOST_CONNECTIONS = 256  # TELEGRAM_CONNECTIONS' bounds
MOST_IN_FLIGHT = 1000  # DELIVERY_CONCURRENCY's


def connections_for(rate: float) -> int:
    """TELEGRAM_CONNECTIONS' default: requests enough in flight to send ``rate``
    messages a second at a `ROUND_TRIP_SECONDS` round trip, at least 8 (8 at Telegram's
    free 29 a second, 100 at 1,000). No more: every request in flight when the Bot API
    stalls arrives there at once when it resumes."""
    return min(MOST_CONNECTIONS, max(8, math.ceil(rate * ROUND_TRIP_SECONDS)))


def in_flight_for(connections: int) -> int:
    """DELIVERY_CONCURRENCY's default: four times the ``connections``, at least 64 (64
    at 29 a second, 400 at 1,000). A digest waits for its slot in the pacer, leased up to a
    fifth of a second ahead, before its request takes a connection: at 64, one worker
    sent 820 of its 1,000 a second (README, benchmark row 37)."""
    return min(MOST_IN_FLIGHT, max(64, 4 * connections))


@dataclass(frozen=True, slots=True)
class Sizing:
    """A process's HTTP connections to the Bot API and digests in flight in a delivery
    pass: TELEGRAM_CONNECTIONS and DELIVERY_CONCURRENCY when set, else sized for its
    share of the ``rate``. Every process in a pass at once shares the one budget (on
    PostgreSQL), so each needs only its part of the connections: four workers sized each
    for the whole 1,000 a second held 400 requests in flight; when the Bot API stalled,
    all of them arrived at once (853 responses 429 and 50 digests sent twice, where
    connections sized by hand for each worker's share had none; README, benchmark rows
    47 and 50)."""

    rate: float
    connections: int | None = None  # set by hand
    in_flight: int | None = None  # set by hand

    def for_senders(self, senders: int) -> tuple[int, int]:
        """(connections, digests in flight) for one of ``senders`` processes in a pass."""
        connections = self.connections or connections_for(self.rate / max(1, senders))
        return connections, self.in_flight or in_flight_for(connections)


def stars(messages: int) -> Decimal:
    """What ``messages`` paid messages beyond the free 30 a second cost."""
    return messages * STARS_PER_MESSAGE


class Seconds:
    """One process's digest slots by whole second of the clock (seconds since the epoch),
    counted as they are used, in time order."""

    def __init__(self) -> None:
        self._second = -math.inf
        self._used = 0  # slots used in that second

    def beyond_free(self, at: float) -> bool:
        """The slot at ``at`` is used: whether it is beyond the free 30 of its second. A
        slot used late, its second already past, counts in the current one."""
        second = math.floor(at)
        if second > self._second:
            self._second, self._used = second, 0
        self._used += 1
        return self._used > FREE_PER_SECOND


def lease_beyond_free(count: int, before: int, first: int) -> list[bool]:
    """Which of a lease's ``count`` slots are beyond the free 30 of their second. The
    first ``first`` of them fall in the second the lease begins in, after the ``before``
    slots other leases had there; the rest fall in the next second, which had none yet
    (the shared row hands slots out in time order, and a lease spans less than a
    second)."""
    return [(before + n if n < first else n - first) >= FREE_PER_SECOND for n in range(count)]
