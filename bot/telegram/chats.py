"""Which chat a command acts for, and who may change it.

In a private chat a command acts for the person's own chat, or for the channel (or
group) they linked and selected (/channel, /channels). In a group it acts for the group:
every member may read (/digest, /subscriptions, /help, page buttons), and only the
group's administrators change anything. Administrators are asked of Telegram
(getChatMember) and remembered for `ADMIN_TTL` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from typing import Any

from cachetools import TTLCache
from telegram import Chat, Update
from telegram.constants import ChatID, ChatMemberStatus
from telegram.error import TelegramError

from storage.models import ChatType

ADMIN_TTL = 300.0  # seconds an answer of getChatMember is trusted
ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
GROUPS = frozenset({Chat.GROUP, Chat.SUPERGROUP})


@dataclass(frozen=True, slots=True)
class Acting:
    """The chat an update's command acts for."""

    chat_id: int
    chat_type: ChatType
    title: str | None
    here: bool  # the chat the update came from (not a linked channel)


class AdminCache:
    """(chat, user) -> administrator or not, for a few minutes; bounded."""

    def __init__(
        self,
        ttl: float = ADMIN_TTL,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: TTLCache[tuple[int, int], bool] = TTLCache(size, ttl, timer=clock)

    def get(self, chat_id: int, user_id: int) -> bool | None:
        return self._seen.get((chat_id, user_id))

    def put(self, chat_id: int, user_id: int, admin: bool) -> None:
        self._seen[(chat_id, user_id)] = admin

    def forget(self, chat_id: int) -> None:
        """A chat's administrators changed (the bot was promoted or demoted there)."""
        for key in [k for k in self._seen if k[0] == chat_id]:
            del self._seen[key]


async def is_admin(bot: Any, cache: AdminCache, chat_id: int, user_id: int) -> bool:
    """Whether ``user_id`` administers ``chat_id``; a chat Telegram will not tell about
    (the bot was removed, the chat is gone) has no administrators."""
    known = cache.get(chat_id, user_id)
    if known is not None:
        return known
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    admin = member.status in ADMIN_STATUSES
    cache.put(chat_id, user_id, admin)
    return admin


def chat_type_of(chat: Chat) -> ChatType:
    try:
        return ChatType(chat.type)
    except ValueError:  # "sender": not a chat the bot keeps
        return ChatType.PRIVATE


def sent_by_the_chat(update: Update) -> bool:
    """An anonymous group administrator (Telegram sends as the group itself)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return False
    sender = message.sender_chat
    user = update.effective_user
    return (sender is not None and sender.id == chat.id) or (
        user is not None and user.id == ChatID.ANONYMOUS_ADMIN and sender is not None
    )


Handler = Callable[..., Coroutine[Any, Any, None]]


def guard(check: Callable[..., Coroutine[Any, Any, bool]]) -> Callable[[Handler], Handler]:
    """A handler that runs only when ``check(update, context)`` allows it (``check`` has
    answered the person when it does not)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(update: Update, context: Any) -> None:
            if await check(update, context):
                await handler(update, context)

        return guarded

    return decorate
