"""Polling feeds: the due ones claimed, fetched, parsed and stored.

A poll claims due feeds in the database (so several workers share them and none is
fetched twice at once), fetches each with a conditional GET, parses it off the event
loop, and stores its entries and its new state in one transaction; a pass keeps a
window of polls in flight, so none waits long to store. Whatever fails is that feed's
error, shown in /feeds; it never stops the other feeds. `bot.feeds.service` adds feeds
and imports them on top of this.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import FeedPolicy
from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult, HttpStatusError
from bot.feeds.guard import FetchError
from bot.feeds.hosts import in_turn_by_host
from bot.feeds.model import Claimed, Move, PollResult
from bot.feeds.parse import FeedError, ParsedFeed, feed_articles, parse_feed
from bot.feeds.policy import FIRST_RETRY, retry_delay
from bot.ops import metrics
from bot.ops.logjson import feed_context
from bot.words.search import store_articles
from storage import repo
from storage.models import Feed
from storage.retry import retrying

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

CLAIM_BATCH = 100
# A claimed feed is not due again before this, so a worker that dies mid-poll delays it
# by this much; a poll ends well before (FEED_TIMEOUT_SECONDS per fetch).
LEASE = timedelta(minutes=10)


def parse_fetched(content: bytes, content_type: str | None, url: str) -> ParsedFeed:
    return parse_feed(content, content_type=content_type, url=url)


async def stored(work: Callable[[], Awaitable[_T]], what: str) -> _T:
    """``work`` (one transaction) with `retrying`, and once more after a unique address
    clashed: two feeds moving to one new address at once, or an address added meanwhile;
    the second try reads what the first one's rival committed."""
    try:
        return await retrying(work, what)
    except IntegrityError:
        return await retrying(work, what)


