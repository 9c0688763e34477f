"""Tags: their rows, created as articles and subscriptions name them, and their counts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ArticleTag, Subscription, Tag
from storage.records import Tag as TagName
from storage.sql import chunks, insert_ignore


async def ensure_tags(session: AsyncSession, tags: Sequence[TagName]) -> list[Tag]:
    """The rows for ``tags``, creating the missing ones; the first display form is kept."""
    if not tags:
        return []
    keys = [tag.key for tag in tags]
    rows = [{"key": tag.key, "name": tag.name} for tag in tags]
    for part in chunks(rows, 2_000):
        await session.execute(insert_ignore(session, Tag, list(part)))
    found = {row.key: row for row in await tags_by_key(session, keys)}
    return [found[key] for key in keys]


async def tags_by_key(session: AsyncSession, keys: Sequence[str]) -> list[Tag]:
    result: list[Tag] = []
    for part in chunks(list(keys)):
        result.extend((await session.scalars(select(Tag).where(Tag.key.in_(part)))).all())
    return result


async def tag_by_id(session: AsyncSession, tag_id: int) -> Tag | None:
    return await session.get(Tag, tag_id)


async def tag_names(session: AsyncSession) -> list[Tag]:
    """Tags that have at least one article: the vocabulary for suggestions."""
    used = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Tag.id)
    return list((await session.scalars(select(Tag).where(exists(used)))).all())


async def popular_tags(
    session: AsyncSession, *, limit: int, offset: int = 0
) -> list[tuple[Tag, int]]:
    """Tags by article count, most used first."""
    count = func.count(ArticleTag.article_id).label("n")
    query = (
        select(Tag, count)
        .join(ArticleTag, ArticleTag.tag_id == Tag.id)
        .group_by(Tag.id)
        .order_by(count.desc(), Tag.key)
        .limit(limit)
        .offset(offset)
    )
    return [(tag, n) for tag, n in (await session.execute(query)).all()]


async def count_used_tags(session: AsyncSession) -> int:
    query = select(func.count(func.distinct(ArticleTag.tag_id)))
    return int(await session.scalar(query) or 0)


async def article_counts(session: AsyncSession, tag_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(ArticleTag.tag_id, func.count())
        .where(ArticleTag.tag_id.in_(tag_ids))
        .group_by(ArticleTag.tag_id)
    )
    return dict((await session.execute(query)).all())


async def drop_unused_tags(session: AsyncSession, tag_ids: Sequence[int]) -> None:
    """Delete those of ``tag_ids`` that no article and no subscriber uses any more: the
    rows a subscription to a tag without articles created go when it ends."""
    if not tag_ids:
        return
    articles = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Tag.id)
    subscribers = select(Subscription.tag_id).where(Subscription.tag_id == Tag.id)
    await session.execute(
        delete(Tag).where(Tag.id.in_(tag_ids), ~exists(articles), ~exists(subscribers))
    )
