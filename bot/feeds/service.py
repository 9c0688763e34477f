"""Feeds as a source of articles: adding, polling and importing them.

`FeedService` runs inside `newsbot run` and `worker` (a JobQueue tick calls
`poll_due`), behind the admin commands, and behind `newsbot feeds …` and `newsbot poll`.
A poll claims due feeds in the database (so several workers share them and none is
fetched twice at once), fetches each with a conditional GET, parses it off the event
loop, and stores its entries and its new state in one transaction. Whatever fails is
that feed's error, shown in /feeds; it never stops the other feeds.

An OPML import stores its feeds at once, claimed for their first poll, and polls them
in the background (`check_import`): never more than one of them at a time per host, so
that host's other feeds are not held up behind the import, and on at most half of the
fetch slots, so the regular polls keep the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.tags import make_tag
from bot.config import FeedPolicy
from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult
from bot.feeds.guard import FetchError, check_url, target
from bot.feeds.model import (
    MAX_NAME_LENGTH,
    Claimed,
    FeedAdded,
    FeedProblem,
    Move,
    OpmlImport,
    OpmlReport,
    PollResult,
    parse_feed_tags,
)
from bot.feeds.opml import OpmlFeed, parse_opml
from bot.feeds.parse import FeedArticle, FeedError, ParsedFeed, entry_article, parse_feed
from bot.feeds.policy import retry_delay
from bot.i18n import N_
from bot.ops import metrics
from bot.ops.logjson import feed_context
from bot.words.search import store_articles
from storage import repo
from storage.models import Feed
from storage.records import Tag
from storage.retry import retrying

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

CLAIM_BATCH = 100
# A claimed feed is not due again before this, so a worker that dies mid-poll delays it
# by this much; a poll ends well before (FEED_TIMEOUT_SECONDS per fetch).
LEASE = timedelta(minutes=10)


def _articles(parsed: ParsedFeed, feed: Claimed, now: datetime) -> list[FeedArticle]:
    source = feed.name or parsed.title
    tags = [make_tag(name) for name in feed.tags]
    return [
        entry_article(
            entry,
            feed_id=feed.feed_id,
            source=source,
            feed_tags=tags,
            feed_category=parsed.category,
            now=now,
        )
        for entry in parsed.entries
    ]


def _parse(content: bytes, content_type: str | None, url: str) -> ParsedFeed:
    return parse_feed(content, content_type=content_type, url=url)


async def _stored(work: Callable[[], Awaitable[_T]], what: str) -> _T:
    """``work`` (one transaction) with `retrying`, and once more after a unique address
    clashed: two feeds moving to one new address at once, or an address added meanwhile;
    the second try reads what the first one's rival committed."""
    try:
        return await retrying(work, what)
    except IntegrityError:
        return await retrying(work, what)