class FeedPoller:
    """Polls the feeds stored; `bot.feeds.service.FeedService` is the whole service."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        policy: FeedPolicy,
        *,
        clock: Callable[[], datetime],
        first_retry: timedelta = FIRST_RETRY,
    ) -> None:
        self.sessions = sessions
        self.fetcher = fetcher
        self.interval = policy.poll_every
        self.clock = clock
        self.first_retry = first_retry  # an OPML import's pause before its second try
        # Parsing is CPU work: off the event loop, so chats are answered meanwhile, and in
        # one thread (the GIL lets no more run at once; more threads only cost memory).
        self._parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-parser")
        self._background: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.fetcher.close()
        self._parser.shutdown(wait=False, cancel_futures=True)

    async def _off_loop(self, work: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._parser, work, *args)

    @staticmethod
    def limits(policy: FeedPolicy) -> FetchLimits:
        return FetchLimits(
            timeout=policy.timeout_seconds,
            max_bytes=policy.max_bytes,
            concurrency=policy.concurrency,
            allow_private=policy.allow_private,
        )

    # ------------------------------------------------------------------ polling

    async def poll_due(self, *, every: bool = False) -> list[PollResult]:
        """Poll every due feed (``every``: every active feed) once."""
        results: list[PollResult] = []
        while True:
            now = self.clock()

            async def claim(now: datetime = now) -> list[Claimed]:
                async with self.sessions.begin() as session:
                    feeds = await repo.claim_due_feeds(
                        session,
                        now,
                        limit=1_000_000 if every else CLAIM_BATCH,
                        lease_until=now + LEASE,
                        every=every,
                    )
                    return [Claimed.of(feed) for feed in feeds]

            claimed = await retrying(claim, "claiming due feeds")
            if not claimed:
                break
            results += await self._poll_all(claimed)
            if every or len(claimed) < CLAIM_BATCH:
                break
        return results

    async def _poll_all(self, feeds: Sequence[Claimed]) -> list[PollResult]:
        """Poll ``feeds``, at most `_polls_in_flight` at a time from fetch to stored, taken
        one host after another in turn; the results in the order of ``feeds``.

        Fetching is faster than storing (grouping is CPU work, and SQLite has one
        writer), so without the bound every feed of a pass is fetched at once and waits
        to store: a first pass of 2,000 feeds then held 2,000 parsed feeds in memory, and
        its last stores waited over a minute for the database connection and failed.
        Here a fetch starts only when a poll before it has been stored, so none waits
        behind more than a window of stores, however many feeds a pass has."""
        window = asyncio.Semaphore(self._polls_in_flight())

        async def bounded(feed: Claimed) -> PollResult:
            async with window:
                return await self._poll(feed)

        done = await asyncio.gather(*(bounded(feed) for feed in in_turn_by_host(feeds)))
        position = {feed.feed_id: n for n, feed in enumerate(feeds)}
        return sorted(done, key=lambda result: position[result.feed_id])

    def _polls_in_flight(self) -> int:
        # Twice the fetch slots: while one window's entries are stored, the next is
        # being fetched.
        return 2 * self.fetcher.limits.concurrency

    async def _poll(self, feed: Claimed) -> PollResult:
        feed_context(feed.feed_id)
        started = time.perf_counter()
        try:
            result = await self._poll_unguarded(feed)
        except Exception:
            # A bug (in a parser, say) must cost this feed one poll, not the whole pass.
            logger.exception("polling feed %d (%s) failed", feed.feed_id, feed.url)
            result = await self._record_failure(feed, "internal error while polling (see the log)")
        seconds = time.perf_counter() - started
        metrics.feed_polled(failed=not result.ok, unchanged=result.not_modified, seconds=seconds)
        return result

    async def _poll_unguarded(self, feed: Claimed) -> PollResult:
        try:
            fetched = await self.fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as error:
            lasting = isinstance(error, HttpStatusError) and error.lasting
            return await self._record_failure(feed, str(error), lasting=lasting)
        digest = hashlib.sha256(fetched.content).hexdigest() if not fetched.not_modified else None
        if fetched.not_modified or digest == feed.content_hash:
            # Nothing new: a 304, or the same bytes from a server without validators.
            return await self._record_unchanged(feed, fetched)
        now = self.clock()
        try:
            parsed = await self._off_loop(
                parse_fetched, fetched.content, fetched.content_type, fetched.url
            )
        except FeedError as error:
            return await self._record_failure(feed, f"not a usable feed: {error}", lasting=True)
        articles = await self._off_loop(
            partial(
                feed_articles,
                parsed,
                feed_id=feed.feed_id,
                name=feed.name,
                tags=feed.tags,
                now=now,
            )
        )

        async def store() -> PollResult:
            async with self.sessions.begin() as session:
                outcomes = await store_articles(session, articles, now=now, feed_id=feed.feed_id)
                row = await session.get(Feed, feed.feed_id)
                move = Move()
                if row is not None:
                    move = await self._move(session, row, fetched.moved_to)
                    row.title = parsed.title[:300] or row.title
                    row.etag, row.last_modified = fetched.etag, fetched.last_modified
                    row.content_hash = digest
                    row.entries, row.skipped = parsed.found, len(parsed.skipped)
                    row.dropped = parsed.dropped
                    self._succeeded(row, now)
            counts = [outcome for _, outcome in outcomes]
            return PollResult(
                feed.feed_id,
                parsed.title,
                move.moved_to or feed.url,
                entries=parsed.found,
                added=counts.count(repo.Outcome.ADDED),
                updated=counts.count(repo.Outcome.UPDATED),
                skipped=parsed.skipped,
                dropped=parsed.dropped,
                moved_to=move.moved_to,
                duplicate=move.duplicate,
            )

        try:
            return await stored(store, f"storing feed {feed.feed_id}")
        except SQLAlchemyError:
            logger.exception("storing feed %d failed", feed.feed_id)
            return await self._record_failure(
                feed, "the database refused its entries (see the log)"
            )

    @staticmethod
    async def _move(session: AsyncSession, row: Feed, moved_to: str | None) -> Move:
        """Follow a permanent redirect (301, 308) at once, whatever the body was: store
        the new address, unless another feed has it (then this one stays, and /feeds
        says why)."""
        if moved_to is None or moved_to == row.url:
            row.moved_to = None
            return Move()
        other = await repo.move_feed(session, row, moved_to)
        if other is not None:
            row.moved_to = moved_to
            return Move(duplicate=(other.id, moved_to))
        row.moved_to = None
        return Move(moved_to=moved_to)

    def _succeeded(self, row: Feed, now: datetime) -> None:
        row.polled_at = row.ok_at = now
        row.failures, row.failing_since, row.error = 0, None, None
        row.next_poll_at = now + self.interval

    async def _record_unchanged(self, feed: Claimed, fetched: FetchResult) -> PollResult:
        now = self.clock()

        async def record() -> Move:
            async with self.sessions.begin() as session:
                row = await session.get(Feed, feed.feed_id)
                if row is None:
                    return Move()
                # A 304 (or the same bytes) at a new address is still a move.
                move = await self._move(session, row, fetched.moved_to)
                row.etag = fetched.etag or row.etag
                row.last_modified = fetched.last_modified or row.last_modified
                self._succeeded(row, now)
                return move

        move = await stored(record, f"recording feed {feed.feed_id}")
        return PollResult(
            feed.feed_id,
            feed.title,
            move.moved_to or feed.url,
            not_modified=True,
            moved_to=move.moved_to,
            duplicate=move.duplicate,
        )

    async def _record_failure(
        self, feed: Claimed, reason: str, *, lasting: bool = False
    ) -> PollResult:
        now = self.clock()
        failures = feed.failures + 1

        async def record() -> None:
            async with self.sessions.begin() as session:
                row = await session.get(Feed, feed.feed_id)
                if row is not None:
                    row.polled_at = now
                    row.failures = failures
                    row.failing_since = row.failing_since or now
                    row.error = reason[:500]
                    row.next_poll_at = now + retry_delay(
                        self.interval, failures, ever_read=row.ok_at is not None
                    )

        try:
            await retrying(record, f"recording feed {feed.feed_id}")
        except SQLAlchemyError:
            # The lease runs out and the feed is polled again then.
            logger.exception("recording the failure of feed %d failed", feed.feed_id)
        return PollResult(
            feed.feed_id, feed.title, feed.url, error=reason, failures=failures,
            lasting=lasting,
        )  # fmt: skip
