"""The typed context handlers and jobs receive: settings, sessions and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Message, Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.presence import Presence
from bot.feeds.service import FeedService
from bot.i18n import Translator, translator
from bot.telegram.chats import Acting, AdminCache
from bot.telegram.send import RetryPolicy
from bot.telegram.stops import StopList

Clock = Callable[[], datetime]
T = TypeVar("T")
INLINE_CACHE_SECONDS = 60  # how long Telegram may cache an inline answer, and so do we


def utc_now() -> datetime:
    return datetime.now(UTC)


class Late(Generic[T]):
    """An attribute of `AppState` that the application sets as it starts (kept as
    ``_name``); reading it before then is a bug, and the assertion says when it is set."""

    def __init__(self, when: str) -> None:
        self.when = when
        self.attribute = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = f"_{name}"

    @overload
    def __get__(self, state: None, owner: type) -> Late[T]: ...
    @overload
    def __get__(self, state: AppState, owner: type) -> T: ...
    def __get__(self, state: AppState | None, owner: type) -> T | Late[T]:
        if state is None:
            return self
        value: T | None = getattr(state, self.attribute)
        assert value is not None, f"{self.attribute[1:]} is {self.when}"
        return value


class AppState:
    """What handlers and jobs share, typed. Filled in by `build_application` and post_init."""

    settings: Late[Settings] = Late("set by build_application")
    sessions: Late[async_sessionmaker[AsyncSession]] = Late("opened in post_init")
    engine: Late[AsyncEngine] = Late("opened in post_init")
    feeds: Late[FeedService] = Late("made in post_init")
    deliverer: Late[Deliverer] = Late("made in post_init")

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._deliverer: Deliverer | None = None
        self._feeds: FeedService | None = None
        self.clock: Clock = utc_now
        self.migrate = True
        self.retry_policy = RetryPolicy()
        self.admins = AdminCache()
        # Chats forgotten (/forget) while a digest of theirs may be on its way
        # (bot.telegram.stops).
        self.stops = StopList()
        # Whether the log already said how to make a refused user an admin (once a process).
        self.admin_hint_logged = False
        # Inline mode: answers by (query's terms, language, page), and inline users'
        # languages, for a minute; bounded (see bot.telegram.handlers.words.inline_search).
        self.inline_answers: TTLCache[Hashable, Any] = TTLCache(
            maxsize=1_024, ttl=INLINE_CACHE_SECONDS
        )
        self.inline_languages: TTLCache[int, str] = TTLCache(
            maxsize=10_000, ttl=INLINE_CACHE_SECONDS
        )
        self.inline_pending: dict[Hashable, asyncio.Future[Any]] = {}  # answers being made

    def configure(self, settings: Settings, clock: Clock, retry_policy: RetryPolicy) -> None:
        self._settings = settings
        self.clock = clock
        self.retry_policy = retry_policy

    def attach(self, engine: AsyncEngine, deliverer: Deliverer, feeds: FeedService) -> None:
        """Hold the database, deliverer and feed service that post_init opened."""
        self._engine = engine
        self._sessions = deliverer.sessions
        self._deliverer = deliverer
        self._feeds = feeds

    def detach(self) -> tuple[AsyncEngine | None, FeedService | None]:
        """Let go of the engine and the feed service, for post_shutdown to close."""
        engine, self._engine = self._engine, None
        feeds, self._feeds = self._feeds, None
        return engine, feeds

    @property
    def presence(self) -> Presence | None:
        """This process's heartbeat, once post_init registered it."""
        return self._deliverer.presence if self._deliverer is not None else None


@dataclass(slots=True)
class ChatData:
    """What the process keeps per chat, read once (see
    `bot.telegram.handlers.common.know_chat`): its
    language (changed by /language) and the chat a private chat's commands act for
    (changed by /channel and /channels)."""

    language: str | None = None
    target: Acting | None = None
    target_known: bool = False


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], ChatData, AppState]):
    def __init__(
        self, application: Any, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id, user_id)
        # The chat this update's command acts for (set before every handler).
        self.acting: Acting | None = None
        # Why a pressed button may not act for its chat (when ``acting`` is None).
        self.refusal: str | None = None

    @property
    def state(self) -> AppState:
        return self.bot_data

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.bot_data.sessions

    def now(self) -> datetime:
        return self.bot_data.clock()

    @property
    def t(self) -> Translator:
        """The chat's language (DEFAULT_LANGUAGE before it is known)."""
        known = self.chat_data.language if self.chat_data is not None else None
        return translator(known or self.settings.default_language)

    def sender_is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return self.settings.is_admin(user.id if user else None)


def message_of(update: Update) -> Message:
    """The update's message; every handler here is registered for updates that have one."""
    assert update.effective_message is not None
    return update.effective_message


BotApplication = Application[ExtBot[int], BotContext, dict[Any, Any], ChatData, AppState, Any]
