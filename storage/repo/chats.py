"""Chats: a group that became a supergroup, and who manages which chat (the channels and
groups a person linked, and the one their commands act for)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatManager, ChatType, Subscriber
from storage.repo.subscribers import get_subscriber
from storage.sql import insert_ignore


async def move_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """A group became a supergroup: its row (subscriptions, words, ledger, schedule) takes
    the new id. A row the new supergroup already got (an update from it came first) gives
    way. False when the old chat has no row.

    Telegram tells both chats, and their updates are handled at once: the old row is
    locked, so the second mover waits and then finds nothing to move. Before the lock, the
    second could read the row, wait out the first, and then delete it as the new chat's
    row: the group lost its subscriptions (seen on PostgreSQL under load)."""
    old = await get_subscriber(session, old_chat_id, for_update=True)
    if old is None:
        return False
    await session.execute(delete(Subscriber).where(Subscriber.chat_id == new_chat_id))
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == old.id)
        .values(chat_id=new_chat_id, chat_type=ChatType.SUPERGROUP)
    )
    return True


async def add_manager(
    session: AsyncSession, user_id: int, subscriber_id: int, now: datetime
) -> None:
    """``user_id`` administers the chat and linked it; it becomes their selected one."""
    await session.execute(
        insert_ignore(
            session,
            ChatManager,
            [
                {
                    "user_id": user_id,
                    "subscriber_id": subscriber_id,
                    "selected": False,
                    "created_at": now,
                }
            ],
        )
    )
    await select_chat(session, user_id, subscriber_id)


async def select_chat(session: AsyncSession, user_id: int, subscriber_id: int | None) -> None:
    """Make one of the user's linked chats the one their commands act for (None: their
    own private chat again)."""
    await session.execute(
        update(ChatManager)
        .where(ChatManager.user_id == user_id)
        .values(selected=ChatManager.subscriber_id == subscriber_id)
    )


async def selected_chat(session: AsyncSession, user_id: int) -> Subscriber | None:
    query = (
        select(Subscriber)
        .join(ChatManager, ChatManager.subscriber_id == Subscriber.id)
        .where(ChatManager.user_id == user_id, ChatManager.selected.is_(True))
    )
    return await session.scalar(query)


async def managed_chats(session: AsyncSession, user_id: int) -> list[tuple[Subscriber, bool]]:
    """The chats the user linked, oldest first, each with whether it is selected."""
    query = (
        select(Subscriber, ChatManager.selected)
        .join(ChatManager, ChatManager.subscriber_id == Subscriber.id)
        .where(ChatManager.user_id == user_id)
        .order_by(ChatManager.created_at, Subscriber.id)
    )
    return [(row[0], bool(row[1])) for row in (await session.execute(query)).all()]


async def manages(session: AsyncSession, user_id: int, subscriber_id: int) -> bool:
    """Whether the user linked the chat (and may act for it while they administer it)."""
    query = select(ChatManager.user_id).where(
        ChatManager.user_id == user_id, ChatManager.subscriber_id == subscriber_id
    )
    return await session.scalar(query) is not None


async def drop_manager(session: AsyncSession, user_id: int, subscriber_id: int) -> None:
    await session.execute(
        delete(ChatManager).where(
            ChatManager.user_id == user_id, ChatManager.subscriber_id == subscriber_id
        )
    )
