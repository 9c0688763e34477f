"""The admins' article use cases: delete and bring back, list, count. Each takes the
session and leaves the commit to the caller."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repo
from storage.models import Article
from storage.records import Stats


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
