"""The delivery pass: resume interrupted digests, compose the due ones (bot.delivery.compose),
send them (bot.telegram.send), and purge old outbox rows. Exactly once per period, paced,
resumable; see README, "How delivery works"."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import ExtBot

from bot.config import DeliveryPolicy
from bot.delivery.broadcast import FREE_PER_SECOND, stars
from bot.delivery.compose import COMPOSE_BATCH, Batch, TagIndex, compose_due_batch
from bot.delivery.lead import (
    AHEAD_WITHIN,
    LEASE_LEFT_TO_SEND,
    LEASE_LEFT_TO_START,
    PACE_SAMPLE,
    Pace,
    batch_for,
    compose_ahead,
    lease_left,
)
from bot.delivery.outbox import LEASE, ChunkFormatError, Outbound, chunks_from_json
from bot.delivery.presence import Presence
from bot.ops import metrics
from bot.privacy.retention import Retention
from bot.telegram.ratelimit import Lane, PacingRateLimiter
from bot.telegram.send import RECORD_WINDOW, RetryPolicy, SendResult, SentLog, send_digest
from bot.telegram.stops import StopList
from storage import repo
from storage import stories as stories_repo
from storage.retry import retrying
from util import Gate

logger = logging.getLogger(__name__)

STALE_BATCH = 1000
PURGE_BATCH = 500  # digests per delete: short transactions beside a delivery
PURGE_BATCHES = 20  # at most this many per tick; the rest go at the next ones
# The purge spares ledger rows of articles a little older than the selection window too,
# so that a pass still composing with an older "now" never re-selects one.
PURGE_MARGIN = timedelta(days=1)
# A pass composes no more once this many digests in a row could not be sent (Telegram
# out of reach or answering 5xx, a 429 beyond the retries, this process's heartbeat
# late): rather than compose every due reader's digest only to postpone it, it leaves
# the rest due for the next tick.
UNSENT_IN_A_ROW = 20


class Ended(StrEnum):
    """Why a pass ended before every due reader had a digest."""

    STOPPING = "the process is stopping"
    UNSENT = f"{UNSENT_IN_A_ROW} digests in a row could not be sent"
    LATE = "this process's heartbeat is late"
    LEASE = "digests' leases ran low before they could be sent"


@dataclass
class PassReport:
    due: int = 0
    empty: int = 0
    skipped: int = 0
    resumed: int = 0
    purged: int = 0
    results: dict[SendResult, int] = field(default_factory=lambda: dict.fromkeys(SendResult, 0))
    # PAID_BROADCAST: messages sent beyond the free 30 in their second (counting every
    # process's on PostgreSQL), and their cost.
    paid: int | None = None
    stars: Decimal = Decimal(0)
    ended: Ended | None = None  # the pass stopped with work perhaps left, and why

    @property
    def sent(self) -> int:
        return self.results[SendResult.SENT]

    def add(self, batch: Batch) -> None:
        self.due += batch.claimed
        self.empty += batch.empty
        self.skipped += batch.skipped

    def __str__(self) -> str:
        sent = ", ".join(f"{n} {result}" for result, n in self.results.items())
        paid = (
            ""
            if self.paid is None
            else f"; {self.paid} messages above the free {FREE_PER_SECOND}/s ({self.stars} Stars)"
        )
        early = "" if self.ended is None else f"; ended early: {self.ended}"
        return (
            f"{self.due} due ({self.empty} with nothing new, {self.skipped} not composed), "
            f"{self.resumed} resumed; {sent}; {self.purged} old digests purged{paid}{early}"
        )


class Deliverer:
    """One delivery pass: resume interrupted digests, then compose and send the due ones."""

    batch = COMPOSE_BATCH  # readers claimed and composed at a time
    ahead_within = AHEAD_WITHIN  # seconds; see bot.delivery.lead
    pace_sample = PACE_SAMPLE

    def __init__(
        self,
        bot: ExtBot[int],
        sessions: async_sessionmaker[AsyncSession],
        delivery: DeliveryPolicy,
        *,
        clock: Callable[[], datetime],
        policy: RetryPolicy | None = None,
        stops: StopList | None = None,
        presence: Presence | None = None,
    ) -> None:
        self.bot = bot
        # This process's heartbeat: digests it holds name it, and those of a process
        # that stopped beating are resumed (bot.delivery.presence). None: leases only.
        self.presence = presence
        self.stops = stops or StopList()
        self.retention = Retention(sessions, delivery.retention)
        self.sessions = sessions
        self.delivery = delivery
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self._lock = asyncio.Lock()
        self.sized_for: int | None = None  # the processes in a pass the last sizing was for
        self.stopping = False  # see `stop`
        self.passes = 0  # completed passes
        self._passed = asyncio.Condition()
        # For readiness (bot.ops.health): when the running pass started, the last ended.
        self.pass_started: float | None = None
        self.last_pass_ended: float | None = None

    async def run_pass(self) -> PassReport:
        # A slow pass must not overlap the next tick in the same process.
        async with self._lock:
            self.pass_started = started = time.monotonic()
            try:
                report = await self._run_pass()
            finally:
                ended = time.monotonic()
                self.pass_started, self.last_pass_ended = None, ended
        composed = report.due - report.empty - report.skipped
        results = {str(result): n for result, n in report.results.items()}
        metrics.delivery_pass(ended - started, composed, results, time.time())
        if report.paid:
            metrics.paid_broadcast(report.paid, float(report.stars))
        async with self._passed:
            self.passes += 1
            self._passed.notify_all()
        if report.due or report.resumed or report.purged:
            logger.info("delivery pass: %s", report)
        return report

    def stop(self) -> None:
        """The process is stopping (SIGTERM, SIGINT): a pass under way starts no more
        digests, lets those being sent finish and records them, and ends. What it composed
        and did not start stays pending in this process's name: once its row goes (a
        clean stop deletes it) another process resumes it at its next tick (within a
        heartbeat if it is in a pass), or this one when it starts again. Final: the
        process does not deliver again."""
        self.stopping = True

    async def wait_for_passes(self, total: int) -> None:
        """Return once ``total`` passes have completed (for the periodic job's watchers)."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.passes >= total)

    async def _run_pass(self) -> PassReport:
        report = await _Pass(self).run()
        if report.ended is not None:
            logger.warning("delivery pass ended early (%s); the rest waits", report.ended)
        if report.ended is not Ended.STOPPING:
            report.purged = await self.purge()
        return report

    async def _send(
        self, outbound: Outbound, log: SentLog, leased_until: datetime | None
    ) -> SendResult:
        """One digest of the pass: in the bulk lane, recorded through the pass's ``log``;
        the rest left pending if its lease runs low before a message's turn."""

        def lease_low() -> bool:
            return leased_until is not None and not lease_left(
                self.clock(), leased_until, LEASE_LEFT_TO_SEND
            )

        return await send_digest(
            self.bot, self.sessions, outbound, clock=self.clock, policy=self.policy,
            log=log, lane=Lane.BULK, stops=self.stops, paid=self.delivery.paid_broadcast,
            lease_low=lease_low,
        )  # fmt: skip

    def _paid_so_far(self) -> int:
        """The paid messages this process sent beyond the free 30 of their second, as
        the pacer's budget counted them (a pass is the difference: one pass at a time,
        and only passes send paid)."""
        limiter = self.bot.rate_limiter
        return limiter.paid if isinstance(limiter, PacingRateLimiter) else 0

    @property
    def _look_every(self) -> float:
        """Seconds between two looks for orphaned digests within a pass."""
        return self.presence.beat_every if self.presence is not None else LEASE.total_seconds()

    async def _claim_stale(self) -> tuple[list[Outbound], datetime]:
        """Stale digests, leased anew to this process, and until when."""
        now = self.clock()
        presence = self.presence
        async with self.sessions.begin() as session:
            digests = await repo.claim_stale_digests(
                session,
                now,
                STALE_BATCH,
                LEASE,
                owner=presence.id if presence is not None else None,
                seen_since=presence.seen_since(now) if presence is not None else None,
            )
            chats = await repo.destinations(session, [d.subscriber_id for d in digests])
            unsent = await repo.unsent_messages(session, [d.id for d in digests])
            resumable: list[Outbound] = []
            for d in digests:
                try:
                    chunks = chunks_from_json(unsent[d.id])
                    if not chunks:
                        raise ChunkFormatError("no unsent message is kept")
                except ChunkFormatError as error:
                    logger.error("digest %s has unreadable messages (%s): failed", d.id, error)
                    await repo.fail_digest(
                        session, d.id, unsent_article_ids=None, error=f"unreadable: {error}"
                    )
                    continue
                chat_id, thread_id = chats[d.subscriber_id]
                resumable.append(
                    Outbound(
                        d.id,
                        d.subscriber_id,
                        chat_id,
                        chunks,
                        d.sent_chunks,
                        tuple(d.message_ids),
                        thread_id,
                    )
                )
        return resumable, now + LEASE

    async def purge(self) -> int:
        """Delete sent and failed digests older than DIGEST_RETENTION_DAYS, a few hundred
        per transaction; never one that holds the ledger row of a still selectable article.
        Then forget the story keys of articles no digest can select any more. A failure
        is logged: the next tick tries again."""
        now = self.clock()
        before = now - self.delivery.kept
        selectable = now - self.delivery.digest.max_age - PURGE_MARGIN
        purged = 0
        try:
            for _ in range(PURGE_BATCHES):
                async with self.sessions.begin() as session:
                    deleted = await repo.purge_digests(
                        session,
                        created_before=before,
                        selectable_since=selectable,
                        limit=PURGE_BATCH,
                    )
                purged += deleted
                if deleted < PURGE_BATCH:
                    break
            async with self.sessions.begin() as session:
                await stories_repo.drop_keys_before(session, selectable, PURGE_BATCH * 4)
        except Exception:
            logger.exception("purging old digests failed; the next tick tries again")
        await self.retention.enforce(now)
        return purged


class _Pass:
    """One pass of a `Deliverer`: resume what dead processes left, then compose the due
    readers' digests batch by batch and send them, ``in_flight`` at a time: as many as
    this process's share of the rate needs, which it learns from the processes in a pass
    (bot.delivery.presence) at the start and whenever a heartbeat counts them anew."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self.report = PassReport()
        self.in_flight = Gate(deliverer.delivery.concurrency)
        self.senders: int | None = None  # processes in a pass, as last sized for
        self.batch = deliverer.batch  # readers claimed at a time; see `_size_up`
        # The index is per pass, and so are the readers it serves: those due when the
        # pass began. One whose time comes during the pass (or is brought forward, as the
        # demo's /tick does) waits for the next pass and its fresh index, which has the
        # articles added meanwhile; claimed by this pass, they would have been missed
        # until the reader's next digest.
        self.began = deliverer.clock()
        # PAID_BROADCAST: what the pacer had counted when the pass began.
        self.paid = deliverer._paid_so_far() if deliverer.delivery.paid_broadcast else None
        self.index = TagIndex(self.began - deliverer.delivery.digest.max_age)
        presence = deliverer.presence
        self.owner = presence.id if presence is not None else None
        self.look_again = 0.0  # when to look for another process's orphaned digests
        # Digests composed by this pass that could not be sent, in a row. Resumed ones do
        # not count: a few chats that fail every time must not end every pass.
        self.unsent = 0
        # How fast digests start once they wait for a place in flight.
        self.pace = Pace(deliverer.pace_sample)

    async def run(self) -> PassReport:
        deliverer = self.deliverer
        try:
            await self._size_up()
            async with (
                SentLog(deliverer.sessions, deliverer.clock, window=RECORD_WINDOW) as log,
                asyncio.TaskGroup() as sending,
            ):
                try:
                    await self._resume(log, sending)
                    await self._compose_and_send(log, sending)
                except Exception:
                    # Not raised into the task group, which would cancel sends
                    # half-recorded. The digests already composed are sent; the rest
                    # waits for the next tick.
                    logger.exception("delivery pass stopped composing")
        finally:
            await self._leave()
        if self.paid is not None:
            self.report.paid = self.deliverer._paid_so_far() - self.paid
            self.report.stars = stars(self.report.paid)
        return self.report

    async def _compose_and_send(self, log: SentLog, sending: asyncio.TaskGroup) -> None:
        """Send the due readers' digests batch by batch, composing the next batch while
        the last digests of one are sent: one batch after the other left the pacer idle
        for a whole compose in every batch (one worker alone sent 758 of its 1,000 a
        second). When to begin it is `compose_ahead`'s: as soon as, at the pass's pace,
        the next batch's last digest starts well within its lease (`LEASE`, from when it
        is composed), else once the digests left to start fit in flight. And only while
        this pass's last digest went out, so that a pass Telegram fails does not claim
        another batch of readers. If the pass ends meanwhile, the batch composed ahead
        stays pending in this process's name, like any digest not started
        (`Deliverer.stop`)."""
        ahead: asyncio.Task[Batch] | None = None
        try:
            while not self._must_end():
                composing, ahead = ahead or asyncio.create_task(self._compose()), None
                batch = await composing
                if not batch.claimed:
                    return
                self.report.add(batch)
                await self._join()
                for n, outbound in enumerate(batch.outbound):
                    left = len(batch.outbound) - n
                    if ahead is None and not self.unsent and self._compose_ahead(left):
                        logger.debug("composing the next batch, %d of this one to start", left)
                        ahead = asyncio.create_task(self._compose())
                    # A long pass looks again now and then: a process that died
                    # meanwhile must not wait for this pass's end.
                    if time.monotonic() >= self.look_again:
                        await self._resume(log, sending)
                    if not await self._start(
                        outbound, log, sending, fresh=True, leased_until=batch.leased_until
                    ):
                        return
        finally:
            if ahead is not None:
                await self._settle(ahead)

    async def _size_up(self) -> None:
        """Before the pass claims any reader: size its digests in flight, the pacer's
        connections and its batches for this process's share of the rate, shared by
        the processes in a pass (bot.delivery.broadcast.Sizing), as counted now. Again
        whenever a heartbeat counts them anew (`_start`)."""
        presence = self.deliverer.presence
        if presence is not None:
            await presence.count_senders()
        self._resize()

    async def _join(self) -> None:
        """The pass has digests to send: its row says so, for the others' counts (a pass
        with nothing due writes nothing)."""
        presence = self.deliverer.presence
        if presence is not None and not presence.in_pass:
            await presence.passing(True)
            self._resize()

    async def _leave(self) -> None:
        """The pass ends: its row says so. The pacer keeps its share until the next pass
        that sends sizes it again (replies need far fewer connections)."""
        presence = self.deliverer.presence
        if presence is not None and presence.in_pass:
            await presence.passing(False)

    def _resize(self) -> None:
        deliverer, presence = self.deliverer, self.deliverer.presence
        senders = presence.senders if presence is not None else 1
        if senders == self.senders:
            return
        self.senders = senders
        connections, in_flight = deliverer.delivery.sizing.for_senders(senders)
        self.in_flight.limit = in_flight
        self.batch = self._batch(senders)
        limiter = deliverer.bot.rate_limiter
        if isinstance(limiter, PacingRateLimiter):
            limiter.share(connections)
        if senders == deliverer.sized_for:
            return  # as the last pass was: said then
        deliverer.sized_for = senders
        logger.info(
            "%d process(es) in a delivery pass: this one sends through %d connections, "
            "%d digests in flight, batches of %d",
            senders,
            connections if isinstance(limiter, PacingRateLimiter) else 0,
            in_flight,
            self.batch,
        )

    def _batch(self, senders: int) -> int:
        deliverer = self.deliverer
        return batch_for(deliverer.delivery.sizing.rate / senders, deliverer.batch)

    def _compose_ahead(self, left: int) -> bool:
        deliverer = self.deliverer
        return compose_ahead(
            left,
            batch=self.batch,
            in_flight=self.in_flight.limit,
            per_second=self.pace.per_second(),
            within=deliverer.ahead_within,
        )

    async def _settle(self, ahead: asyncio.Task[Batch]) -> None:
        """Let the batch composed ahead finish its transaction (cancelled, it could leave
        the connection mid-statement) and count it; a failure is logged, never raised
        over what ended the pass."""
        try:
            self.report.add(await asyncio.shield(ahead))
        except Exception:
            logger.exception("delivery pass stopped composing")

    def _must_end(self, *, lease_low: bool = False) -> bool:
        """Whether the pass must start no more digests (``lease_low``: the digest about to
        start has little of its lease left); the first reason is kept."""
        if self.report.ended is None:
            deliverer, presence = self.deliverer, self.deliverer.presence
            if deliverer.stopping:
                self.report.ended = Ended.STOPPING
            elif presence is not None and presence.lost:
                self.report.ended = Ended.LATE
            elif self.unsent >= UNSENT_IN_A_ROW:
                self.report.ended = Ended.UNSENT
            elif lease_low:
                self.report.ended = Ended.LEASE
        return self.report.ended is not None

    async def _compose(self) -> Batch:
        deliverer = self.deliverer

        async def compose() -> Batch:
            return await compose_due_batch(
                deliverer.sessions,
                deliverer.delivery.digest,
                now=deliverer.clock(),
                bot_username=deliverer.bot.username,
                index=self.index,
                size=self.batch,
                due_by=self.began,
                owner=self.owner,
            )

        return await retrying(compose, "composing due digests")

    async def _resume(self, log: SentLog, sending: asyncio.TaskGroup) -> None:
        self.look_again = time.monotonic() + self.deliverer._look_every
        if self._must_end():
            return
        stale, leased_until = await retrying(self.deliverer._claim_stale, "claiming stale digests")
        if stale:
            await self._join()
        for outbound in stale:
            if not await self._start(
                outbound, log, sending, fresh=False, leased_until=leased_until
            ):
                return
            self.report.resumed += 1

    async def _start(
        self,
        outbound: Outbound,
        log: SentLog,
        sending: asyncio.TaskGroup,
        *,
        fresh: bool,
        leased_until: datetime | None,
    ) -> bool:
        """Send ``outbound`` when a place in flight frees, unless the pass must end by then
        or its lease (until ``leased_until``) is nearly spent: then the pass ends, and the
        digests it holds are taken up again once their lease runs out."""
        self._resize()  # a heartbeat may have counted the processes in a pass anew
        waited = self.in_flight.locked()
        await self.in_flight.acquire()
        if waited:
            self.pace.note(time.monotonic())
        low = leased_until is not None and not lease_left(
            self.deliverer.clock(), leased_until, LEASE_LEFT_TO_START
        )
        if self._must_end(lease_low=low):
            self.in_flight.release()
            return False
        sending.create_task(self._send(outbound, log, fresh=fresh, leased_until=leased_until))
        return True

    async def _send(
        self, outbound: Outbound, log: SentLog, *, fresh: bool, leased_until: datetime | None
    ) -> None:
        try:
            # `_start` checked the heartbeat (`_must_end`) just before.
            result = await self.deliverer._send(outbound, log, leased_until)
        except Exception:
            # Still pending: its lease runs out and a later pass resumes it.
            logger.exception("sending digest %s failed", outbound.digest_id)
            result = SendResult.POSTPONED
        finally:
            self.in_flight.release()
        self.report.results[result] += 1
        if result is SendResult.LEFT:
            self._must_end(lease_low=True)
        if fresh:
            self.unsent = self.unsent + 1 if result is SendResult.POSTPONED else 0
