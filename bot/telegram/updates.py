"""Updates from different chats run concurrently; one chat's run in order; a flood is cut.

python-telegram-bot hands every update to an update processor (`concurrent_updates`).
The default one runs them all at once, in no order per chat; a value of 1 runs them one at
a time, so a chat that sends 60 messages makes every other chat wait behind its paced
replies. `ChatUpdateProcessor` keeps one lock per chat instead, and asks a `Throttle`
first, so that a flood's surplus is dropped before it reaches any handler or the
database.

Who is throttled (`throttle_key`): a person, not a chat. In a private chat, the chat; in
a group, each member, and only for what is addressed to the bot (a command, a reply to
one of its messages, a mention, a button press): group chatter is never counted, never
answered. Inline queries and presses under inline-mode messages have no chat: their
sender is throttled, in buckets of their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cachetools import LRUCache
from telegram import Chat, Message, MessageEntity, Update
from telegram.ext import BaseUpdateProcessor

from bot.ops import metrics
from bot.ops.logjson import update_context
from util import KeyedLocks

logger = logging.getLogger(__name__)


class Verdict(Enum):
    ADMIT = "admit"
    NOTIFY = "notify"  # the first update refused in a flood: tell the sender once
    DROP = "drop"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    notified: bool = False


class Throttle:
    """A token bucket per sender: up to ``burst`` updates at once, then ``rate`` a second.

    A person paging through lists and pressing toggles as fast as a person can never
    empties it (README: the measured session); what a script sends beyond it is refused.
    Memory stays bounded over any number of senders: beyond ``max_keys`` the least
    recently seen one is forgotten (it starts again with a full bucket).
    """

    def __init__(
        self,
        burst: int = 60,
        rate: float = 1.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self._buckets: LRUCache[Hashable, _Bucket] = LRUCache(maxsize=max_keys)

    def check(self, key: Hashable, *, answered: bool = False) -> Verdict:
        """Whether ``key``'s update may pass. The first one refused in a run is NOTIFY
        (its sender is told once), unless ``answered``: a press is answered every time,
        and must not use up the notice a message refused after it would get."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.notified = False
            return Verdict.ADMIT
        if bucket.notified or answered:
            return Verdict.DROP
        bucket.notified = True
        return Verdict.NOTIFY

    def __len__(self) -> int:
        return len(self._buckets)


def addressed_to_bot(message: Message, bot_id: int, username: str) -> bool:
    """Whether a group message is for the bot: a command (``/cmd`` or ``/cmd@thisbot``,
    not ``/cmd@otherbot``), a reply to one of its messages, or a mention of it."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    entities = message.parse_entities() or message.parse_caption_entities()
    mine = f"@{username}".casefold()
    for entity, text in entities.items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, at, addressee = text.partition("@")
            return not at or f"@{addressee}".casefold() == mine
        if entity.type == MessageEntity.MENTION and text.casefold() == mine:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
    return False


def throttle_key(update: object, bot_id: int, username: str) -> Hashable | None:
    """Whose bucket an update takes from; None: not throttled (what Telegram says about
    the bot's membership, and chatter in a group)."""
    if not isinstance(update, Update):
        return None
    if update.inline_query is not None:
        return ("inline", update.inline_query.from_user.id)
    chat = update.effective_chat
    if update.callback_query is not None:
        user = update.callback_query.from_user.id
        if chat is None:  # a press under an inline-mode message
            return ("user", user)
        return ("chat", chat.id) if chat.type == Chat.PRIVATE else ("member", chat.id, user)
    return None if update.message is None else _message_key(update.message, bot_id, username)


def _message_key(message: Message, bot_id: int, username: str) -> Hashable | None:
    """A private chat's bucket; a group member's, for what they address to the bot."""
    if message.chat.type == Chat.PRIVATE:
        return ("chat", message.chat.id)
    if not addressed_to_bot(message, bot_id, username):
        return None
    sender = message.sender_chat or message.from_user
    return ("member", message.chat.id, sender.id if sender else 0)


Refusal = Callable[[Update, Verdict], Awaitable[Any]]
KeyOf = Callable[[object], Hashable | None]


class ChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat, throttled per sender."""

    def __init__(self, max_concurrent_updates: int, throttle: Throttle) -> None:
        super().__init__(max_concurrent_updates)
        self.throttle = throttle
        # Both set once the bot exists (see bot.telegram.app): whose bucket an update takes from,
        # and what a refused sender is told.
        self.key_of: KeyOf = lambda update: None
        self.refuse: Refusal | None = None
        self._chats: KeyedLocks[int] = KeyedLocks()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self.key_of(update)
        pressed = isinstance(update, Update) and update.callback_query is not None
        verdict = Verdict.ADMIT if key is None else self.throttle.check(key, answered=pressed)
        if verdict is not Verdict.ADMIT:
            metrics.update_dropped()
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # never started: no handler, no database work
            assert isinstance(update, Update)
            if update.callback_query is not None:  # answered at once: the spinner stops
                await self._refuse(update, verdict)
                return
        chat = update.effective_chat if isinstance(update, Update) else None
        update_context(update)  # for the log lines of its handling (LOG_FORMAT=json)
        if chat is None:  # inline mode: no chat, no order to keep
            if verdict is Verdict.ADMIT:
                with metrics.handling(_label(update)):
                    await coroutine
            elif verdict is Verdict.NOTIFY:
                assert isinstance(update, Update)
                await self._refuse(update, verdict)
            return
        if verdict is Verdict.DROP:
            return
        async with self._chats(chat.id):  # one chat's updates in order
            if verdict is Verdict.ADMIT:
                with metrics.handling(_label(update)):
                    await coroutine
            else:  # after the replies to what came before: the notice is last
                assert isinstance(update, Update)
                await self._refuse(update, verdict)

    async def _refuse(self, update: Update, verdict: Verdict) -> None:
        if self.refuse is None:
            return
        try:
            await self.refuse(update, verdict)
        except Exception as error:  # a courtesy; never let it break polling
            logger.warning("could not tell a throttled sender to slow down: %s", error)


def _label(update: object) -> str:
    """An update's label in the handling-time histogram (bot.ops.metrics)."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "press"
    if update.inline_query is not None:
        return "inline"
    message = update.message
    if message is not None:
        return metrics.update_label(message.text or message.caption, "message")
    return "other"
