"""Subscriptions: which tags a subscriber follows, and the articles those tags (and the
followed words) bring that the subscriber has not had."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Article,
    ArticleTag,
    ArticleWord,
    DeliveredArticle,
    SubscriberWord,
    Subscription,
    Tag,
)
from storage.records import WordKind
from storage.repo.articles import SHOWN, recent_by_link
from storage.sql import grouped, insert_ignore
from storage.stories import STORY


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


async def undelivered_candidates(
    session: AsyncSession, subscriber_id: int, since: datetime, limit: int
) -> tuple[list[tuple[int, datetime, int]], int, set[int]]:
    """The newest ``limit`` stories with an article that has any of the subscriber's tags
    or followed words, was added since ``since`` and was not yet delivered to them, and no
    article with a muted word: per story its newest such article, as (id, published_at,
    story id). Also how many such stories there are in all, and which of the returned
    stories the subscriber already had. Sorting and counting stay in the database: a
    popular tag has thousands of candidates, and only a digest's worth should cross into
    Python."""
    delivered = select(DeliveredArticle.article_id).where(
        DeliveredArticle.subscriber_id == subscriber_id,
        DeliveredArticle.article_id == Article.id,
    )
    by_tag = (
        select(ArticleTag.article_id)
        .join(Subscription, Subscription.tag_id == ArticleTag.tag_id)
        .where(Subscription.subscriber_id == subscriber_id)
    )
    by_word = (
        select(ArticleWord.article_id)
        .join(SubscriberWord, SubscriberWord.word_id == ArticleWord.word_id)
        .where(SubscriberWord.subscriber_id == subscriber_id)
    )
    muted_article = aliased(Article)
    muted_stories = (
        select(func.coalesce(muted_article.story_id, muted_article.id))
        .join(ArticleWord, ArticleWord.article_id == muted_article.id)
        .join(SubscriberWord, SubscriberWord.word_id == ArticleWord.word_id)
        .where(
            SubscriberWord.subscriber_id == subscriber_id,
            SubscriberWord.kind == WordKind.MUTE,
            muted_article.added_at >= since,
            muted_article.deleted_at.is_(None),  # as the batch path reads mutes
        )
    )
    matching = (
        select(Article.id, Article.published_at, STORY.label("story"))
        .where(
            Article.id.in_(union(by_tag, by_word.where(SubscriberWord.kind == WordKind.FOLLOW))),
            Article.added_at >= since,
            SHOWN,
            ~exists(delivered),
            STORY.not_in(muted_stories),
        )
        .cte("matching")
    )
    stories_in_all = select(func.count(func.distinct(matching.c.story))).scalar_subquery()
    # The newest matches, a few per story the digest can hold: each story's newest one is
    # among them unless stories have many matching articles each; then read further.
    fetch = limit * 3
    while True:
        query = (
            select(matching.c.id, matching.c.published_at, matching.c.story, stories_in_all)
            .order_by(matching.c.published_at.desc(), matching.c.id.desc())
            .limit(fetch)
        )
        found = (await session.execute(query)).all()
        total = int(found[0][3]) if found else 0
        newest: dict[int, tuple[int, datetime, int]] = {}
        for article_id, published, story_id, _ in found:
            newest.setdefault(story_id, (article_id, published, story_id))
        if len(newest) >= min(limit, total) or len(found) < fetch:
            break
        fetch *= 4
    rows = list(newest.values())[:limit]
    stories = [row[2] for row in rows]
    had: set[int] = set()
    if stories:
        had_query = (
            select(STORY)
            .join(DeliveredArticle, DeliveredArticle.article_id == Article.id)
            .where(DeliveredArticle.subscriber_id == subscriber_id, STORY.in_(stories))
            .distinct()
        )
        had = set((await session.scalars(had_query)).all())
    return rows, total, had


async def tag_articles(
    session: AsyncSession, tag_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[int, datetime, int]]]:
    """Per tag, (article id, published_at, story id) of the articles added since ``since``."""
    return await recent_by_link(session, ArticleTag.tag_id, ArticleTag.article_id, tag_ids, since)
