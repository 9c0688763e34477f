"""Sending composed digests: in order, resumable, and recorded as they go out.

Takes an `Outbound` from bot.compose, sends its unsent messages, and records what went
out (`SentLog`), so a digest interrupted by a crash, a 5xx or a flood wait is resumed
later from the first unrecorded message rather than composed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum, auto

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.delivery.outbox import LEASE, Chunk, Outbound
from bot.i18n import FALLBACK, translator
from bot.ops.logjson import digest_context
from bot.telegram.ratelimit import Lane
from bot.telegram.stops import LEASE_LOW, ChatStopped, LeaseSpent, StopList
from storage import repo
from storage.retry import retrying
from util import backoff

logger = logging.getLogger(__name__)

RECORD_WINDOW = 0.05  # seconds between group commits of sent messages in a pass
SEND_MESSAGE = "sendMessage"
# `_send_message` calls sendMessage through do_api_request on purpose; PTB warns at that.
warnings.filterwarnings(
    "ignore", message=rf"Please use 'Bot\.{SEND_MESSAGE}'", category=PTBUserWarning
)


class SendResult(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    POSTPONED = "postponed"
    FAILED = "failed"
    STOPPED = "stopped"  # the chat asked to be forgotten meanwhile (/forget)
    LEFT = "left"  # its lease ran low before a message's turn: the rest left pending


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.5
    later: timedelta = timedelta(0)


class SentLog:
    """Records which messages of which digests are out.

    With ``window`` 0 every message is recorded before the next is sent (/digest). In a
    delivery pass records are group-committed every ``window`` seconds: one transaction
    per message would cap delivery at a few hundred messages a second on SQLite, and the
    price is that a crash may re-send the messages of the last ``window`` (see README).

    A record leaves memory only once its transaction committed: a failed write keeps it
    and tries again, since a lost record means the whole digest is sent twice when its
    lease runs out. Use it as ``async with``: the background writer is stopped and every
    record written on the way out.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        window: float = 0.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.window = window
        self._pending: dict[int, repo.SentProgress] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def __aenter__(self) -> SentLog:
        if self.window > 0:
            self._writer = asyncio.create_task(self._write_every_window())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def unwritten(self) -> int:
        return len(self._pending)

    async def note(self, digest_id: int, message_ids: list[int], total: int) -> None:
        self._pending[digest_id] = repo.SentProgress(digest_id, list(message_ids), total)
        if self._writer is None:
            await self.flush()
        else:
            self._wake.set()

    async def _write_every_window(self) -> None:
        while True:
            await self._wake.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.window)
            if self._stop.is_set():
                return  # close() writes what is left
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                # Kept in memory: written at the next window, or at the latest on close.
                logger.exception("could not record %d sent digests; will retry", self.unwritten)
                self._wake.set()

    async def flush(self) -> None:
        """Write every record noted so far (retrying a dropped connection)."""
        await retrying(self._write_once, "recording sent messages")

    async def _write_once(self) -> None:
        if not self._pending:
            return
        batch = dict(self._pending)
        async with self.sessions.begin() as session:
            await repo.record_sent(session, list(batch.values()), now=self.clock(), lease=LEASE)
        for digest_id, progress in batch.items():
            if self._pending.get(digest_id) is progress:  # not superseded meanwhile
                del self._pending[digest_id]

    async def close(self) -> None:
        """Stop the background writer (letting a write in progress finish) and write what
        is left; raises only when the database stayed unreachable through the retries."""
        if self._writer is not None:
            self._stop.set()
            self._wake.set()
            await self._writer
            self._writer = None
        await self.flush()


