"""What /stats counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatType, Digest, DigestStatus, Subscriber, Subscription
from storage.records import ChatCounts, Stats
from storage.repo.articles import count_articles
from storage.repo.tags import count_used_tags


async def _chats_by_type(session: AsyncSession) -> ChatCounts:
    query = (
        select(Subscriber.chat_type, func.count())
        .where(Subscriber.blocked.is_(False))
        .group_by(Subscriber.chat_type)
    )
    found = {str(kind): int(n) for kind, n in (await session.execute(query)).all()}
    return ChatCounts(
        private=found.get(ChatType.PRIVATE, 0),
        groups=found.get(ChatType.GROUP, 0) + found.get(ChatType.SUPERGROUP, 0),
        channels=found.get(ChatType.CHANNEL, 0),
    )


async def stats(session: AsyncSession, now: datetime) -> Stats:
    async def count(query: Any) -> int:
        return int(await session.scalar(query) or 0)

    subscribers = select(func.count()).select_from(Subscriber)
    return Stats(
        articles=await count_articles(session),
        tags=await count_used_tags(session),
        subscribers_active=await count(
            subscribers.where(Subscriber.paused.is_(False), Subscriber.blocked.is_(False))
        ),
        subscribers_paused=await count(
            subscribers.where(Subscriber.paused.is_(True), Subscriber.blocked.is_(False))
        ),
        subscribers_blocked=await count(subscribers.where(Subscriber.blocked.is_(True))),
        chats=await _chats_by_type(session),
        subscriptions=await count(select(func.count()).select_from(Subscription)),
        digests_sent_24h=await count(
            select(func.count())
            .select_from(Digest)
            .where(
                Digest.status == DigestStatus.SENT,
                Digest.sent_at >= now - timedelta(hours=24),
                Digest.sent_chunks > 0,  # not a silent one (ledger rows only: NewDigest)
            )
        ),
    )
