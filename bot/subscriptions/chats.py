"""Which chat a person's commands act for, and the bot's place in a chat: linked
channels (who manages which, the one selected), a chat's language, blocking, and a
group's move to a supergroup. Each takes the session and leaves the commit to the caller."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.articles.plaintext import chat_title
from bot.subscriptions.schedule import reschedule
from storage import repo
from storage.models import Subscriber


async def by_chat(session: AsyncSession, chat_id: int) -> Subscriber | None:
    return await repo.get_subscriber(session, chat_id)


async def by_id(session: AsyncSession, subscriber_id: int) -> Subscriber | None:
    return await repo.subscriber_by_id(session, subscriber_id)


async def language_of(session: AsyncSession, chat_id: int) -> str | None:
    """The language a chat chose, or None for a chat the bot does not know."""
    return await repo.language_of(session, chat_id)


async def selected(session: AsyncSession, user_id: int) -> Subscriber | None:
    """The linked chat a person's commands act for, or None for their own chat."""
    return await repo.selected_chat(session, user_id)


async def select(
    session: AsyncSession, user_id: int, subscriber_id: int | None
) -> Subscriber | None:
    """Make a person's commands act for a chat they linked (None: their own chat); the
    chat they act for now."""
    await repo.select_chat(session, user_id, subscriber_id)
    return await repo.selected_chat(session, user_id)


async def linked(session: AsyncSession, user_id: int) -> list[tuple[Subscriber, bool]]:
    """The chats a person linked, each with whether it is the selected one."""
    return await repo.managed_chats(session, user_id)


async def manages(session: AsyncSession, user_id: int, subscriber_id: int) -> bool:
    return await repo.manages(session, user_id, subscriber_id)


async def link(session: AsyncSession, user_id: int, chat: Subscriber, now: datetime) -> None:
    """A person links a channel they administer; one added back after being removed gets
    digests again."""
    if chat.blocked:
        chat.blocked = False
        reschedule(chat, now)
    await repo.add_manager(session, user_id, chat.id, now)


async def unlink(session: AsyncSession, user_id: int, subscriber_id: int) -> None:
    """A person no longer administers a chat they linked."""
    await repo.drop_manager(session, user_id, subscriber_id)


def set_active(chat: Subscriber, active: bool, title: str | None, now: datetime) -> None:
    """The bot may post in a chat again (rescheduled when it may not until now), or no
    longer may; a group's or channel's title is kept up to date."""
    if active and chat.blocked:
        reschedule(chat, now)
    if not active and not chat.blocked:  # since when, for FORGET_BLOCKED_DAYS
        chat.blocked_at = now
    chat.blocked = not active
    if shown := chat_title(title):
        chat.title = shown


async def move(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """A group became a supergroup: its row moves to the new id (see
    `storage.repo.move_chat`)."""
    return await repo.move_chat(session, old_chat_id, new_chat_id)
