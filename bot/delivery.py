"""Composing digests and sending them: exactly once per period, paced, resumable.

A digest is composed in one transaction that also writes its ledger rows and advances
the subscriber's next due time; the rendered messages are kept on the digest row (an
outbox). Sending then walks those messages and records what went out (`SentLog`), so a
digest interrupted by a crash, a 5xx or a flood wait is resumed later from the first
unrecorded message rather than composed again. See README, "How delivery works".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.config import Settings
from bot.digest import (
    DigestItem,
    Selection,
    TagArticles,
    deep_link,
    render_digest,
    select_articles,
)
from bot.schedule import reschedule
from storage import repo
from storage.models import Subscriber

logger = logging.getLogger(__name__)

SCHEDULED = "scheduled"
MANUAL = "manual"
LEASE = timedelta(minutes=5)
COMPOSE_BATCH = 1000
RECORD_WINDOW = 0.05  # seconds between group commits of sent messages in a pass


class SendResult(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    POSTPONED = "postponed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outbound:
    """A composed digest, ready to be sent from message ``sent_chunks`` on."""

    digest_id: int
    subscriber_id: int
    chat_id: int
    chunks: list[dict[str, Any]]
    sent_chunks: int = 0
    message_ids: tuple[int, ...] = ()

    @property
    def article_count(self) -> int:
        return sum(len(chunk["article_ids"]) for chunk in self.chunks)


@dataclass
class PassReport:
    due: int = 0
    empty: int = 0
    resumed: int = 0
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SendResult, 0))

    def __str__(self) -> str:
        sent = ", ".join(f"{n} {result}" for result, n in self.results.items())
        return f"{self.due} due ({self.empty} with nothing new), {self.resumed} resumed; {sent}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.5
    later: timedelta = timedelta(0)


class TagIndex:
    """Each tag's recent articles, read once per delivery pass (see `TagArticles`).

    Composing 100k digests one SQL query at a time spends most of its time sorting and
    counting the same popular tags over and over; here each tag is read once.
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.articles = TagArticles()

    async def load(self, session: AsyncSession, tag_ids: set[int]) -> None:
        missing = sorted(t for t in tag_ids if t not in self.articles)
        for tag_id, rows in (await repo.tag_articles(session, missing, self.since)).items():
            self.articles.add(tag_id, rows)

    def select(self, tag_ids: list[int], delivered: set[int], max_items: int) -> Selection:
        return self.articles.select(tag_ids, delivered, max_items)


async def _record(
    session: AsyncSession,
    plans: list[tuple[Subscriber, Selection]],
    *,
    now: datetime,
    kind: str,
    bot_username: str,
) -> list[Outbound]:
    """Render the selected digests and store them with their ledger rows."""
    wanted = list(dict.fromkeys(a for _, selection in plans for a in selection.article_ids))
    articles = await repo.digest_lines(session, wanted)
    tags = await repo.tags_of_articles(session, wanted)
    hint = "send /digest for more now" if kind == MANUAL else "they come in your next digest"
    new: list[repo.NewDigest] = []
    for subscriber, selection in plans:
        items = [
            DigestItem(
                article_id=a.id,
                title=a.title,
                summary=a.summary,
                link=a.url or deep_link(bot_username, a.id),
                tags=tuple(tags.get(a.id, ())),
            )
            for a in (articles[i] for i in selection.article_ids)
        ]
        count = len(items)
        header = f"📰 Your digest: {count} new {'article' if count == 1 else 'articles'}"
        rendered = render_digest(
            items, remaining=selection.remaining, header=header, more_hint=hint
        )
        new.append(
            repo.NewDigest(
                subscriber.id, kind, [c.as_json() for c in rendered], selection.article_ids
            )
        )
    ids = await repo.create_digests(session, new, now=now, lease_until=now + LEASE)
    return [
        Outbound(digest_id, subscriber.id, subscriber.chat_id, digest.chunks)
        for digest_id, digest, (subscriber, _) in zip(ids, new, plans, strict=True)
    ]


async def compose_digest(
    session: AsyncSession,
    subscriber: Subscriber,
    *,
    settings: Settings,
    now: datetime,
    kind: str,
    bot_username: str,
) -> Outbound | None:
    """Select, render and record one digest (/digest); None when nothing is new."""
    since = now - timedelta(days=settings.digest_max_age_days)
    candidates, total = await repo.undelivered_candidates(
        session, subscriber.id, since, settings.digest_max_items
    )
    selection = select_articles(candidates, settings.digest_max_items, total)
    if not selection.article_ids:
        return None
    [outbound] = await _record(
        session, [(subscriber, selection)], now=now, kind=kind, bot_username=bot_username
    )
    return outbound