async def send_digest(
    bot: ExtBot[int],
    sessions: async_sessionmaker[AsyncSession],
    outbound: Outbound,
    *,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    log: SentLog | None = None,
    lane: Lane = Lane.REPLY,
    stops: StopList | None = None,
    paid: bool = False,
    lease_low: Callable[[], bool] | None = None,
) -> SendResult:
    """Send the digest's unsent messages in order; record each; classify the outcome.
    A chat forgotten meanwhile (``stops`` in this process; its outbox row gone, for a
    forget in another process) gets nothing more. With ``paid`` (PAID_BROADCAST, a
    delivery pass) the messages go with allow_paid_broadcast; the pacer counts those
    sent beyond the free 30 of their second. ``lease_low`` (a delivery pass): whether
    the digest's lease is too nearly spent for its next message to go out, asked before
    and after that message waits for its turn; then the rest of it is left pending, for
    whoever takes it up once the lease has run out."""
    digest_context(outbound.digest_id, outbound.chat_id)
    log = log or SentLog(sessions, clock)
    message_ids = list(outbound.message_ids)
    began = stops.now() if stops is not None else 0.0
    for index in range(outbound.sent_chunks, outbound.total):
        if stops is not None and stops.stopped(outbound.chat_id, began):
            return SendResult.STOPPED
        if index > outbound.sent_chunks and not await _still_kept(sessions, outbound):
            return SendResult.STOPPED
        attempt = 0
        while True:
            try:
                message_id = await _send_fenced(bot, outbound, index, lane, paid, lease_low)
                break
            except ChatStopped:
                return SendResult.STOPPED
            except LeaseSpent:
                return SendResult.LEFT
            except TelegramError as error:
                if isinstance(error, ChatMigrated) and error.new_chat_id != outbound.chat_id:
                    outbound = await _moved(sessions, outbound, error.new_chat_id)
                    continue  # the group is a supergroup now: follow it
                refusal = topic_refusal(error)
                if outbound.thread_id and refusal is not None:
                    outbound = await _to_general(bot, sessions, outbound, refusal, lane)
                    continue
                attempt += 1
                verdict = _verdict(error, attempt, policy, outbound.digest_id)
                if verdict is not _Verdict.RETRY:
                    return await _settle(verdict, log, outbound, index, str(error), clock, policy)
                await asyncio.sleep(backoff(attempt - 1, policy.backoff))
        message_ids.append(message_id)
        await log.note(outbound.digest_id, message_ids, outbound.total)
    return SendResult.SENT


async def _send_fenced(
    bot: ExtBot[int],
    outbound: Outbound,
    index: int,
    lane: Lane,
    paid: bool,
    lease_low: Callable[[], bool] | None,
) -> int:
    """`_send_message`, which the pacer refuses (`LeaseSpent`) if ``lease_low`` says so
    before the message waits for its turn or once it has it. Every message of the
    digest is checked against the lease it had when it was composed or taken up: its
    records renew it, but a record may not be committed yet."""
    fence = LEASE_LOW.set(lease_low)
    try:
        return await _send_message(bot, outbound, index, lane, paid=paid)
    finally:
        LEASE_LOW.reset(fence)


async def _send_message(
    bot: ExtBot[int], outbound: Outbound, index: int, lane: Lane, *, paid: bool
) -> int:
    """Send one message of a digest; its id.

    Through `do_api_request` with no return type, not `send_message`: the latter turns
    every reply into a `Message` (its chat, its sender, each entity of the text), which
    was a fifth of a delivery pass's CPU, and a digest keeps only the id. The bot's
    defaults are not applied there, so they are passed here."""
    chunk = outbound.chunk(index)
    defaults = bot.defaults
    try:
        sent = await bot.do_api_request(
            SEND_MESSAGE,
            {
                "chat_id": outbound.chat_id,
                "text": chunk.text,
                "parse_mode": defaults.parse_mode if defaults is not None else None,
                "link_preview_options": defaults.link_preview_options if defaults else None,
                "message_thread_id": outbound.thread_id,
                "reply_markup": _keyboard(chunk),
                "allow_paid_broadcast": True if paid else None,
            },
            rate_limit_args=lane,
        )
    except EndPointNotFound as error:
        # do_api_request's name for a 401 or 404 once the bot is initialized: here the
        # method exists, so the token was revoked (InvalidToken, as send_message says).
        raise InvalidToken(str(error.__cause__ or error)) from error
    return int(sent["message_id"])


async def _still_kept(sessions: async_sessionmaker[AsyncSession], outbound: Outbound) -> bool:
    """Whether the digest's outbox row is still there: a chat forgotten by another
    process (`newsbot privacy forget`, another worker's /forget) loses it."""

    async def kept() -> bool:
        async with sessions() as session:
            return await repo.digest_kept(session, outbound.digest_id)

    return await retrying(kept, f"checking digest {outbound.digest_id}")


def _keyboard(chunk: Chunk) -> InlineKeyboardMarkup | None:
    """A message's URL buttons ("Show all N reports"), one per row."""
    if not chunk.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, url=url)] for text, url in chunk.buttons]
    )


class TopicRefusal(StrEnum):
    """Why Telegram refused a message for its forum topic."""

    CLOSED = "closed"  # TOPIC_CLOSED: only administrators who manage topics post there
    DELETED = "deleted"  # TOPIC_DELETED, or "message thread not found"


def topic_refusal(error: TelegramError) -> TopicRefusal | None:
    """Whether Telegram refused the message because of its topic (PTB capitalizes the
    description: "Topic_closed")."""
    if not isinstance(error, BadRequest):
        return None
    said = error.message.lower()
    if "topic_closed" in said:
        return TopicRefusal.CLOSED
    if "topic_deleted" in said or "thread not found" in said:
        return TopicRefusal.DELETED
    return None


