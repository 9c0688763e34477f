"""Feeds as a source of articles: adding, polling and importing them.

`FeedService` runs inside `newsbot run` and `worker` (a JobQueue tick calls
`poll_due`), behind the admin commands, and behind `newsbot feeds …` and `newsbot poll`.
Polling is `bot.feeds.polling.FeedPoller`'s.

An OPML import stores its feeds at once, claimed for their first poll, and polls them
in the background (`check_import`): never more than one of them at a time per host, so
that host's other feeds are not held up behind the import, and on at most half of the
fetch slots, so the regular polls keep the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.feeds.guard import FetchError, check_url
from bot.feeds.hosts import host_of
from bot.feeds.model import (
    MAX_NAME_LENGTH,
    Claimed,
    FeedAdded,
    FeedProblem,
    OpmlImport,
    OpmlReport,
    PollResult,
    parse_feed_tags,
)
from bot.feeds.opml import OpmlFeed, parse_opml
from bot.feeds.parse import FeedError, feed_articles
from bot.feeds.polling import LEASE, FeedPoller, parse_fetched, stored
from bot.i18n import N_
from bot.words.search import store_articles
from storage import repo
from storage.records import Tag
from storage.retry import retrying

logger = logging.getLogger(__name__)


class FeedService(FeedPoller):
    """Polling (`FeedPoller`), and adding feeds one by one or by an OPML import."""

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
                parse_fetched, fetched.content, fetched.content_type, fetched.url
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
                articles = feed_articles(
                    parsed, feed_id=feed.id, name=name, tags=tag_names, now=now
                )
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
                        session, url=url, title=name or host_of(url), name=name,
                        tags=[tag.name for tag in tags], now=now, next_poll_at=now + LEASE,
                    )  # fmt: skip
                    stored.append(Claimed.of(feed))
            return stored, already

        imported.stored, imported.already = await stored(store, "importing feeds")
        return imported

    def _import_slots(self) -> int:
        return max(1, self.fetcher.limits.concurrency // 2)

    async def check_import(self, imported: OpmlImport) -> OpmlReport:
        """Poll each feed an import stored, once, on the normal polling path: one at a
        time per host (so that host's other feeds wait behind one fetch of the import at
        most) and on at most half of the fetch slots. A feed whose first fetch fails is
        fetched once more after `first_retry` (a busy server, a moment's timeout); if
        that fails too, or the failure lasts (no feed in the response, a 404), the feed
        is removed again, as /feed_add would not have stored it; the report gives why.

        The feeds not polled yet stay claimed while it works (the claim is renewed as it
        goes), so the regular polls do not fetch them too; if the process stops, they are
        theirs once the last claim runs out."""
        slots = asyncio.Semaphore(self._import_slots())
        by_host: dict[str, list[Claimed]] = {}
        for feed in imported.stored:
            by_host.setdefault(host_of(feed.url), []).append(feed)
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
        results = await self._once_more(imported.stored, results)
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

    async def _once_more(
        self, feeds: Sequence[Claimed], results: list[PollResult]
    ) -> list[PollResult]:
        """``results`` with the feeds whose fetch failed polled once more, after
        `first_retry`, claimed by the import meanwhile."""
        again = {r.feed_id: r for r in results if not r.ok and not r.lasting}
        if not again:
            return results
        until = self.clock() + LEASE

        async def extend() -> None:
            async with self.sessions.begin() as session:
                await repo.extend_feed_claims(session, sorted(again), until)

        await retrying(extend, "claiming imported feeds for a second try")
        await asyncio.sleep(self.first_retry.total_seconds())
        retried = [
            replace(feed, failures=again[feed.feed_id].failures)
            for feed in feeds
            if feed.feed_id in again
        ]
        second = {result.feed_id: result for result in await self._poll_all(retried)}
        return [second.get(result.feed_id, result) for result in results]

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