class SentLog:
    """Records which messages of which digests are out.

    With ``window`` 0 every message is recorded before the next is sent (/digest). In a
    delivery pass records are group-committed every ``window`` seconds: one transaction
    per message would cap delivery at a few hundred messages a second on SQLite, and the
    price is that a crash may re-send the messages of the last ``window`` (see README).
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
        self._flusher: asyncio.Task[None] | None = None

    async def note(self, digest_id: int, message_ids: list[int], total: int) -> None:
        self._pending[digest_id] = repo.SentProgress(digest_id, list(message_ids), total)
        if self.window <= 0:
            await self.flush()
        elif self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.window)
        await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = list(self._pending.values()), {}
        async with self.sessions.begin() as session:
            await repo.record_sent(session, batch, now=self.clock(), lease=LEASE)

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        await self.flush()


async def send_digest(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    outbound: Outbound,
    *,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    log: SentLog | None = None,
) -> SendResult:
    """Send the digest's unsent messages in order; record each; classify the outcome."""
    log = log or SentLog(sessions, clock)
    message_ids = list(outbound.message_ids)
    for index in range(outbound.sent_chunks, len(outbound.chunks)):
        chunk = outbound.chunks[index]
        attempt = 0
        while True:
            try:
                message = await bot.send_message(outbound.chat_id, chunk["text"])
                break
            except Forbidden as error:
                return await _give_up(log, outbound, str(error), blocked=True)
            except BadRequest as error:
                if "chat not found" in error.message.lower():
                    return await _give_up(log, outbound, str(error), blocked=True)
                logger.error("digest %s refused by Telegram: %s", outbound.digest_id, error)
                return await _give_up(log, outbound, str(error), blocked=False)
            except RetryAfter as error:
                return await _postpone(log, outbound, clock() + policy.later, str(error))
            except NetworkError as error:
                attempt += 1
                if attempt >= policy.attempts:
                    logger.warning(
                        "digest %s: %s after %d attempts; leaving it for the next tick",
                        outbound.digest_id,
                        error,
                        attempt,
                    )
                    return await _postpone(log, outbound, clock() + policy.later, str(error))
                await asyncio.sleep(policy.backoff * 2 ** (attempt - 1))
            except TelegramError as error:
                logger.error("digest %s: %s", outbound.digest_id, error)
                return await _postpone(log, outbound, clock() + policy.later, str(error))
        message_ids.append(message.message_id)
        await log.note(outbound.digest_id, message_ids, len(outbound.chunks))
    return SendResult.SENT


async def _give_up(log: SentLog, outbound: Outbound, error: str, *, blocked: bool) -> SendResult:
    await log.flush()  # what was sent must be on record before the rest is released
    async with log.sessions.begin() as session:
        await repo.fail_digest(session, outbound.digest_id, error=error)
        if blocked:
            await repo.set_blocked(session, outbound.subscriber_id, True)
    if blocked:
        logger.info(
            "chat %s cannot receive messages (%s): marked blocked", outbound.chat_id, error
        )
        return SendResult.BLOCKED
    return SendResult.FAILED


async def _postpone(log: SentLog, outbound: Outbound, until: datetime, error: str) -> SendResult:
    await log.flush()
    async with log.sessions.begin() as session:
        await repo.postpone_digest(session, outbound.digest_id, until=until, error=error)
    return SendResult.POSTPONED


async def compose_due_batch(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    bot_username: str,
    report: PassReport,
    index: TagIndex,
    size: int = COMPOSE_BATCH,
) -> tuple[int, list[Outbound]]:
    """Claim up to ``size`` due subscribers, compose their digests and advance their
    schedules, all in one transaction; return how many were claimed and what to send."""
    async with sessions.begin() as session:
        subscribers = await repo.claim_due_subscribers(session, now, size)
        if not subscribers:
            return 0, []
        ids = [s.id for s in subscribers]
        tags = await repo.subscription_tags(session, ids)
        await index.load(session, {t for tag_ids in tags.values() for t in tag_ids})
        delivered = await repo.delivered_since(session, ids, index.since)
        plans: list[tuple[Subscriber, Selection]] = []
        for subscriber in subscribers:
            selection = index.select(
                tags[subscriber.id], delivered[subscriber.id], settings.digest_max_items
            )
            reschedule(subscriber, now)
            if selection.article_ids:
                plans.append((subscriber, selection))
            else:
                report.empty += 1
        composed = await _record(
            session, plans, now=now, kind=SCHEDULED, bot_username=bot_username
        )
        report.due += len(subscribers)
    return len(subscribers), composed


class Deliverer:
    """One delivery pass: resume interrupted digests, then compose and send the due ones."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        policy: RetryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self._lock = asyncio.Lock()

    async def run_pass(self) -> PassReport:
        # A slow pass must not overlap the next tick in the same process.
        async with self._lock:
            return await self._run_pass()

    async def _run_pass(self) -> PassReport:
        report = PassReport()
        limit = asyncio.Semaphore(self.settings.delivery_concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def send(outbound: Outbound) -> None:
            try:
                result = await send_digest(
                    self.bot,
                    self.sessions,
                    outbound,
                    clock=self.clock,
                    policy=self.policy,
                    log=log,
                )
            except Exception:
                logger.exception("sending digest %s failed", outbound.digest_id)
                result = SendResult.POSTPONED
            finally:
                limit.release()
            report.results[result] += 1

        async def spawn(outbound: Outbound) -> None:
            await limit.acquire()
            task = asyncio.create_task(send(outbound))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        # Articles added during the pass wait for the next one; the index is per pass.
        index = TagIndex(self.clock() - timedelta(days=self.settings.digest_max_age_days))
        log = SentLog(self.sessions, self.clock, window=RECORD_WINDOW)
        for outbound in await self._claim_stale():
            report.resumed += 1
            await spawn(outbound)
        while True:
            now = self.clock()
            claimed, batch = await compose_due_batch(
                self.sessions,
                self.settings,
                now=now,
                bot_username=self.bot.username,
                report=report,
                index=index,
            )
            if not claimed:
                break
            for outbound in batch:
                await spawn(outbound)
        if tasks:
            await asyncio.gather(*tasks)
        await log.close()
        if report.due or report.resumed:
            logger.info("delivery pass: %s", report)
        return report

    async def _claim_stale(self) -> list[Outbound]:
        async with self.sessions.begin() as session:
            digests = await repo.claim_stale_digests(session, self.clock(), 1000, LEASE)
            chats = await repo.chat_ids(session, [d.subscriber_id for d in digests])
        return [
            Outbound(
                d.id,
                d.subscriber_id,
                chats[d.subscriber_id],
                d.chunks,
                d.sent_chunks,
                tuple(d.message_ids),
            )
            for d in digests
        ]
