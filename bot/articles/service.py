"""The article use cases: a reader's deep link to one; the admins' delete and bring back,
list, count. Each takes the session and leaves the commit to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.telegram.buttons import MAX_ID
from storage import repo
from storage.models import Article
from storage.records import Stats


@dataclass(frozen=True, slots=True)
class Linked:
    """What a deep link to an article (/start a<id>) shows: the article and its tags, or
    None, with whether no article ever had the id (else an admin deleted it)."""

    article: Article | None
    tags: list[str]
    never: bool


async def linked(session: AsyncSession, article_id: int) -> Linked:
    article = await repo.get_article(session, article_id) if 1 <= article_id <= MAX_ID else None
    if article is None or article.deleted_at is not None:
        never = article is None and article_id > await repo.last_article_id(session)
        return Linked(None, [], never)
    return Linked(article, (await repo.tags_of_articles(session, [article.id]))[article.id], False)


async def delete(session: AsyncSession, article_id: int, now: datetime) -> Article | None:
    """Take an article out of every view; None when there is no such article (see
    `storage.repo.delete_article`)."""
    return await repo.delete_article(session, article_id, now)


async def undelete(session: AsyncSession, article_id: int) -> tuple[Article | None, bool]:
    """Bring an article back: the article (None when there is none), and whether it was
    deleted until now."""
    before = await repo.get_article(session, article_id)
    was_deleted = before is not None and before.deleted_at is not None
    return await repo.undelete_article(session, article_id), was_deleted


async def deleted(session: AsyncSession, limit: int) -> list[Article]:
    """The articles admins deleted, the most recent first."""
    return await repo.deleted_articles(session, limit)


async def latest(session: AsyncSession, limit: int) -> list[Article]:
    return await repo.latest_articles(session, limit)


async def stats(session: AsyncSession, now: datetime) -> Stats:
    return await repo.stats(session, now)
