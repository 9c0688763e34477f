from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.tags import split_tag_list
from bot.config import Settings
from bot.subscriptions import service
from storage import repo


async def add_subscriber(
    sessions: async_sessionmaker[AsyncSession],
    chat_id: int,
    tags: str,
    *,
    settings: Settings,
    now: datetime,
    due_at: datetime | None = None,
    paused: bool = False,
    blocked: bool = False,
) -> None:
    """A subscriber as /start and /subscribe would make one, due at ``due_at``."""
    await add_subscribers(
        sessions, [chat_id], tags, settings=settings, now=now, due_at=due_at,
        paused=paused, blocked=blocked,
    )  # fmt: skip


async def add_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    chat_ids: Iterable[int],
    tags: str,
    *,
    settings: Settings,
    now: datetime,
    due_at: datetime | None = None,
    paused: bool = False,
    blocked: bool = False,
) -> None:
    """`add_subscriber` for many chats, in one transaction."""
    async with sessions.begin() as session:
        for chat_id in chat_ids:
            subscriber = await service.ensure_subscriber(session, chat_id, settings.defaults, now)
            await service.subscribe(session, subscriber, split_tag_list(tags), now)
            subscriber.paused = paused
            subscriber.blocked = blocked
            if due_at is not None:
                subscriber.next_due_at = due_at


async def next_due_of(sessions: async_sessionmaker[AsyncSession], chat_id: int) -> datetime:
    async with sessions() as session:
        subscriber = await repo.get_subscriber(session, chat_id)
        assert subscriber is not None
        return subscriber.next_due_at
