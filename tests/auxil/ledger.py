"""What the ledger holds: (subscriber, article) for every article a digest delivered
(storage.models.Digest.ledger, packed per digest)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Digest


async def ledger_pairs(session: AsyncSession) -> set[tuple[int, int]]:
    query = select(Digest.subscriber_id, Digest.ledger).where(Digest.ledger.is_not(None))
    return {(s, a) for s, ledger in (await session.execute(query)).all() for a in ledger or ()}


async def ledger_articles(session: AsyncSession, subscriber_id: int | None = None) -> set[int]:
    """The articles delivered (to one subscriber, or to anyone)."""
    pairs = await ledger_pairs(session)
    return {a for s, a in pairs if subscriber_id is None or s == subscriber_id}
