"""Many due subscribers at once, for delivery tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.tags import make_tag
from storage import repo
from tests.auxil.clock import FakeClock


async def add_due_subscribers(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, chats: range, tag: str
) -> None:
    async with sessions.begin() as session:
        [tag_row] = await repo.ensure_tags(session, [make_tag(tag)])
        for chat in chats:
            subscriber = await repo.create_subscriber(
                session,
                chat,
                timezone="UTC",
                digest_time=clock().time(),
                next_due_at=clock(),
                now=clock(),
            )
            await repo.subscribe(session, subscriber.id, [tag_row.id], now=clock())
