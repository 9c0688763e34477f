"""What the operator's gauges and readiness ask the database (bot.ops): small counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Digest, DigestStatus, Feed, Subscriber


async def pending_digests(session: AsyncSession) -> int:
    """Digests in the outbox: composed and not yet sent or given up."""
    query = select(func.count()).select_from(Digest).where(Digest.status == DigestStatus.PENDING)
    return int((await session.execute(query)).scalar_one())


async def due_subscribers(session: AsyncSession, now: datetime) -> int:
    """Subscribers whose digest is due now (not paused, not blocked)."""
    query = (
        select(func.count())
        .select_from(Subscriber)
        .where(
            Subscriber.next_due_at <= now,
            Subscriber.paused.is_(False),
            Subscriber.blocked.is_(False),
        )
    )
    return int((await session.execute(query)).scalar_one())


async def failing_feeds(session: AsyncSession, since: datetime) -> list[Feed]:
    """Feeds (not removed) that have failed every poll since ``since`` or earlier."""
    query = (
        select(Feed)
        .where(
            Feed.removed_at.is_(None),
            Feed.failures > 0,
            Feed.failing_since.is_not(None),
            Feed.failing_since <= since,
        )
        .order_by(Feed.id)
    )
    return list((await session.scalars(query)).all())
