"""What a paid broadcast costs: the messages a delivery pass sent above Telegram's free
rate, counted per second of the pass, at 0.1 Telegram Stars each (PAID_BROADCAST; see
README, "How delivery works").

Pure code: no Telegram, no database.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

FREE_PER_SECOND = 30  # Telegram's broadcasting limit, free of charge
PAID_PER_SECOND = 1000  # with allow_paid_broadcast (telegram.constants.FloodLimit)
STARS_PER_MESSAGE = Decimal("0.1")  # each message beyond the free 30, paid that way


class BroadcastTally:
    """The messages of one pass, by whole second since the pass began (``clock`` is
    monotonic, in seconds). A second with more than the free 30 pays for the rest."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.began = clock()
        self._per_second: Counter[int] = Counter()

    def note(self) -> None:
        """One message went out now."""
        self._per_second[int(self.clock() - self.began)] += 1

    @property
    def sent(self) -> int:
        return sum(self._per_second.values())

    @property
    def above_free(self) -> int:
        """Messages sent beyond the free 30 in their second: the paid ones."""
        return sum(max(0, n - FREE_PER_SECOND) for n in self._per_second.values())

    @property
    def stars(self) -> Decimal:
        return self.above_free * STARS_PER_MESSAGE
