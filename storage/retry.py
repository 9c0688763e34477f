"""Retrying a transaction after a dropped database connection.

A PostgreSQL restart or a terminated backend fails the transaction that was using the
connection; the pool (pre-ping) replaces the connection, and the work is safe to repeat
because each step here is one transaction that either committed or did not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from util import backoff

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RetryStats:
    """Transactions retried in this process (the bot's metrics read it)."""

    retries = 0


STATS = RetryStats()
ATTEMPTS = 5
BACKOFF = 0.1  # seconds, doubled after each failure: 0.1, 0.2, 0.4, 0.8


def is_transient(error: BaseException) -> bool:
    """A lost connection or a momentary refusal, as opposed to a bug or a bad row."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def retrying(work: Callable[[], Awaitable[T]], what: str, *, attempts: int = ATTEMPTS) -> T:
    """Run ``work`` (one whole transaction), again after a transient database error."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except DBAPIError as error:
            if attempt == attempts or not is_transient(error):
                raise
            STATS.retries += 1
            logger.warning(
                "%s: database error (%s); retry %d of %d",
                what,
                str(error.orig).strip() or type(error.orig).__name__,
                attempt,
                attempts - 1,
            )
            await asyncio.sleep(backoff(attempt - 1, BACKOFF))
    raise AssertionError("unreachable")  # pragma: no cover
