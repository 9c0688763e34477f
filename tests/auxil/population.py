from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.articles.importer import import_files
from bot.articles.tags import split_tag_list
from bot.config import Settings
from bot.delivery.compose import compose_digest
from bot.delivery.outbox import Outbound
from bot.subscriptions import service
from storage import repo
from storage.db import create_engine, create_sessionmaker, upgrade
from storage.models import DigestKind
from tests.auxil.data import SEEDS
from tests.auxil.postgres import reset_schema


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


async def compose_for(
    session: AsyncSession,
    chat_id: int,
    *,
    settings: Settings,
    now: datetime,
    kind: DigestKind = DigestKind.SCHEDULED,
    bot_username: str = "newsbot_demo_bot",
) -> Outbound | None:
    """The digest of ``kind`` that ``chat_id``'s subscriber gets now, composed and
    stored, not sent; None when nothing is new."""
    subscriber = await repo.get_subscriber(session, chat_id)
    assert subscriber is not None
    composed = await compose_digest(
        session,
        subscriber,
        policy=settings.digest,
        now=now,
        kind=kind,
        bot_username=bot_username,
    )
    return composed.outbound


async def composed_digest(
    session: AsyncSession, chat_id: int, *, settings: Settings, now: datetime
) -> Outbound:
    """The scheduled digest of ``chat_id``'s subscriber, composed and stored, not sent."""
    outbound = await compose_for(session, chat_id, settings=settings, now=now)
    assert outbound is not None
    return outbound


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


async def seeded_postgres(
    url: str,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession], Settings]:
    """The test's PostgreSQL database emptied, at the newest schema, with the seeds
    imported: for tests whose `newsbot` processes share it."""
    await reset_schema(url)
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    await import_files(sessions, [SEEDS])
    return engine, sessions, Settings(_env_file=None, database_url=url)