class FeedService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        policy: FeedPolicy,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.fetcher = fetcher
        self.interval = policy.poll_every
        self.clock = clock
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
            results += await asyncio.gather(*(self._poll(feed) for feed in claimed))
            if every or len(claimed) < CLAIM_BATCH:
                break
        return results

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
            return await self._record_failure(feed, str(error))
        digest = hashlib.sha256(fetched.content).hexdigest() if not fetched.not_modified else None
        if fetched.not_modified or digest == feed.content_hash:
            # Nothing new: a 304, or the same bytes from a server without validators.
            return await self._record_unchanged(feed, fetched)
        now = self.clock()
        try:
            parsed = await self._off_loop(
                _parse, fetched.content, fetched.content_type, fetched.url
            )
        except FeedError as error:
            return await self._record_failure(feed, f"not a usable feed: {error}")
        articles = await self._off_loop(_articles, parsed, feed, now)

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
            return await _stored(store, f"storing feed {feed.feed_id}")
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

        move = await _stored(record, f"recording feed {feed.feed_id}")
        return PollResult(
            feed.feed_id,
            feed.title,
            move.moved_to or feed.url,
            not_modified=True,
            moved_to=move.moved_to,
            duplicate=move.duplicate,
        )

    async def _record_failure(self, feed: Claimed, reason: str) -> PollResult:
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
                    row.next_poll_at = now + retry_delay(self.interval, failures)

        try:
            await retrying(record, f"recording feed {feed.feed_id}")
        except SQLAlchemyError:
            # The lease runs out and the feed is polled again then.
            logger.exception("recording the failure of feed %d failed", feed.feed_id)
        return PollResult(feed.feed_id, feed.title, feed.url, error=reason, failures=failures)

    # ------------------------------------------------------------------ adding

    async def add(
        self, url: str, tags: Sequence[Tag] = (), *, name: str | None = None
    ) -> FeedAdded:
        """Fetch the feed once; store it and its entries only if it parsed. Raises
        `FeedProblem` with the reason otherwise."""
        try:
            limits = self.fetcher.limits
            url = check_url(url.strip(), allow_private=limits.allow_private, exempt=limits.exempt)
        except FetchError as error:
            raise FeedProblem(N_("{reason}"), reason=error) from None
        if name is not None and not (name := " ".join(name.split())[:MAX_NAME_LENGTH]):
            name = None
        async with self.sessions() as session:
            existing = await repo.feed_by_url(session, url)
        if existing is not None and existing.removed_at is None:
            raise FeedProblem.already_there(existing.id)
        try:
            fetched = await self.fetcher.fetch(url)
            parsed = await self._off_loop(
                _parse, fetched.content, fetched.content_type, fetched.url
            )
        except FetchError as error:
            raise FeedProblem(N_("{reason}"), reason=error) from None
        except FeedError as error:
            raise FeedProblem(N_("not a usable feed: {reason}"), reason=error) from None
        final = fetched.moved_to or url
        now = self.clock()
        tag_names = [tag.name for tag in tags]

        async def store() -> FeedAdded:
            async with self.sessions.begin() as session:
                other = await repo.feed_by_url(session, final)
                if other is not None and other.removed_at is None:
                    raise FeedProblem.already_there(other.id)
                feed = await repo.save_feed(
                    session, url=final, title=parsed.title[:300], name=name, tags=tag_names,
                    now=now, next_poll_at=now + self.interval,
                )  # fmt: skip
                claimed = Claimed.of(feed)
                articles = _articles(parsed, claimed, now)
                outcomes = await store_articles(session, articles, now=now, feed_id=feed.id)
                feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
                feed.content_hash = hashlib.sha256(fetched.content).hexdigest()
                feed.entries, feed.skipped = parsed.found, len(parsed.skipped)
                feed.dropped = parsed.dropped
                self._succeeded(feed, now)
                added = sum(1 for _, outcome in outcomes if outcome is repo.Outcome.ADDED)
                return FeedAdded(
                    feed.id, feed.title, final, tuple(tag_names), parsed.found, added,
                    parsed.skipped, parsed.dropped,
                )  # fmt: skip

        try:
            return await retrying(store, "adding a feed")
        except IntegrityError:
            # Added meanwhile by someone else (the URL is unique): say so, like above.
            async with self.sessions() as session:
                other = await repo.feed_by_url(session, final)
            raise FeedProblem.already_there(other.id if other else None) from None

    # ------------------------------------------------------------------ OPML

    async def import_opml(self, content: bytes) -> OpmlImport:
        """Store every feed an OPML document lists, at once and without fetching: each
        is claimed for its first poll, which `check_import` runs. Raises `OpmlError` for
        a document that is not OPML; a URL feeds may not be fetched from is refused with
        its reason, one already there is counted."""
        listed = parse_opml(content)
        limits = self.fetcher.limits
        wanted: dict[str, tuple[OpmlFeed, list[Tag]]] = {}
        imported = OpmlImport()
        for item in listed:
            try:
                url = check_url(
                    item.url.strip(), allow_private=limits.allow_private, exempt=limits.exempt
                )
                tags = parse_feed_tags(", ".join(item.tags))
            except FetchError as error:
                imported.refused.append((item.url, FeedProblem(N_("{reason}"), reason=error)))
                continue
            except FeedProblem as problem:
                imported.refused.append((item.url, problem))
                continue
            wanted.setdefault(url, (item, tags))
        now = self.clock()

        async def store() -> tuple[list[Claimed], list[str]]:
            stored: list[Claimed] = []
            already: list[str] = []
            async with self.sessions.begin() as session:
                present = await repo.active_feed_urls(session)
                for url, (item, tags) in wanted.items():
                    if url in present:
                        already.append(url)
                        continue
                    name = " ".join((item.title or "").split())[:MAX_NAME_LENGTH] or None
                    feed = await repo.save_feed(
                        session, url=url, title=name or _host_of(url), name=name,
                        tags=[tag.name for tag in tags], now=now, next_poll_at=now + LEASE,
                    )  # fmt: skip
                    stored.append(Claimed.of(feed))
            return stored, already

        imported.stored, imported.already = await _stored(store, "importing feeds")
        return imported

    def _import_slots(self) -> int:
        return max(1, self.fetcher.limits.concurrency // 2)

    async def check_import(self, imported: OpmlImport) -> OpmlReport:
        """Poll each feed an import stored, once, on the normal polling path: one at a
        time per host (so that host's other feeds wait behind one fetch of the import at
        most) and on at most half of the fetch slots. A feed whose first poll fails is
        removed again, as /feed_add would not have stored it; the report gives why.

        The feeds not polled yet stay claimed while it works (the claim is renewed as it
        goes), so the regular polls do not fetch them too; if the process stops, they are
        theirs once the last claim runs out."""
        slots = asyncio.Semaphore(self._import_slots())
        by_host: dict[str, list[Claimed]] = {}
        for feed in imported.stored:
            by_host.setdefault(_host_of(feed.url), []).append(feed)
        results: list[PollResult] = []
        waiting = {feed.feed_id for feed in imported.stored}
        renewed = self.clock()

        async def renew() -> None:
            nonlocal renewed
            now = self.clock()
            if now - renewed < LEASE / 2 or not waiting:
                return
            renewed = now

            async def extend() -> None:
                async with self.sessions.begin() as session:
                    await repo.extend_feed_claims(session, sorted(waiting), now + LEASE)

            try:
                await retrying(extend, "renewing the claim on imported feeds")
            except SQLAlchemyError:  # the regular polls may fetch some of them too: no harm
                logger.exception("renewing the claim on %d imported feeds failed", len(waiting))

        async def host(feeds: list[Claimed]) -> None:
            for feed in feeds:
                async with slots:
                    results.append(await self._poll(feed))
                waiting.discard(feed.feed_id)
                await renew()

        await asyncio.gather(*(host(feeds) for feeds in by_host.values()))
        failed = [result for result in results if not result.ok]
        if failed:
            now = self.clock()

            async def remove() -> None:
                async with self.sessions.begin() as session:
                    for result in failed:
                        await repo.remove_feed(session, result.feed_id, now)

            await retrying(remove, "removing the feeds an import could not read")
        order = {feed.feed_id: n for n, feed in enumerate(imported.stored)}
        results.sort(key=lambda result: order[result.feed_id])
        return OpmlReport(
            added=[result for result in results if result.ok],
            already=list(imported.already),
            failed=[
                *(
                    (result.url, FeedProblem(N_("{reason}"), reason=result.error or ""))
                    for result in results
                    if not result.ok
                ),
                *imported.refused,
            ],
        )

    def check_in_background(
        self, imported: OpmlImport, report: Callable[[OpmlReport], Awaitable[None]]
    ) -> None:
        """`check_import` in a task of its own, then ``report`` with what it found; the
        caller (an admin's chat) goes on at once. `close` cancels what is unfinished."""

        async def run() -> None:
            try:
                await report(await self.check_import(imported))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("checking %d imported feeds failed", len(imported.stored))

        task = asyncio.get_running_loop().create_task(run(), name="opml-import-check")
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _host_of(url: str) -> str:
    try:
        return target(url, allow_private=True).raw_host or url
    except FetchError:  # pragma: no cover - stored URLs were checked
        return url
