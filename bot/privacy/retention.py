"""Retention: what the delivery tick deletes besides old digests (README, "Privacy")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import RetentionPolicy
from storage import repo

logger = logging.getLogger(__name__)

# A ledger row serves only while its article can be selected; the margin is the one the
# digest purge keeps (bot.delivery.deliverer.PURGE_MARGIN), for a pass composing with an
# older now.
LEDGER_MARGIN = timedelta(days=1)
RETENTION_BATCH = 500  # digests per transaction
RETENTION_BATCHES = 20  # at most this many per tick; the rest go at the next ones
BLOCKED_PER_TICK = 100  # chats forgotten per tick, one transaction each


@dataclass
class RetentionReport:
    ledger: int = 0
    chats: int = 0


class Retention:
    """What the delivery tick deletes besides old digests (bot.delivery.purge): the ledger
    rows of digests older than DIGEST_MAX_AGE_DAYS plus a margin (none of their articles
    can be selected any more, so the rows serve no purpose), and the chats that could not
    receive messages for FORGET_BLOCKED_DAYS.

    The ledger is walked by digest creation time from where the last tick stopped (held
    in memory: after a restart the walk begins again at the oldest digest), so each tick
    reads only digests it has not cleared yet."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: RetentionPolicy,
        *,
        on_forgotten: Callable[[int], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.on_forgotten = on_forgotten
        self._cursor: tuple[datetime, int] | None = None

    async def enforce(self, now: datetime) -> RetentionReport:
        report = RetentionReport()
        try:
            report.ledger = await self._ledger(now)
            report.chats = await self._blocked(now)
        except Exception:
            logger.exception("enforcing retention failed; the next tick tries again")
        if report.ledger or report.chats:
            logger.info(
                "retention: %d ledger rows of old digests deleted, %d chats blocked for %d "
                "days forgotten",
                report.ledger,
                report.chats,
                self.policy.forget_blocked_days,
            )
        return report

    async def _ledger(self, now: datetime) -> int:
        before = now - self.policy.selectable - LEDGER_MARGIN
        deleted = 0
        for _ in range(RETENTION_BATCHES):
            async with self.sessions.begin() as session:
                found = await repo.digests_created_between(
                    session, self._cursor, before, RETENTION_BATCH
                )
                deleted += await repo.drop_ledger_of(session, [d for _, d in found])
            if found:
                self._cursor = found[-1]
            if len(found) < RETENTION_BATCH:
                break
        return deleted

    async def _blocked(self, now: datetime) -> int:
        before = now - timedelta(days=self.policy.forget_blocked_days)
        async with self.sessions() as session:
            chats = await repo.blocked_before(session, before, BLOCKED_PER_TICK)
        for chat_id in chats:
            async with self.sessions.begin() as session:
                await repo.forget_chat(session, chat_id)
            if self.on_forgotten is not None:
                self.on_forgotten(chat_id)
        return len(chats)
