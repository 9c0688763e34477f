"""Subscriptions: which tags a subscriber follows, and the articles those tags (and the
followed words) bring that the subscriber has not had."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ArticleTag,
    Subscription,
    Tag,
)
from storage.repo.articles import recent_by_link
from storage.sql import grouped, insert_ignore


async def subscribed_tags(session: AsyncSession, subscriber_id: int) -> list[Tag]:
    query = (
        select(Tag)
        .join(Subscription, Subscription.tag_id == Tag.id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Tag.key)
    )
    return list((await session.scalars(query)).all())


async def subscribe(
    session: AsyncSession, subscriber_id: int, tag_ids: Sequence[int], *, now: datetime
) -> None:
    if tag_ids:
        rows = [{"subscriber_id": subscriber_id, "tag_id": t, "created_at": now} for t in tag_ids]
        await session.execute(insert_ignore(session, Subscription, rows))


async def unsubscribe(
    session: AsyncSession, subscriber_id: int, tag_ids: Sequence[int]
) -> set[int]:
    """Remove the links; return the tag ids that were subscribed."""
    query = select(Subscription.tag_id).where(
        Subscription.subscriber_id == subscriber_id, Subscription.tag_id.in_(tag_ids)
    )
    removed = set((await session.scalars(query)).all())
    if removed:
        await session.execute(
            delete(Subscription).where(
                Subscription.subscriber_id == subscriber_id, Subscription.tag_id.in_(removed)
            )
        )
    return removed


async def count_pending_subscriptions(session: AsyncSession, subscriber_id: int) -> int:
    """How many of the subscriber's tags have no articles yet."""
    used = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Subscription.tag_id)
    query = (
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.subscriber_id == subscriber_id, ~exists(used))
    )
    return int(await session.scalar(query) or 0)


async def subscription_tags(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, list[int]]:
    def query(part: Sequence[int]) -> Select[int, int]:
        return select(Subscription.subscriber_id, Subscription.tag_id).where(
            Subscription.subscriber_id.in_(part)
        )

    return await grouped(session, subscriber_ids, query)


async def tag_articles(
    session: AsyncSession, tag_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[int, datetime, int]]]:
    """Per tag, (article id, published_at, story id) of the articles added since ``since``."""
    return await recent_by_link(session, ArticleTag.tag_id, ArticleTag.article_id, tag_ids, since)