async def _to_general(
    bot: ExtBot[int],
    sessions: async_sessionmaker[AsyncSession],
    outbound: Outbound,
    refusal: TopicRefusal,
    lane: Lane,
) -> Outbound:
    """The forum topic digests went to is closed or deleted: from now on they go to
    General, and the group is told there, once (the next digest goes to General
    directly, until an administrator's command in a topic chooses one again)."""
    assert outbound.thread_id is not None
    logger.warning(
        "chat %s: topic %s is %s; digests go to the General topic from now on",
        outbound.chat_id,
        outbound.thread_id,
        refusal,
    )

    async def forget() -> str | None:
        async with sessions.begin() as session:
            await repo.set_thread(session, outbound.subscriber_id, None)
            return await repo.language_of(session, outbound.chat_id)

    language = await retrying(forget, f"forgetting the topic of chat {outbound.chat_id}")
    closed = refusal is TopicRefusal.CLOSED
    notice = texts.topic_fallback(
        translator(language or FALLBACK), outbound.thread_id, closed=closed
    )
    try:
        await bot.send_message(outbound.chat_id, notice, rate_limit_args=lane)
    except TelegramError as error:  # the digest itself will meet the same refusal, if any
        logger.warning("chat %s: could not say where digests go now: %s", outbound.chat_id, error)
    return replace(outbound, thread_id=None)


async def _moved(
    sessions: async_sessionmaker[AsyncSession], outbound: Outbound, new_chat_id: int
) -> Outbound:
    """Telegram says the group became a supergroup: its row takes the new id."""
    logger.info("chat %s became supergroup %s; following it", outbound.chat_id, new_chat_id)

    async def move() -> None:
        async with sessions.begin() as session:
            await repo.move_chat(session, outbound.chat_id, new_chat_id)

    await retrying(move, f"moving chat {outbound.chat_id} to {new_chat_id}")
    return replace(outbound, chat_id=new_chat_id)


class _Verdict(Enum):
    """What to do with a digest after Telegram refused one of its messages."""

    RETRY = auto()  # send the same message again after a backoff
    BLOCK = auto()  # the chat cannot receive: fail the digest, mark the subscriber blocked
    REFUSE = auto()  # Telegram will never take this message: fail the digest
    POSTPONE = auto()  # leave the digest for a later tick


def _verdict(error: TelegramError, attempt: int, policy: RetryPolicy, digest_id: int) -> _Verdict:
    """Classify the error of the ``attempt``-th try at sending one message (logging it)."""
    # BadRequest is a NetworkError subclass, so it is told apart first.
    if isinstance(error, Forbidden) or (
        isinstance(error, BadRequest) and "chat not found" in error.message.lower()
    ):
        return _Verdict.BLOCK
    if isinstance(error, BadRequest):
        logger.error("digest %s refused by Telegram: %s", digest_id, error)
        return _Verdict.REFUSE
    if isinstance(error, NetworkError):
        if attempt < policy.attempts:
            return _Verdict.RETRY
        logger.warning(
            "digest %s: %s after %d attempts; leaving it for the next tick",
            digest_id,
            error,
            attempt,
        )
    elif not isinstance(error, RetryAfter):
        logger.error("digest %s: %s", digest_id, error)
    return _Verdict.POSTPONE


async def _settle(
    verdict: _Verdict,
    log: SentLog,
    outbound: Outbound,
    unsent_from: int,
    error: str,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
) -> SendResult:
    if verdict is _Verdict.POSTPONE:
        return await _postpone(log, outbound, clock() + policy.later, error)
    return await _give_up(log, outbound, unsent_from, error, blocked=verdict is _Verdict.BLOCK)


async def _give_up(
    log: SentLog, outbound: Outbound, unsent_from: int, error: str, *, blocked: bool
) -> SendResult:
    await log.flush()  # what was sent must be on record before the rest is released

    async def release() -> None:
        async with log.sessions.begin() as session:
            await repo.fail_digest(
                session,
                outbound.digest_id,
                unsent_article_ids=outbound.article_ids_from(unsent_from),
                error=error,
            )
            if blocked:
                await repo.mark_blocked(session, outbound.subscriber_id, log.clock())

    await retrying(release, f"giving up digest {outbound.digest_id}")
    if blocked:
        logger.info(
            "chat %s cannot receive messages (%s): marked blocked", outbound.chat_id, error
        )
        return SendResult.BLOCKED
    return SendResult.FAILED


async def _postpone(log: SentLog, outbound: Outbound, until: datetime, error: str) -> SendResult:
    await log.flush()

    async def postpone() -> None:
        async with log.sessions.begin() as session:
            await repo.postpone_digest(session, outbound.digest_id, until=until, error=error)

    await retrying(postpone, f"postponing digest {outbound.digest_id}")
    return SendResult.POSTPONED
