"""Feeds: their rows (a removed feed keeps its row), their addresses, and the lease by
which one worker at a time polls each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Article, Feed


async def feed_by_url(session: AsyncSession, url: str) -> Feed | None:
    """The feed at ``url``, removed or not."""
    return await session.scalar(select(Feed).where(Feed.url == url))


async def get_feed(session: AsyncSession, feed_id: int) -> Feed | None:
    """A feed that has not been removed."""
    return await session.scalar(select(Feed).where(Feed.id == feed_id, Feed.removed_at.is_(None)))


async def save_feed(
    session: AsyncSession,
    *,
    url: str,
    title: str,
    name: str | None,
    tags: Sequence[str],
    now: datetime,
    next_poll_at: datetime,
) -> Feed:
    """Store a new feed, or bring back a removed one at ``url`` (its id, and so the
    identity of its articles, stays). The caller checks that no active feed is there."""
    feed = await feed_by_url(session, url)
    if feed is None:
        feed = Feed(
            url=url, title=title, name=name, tags=list(tags), entries=0, skipped=0,
            next_poll_at=next_poll_at, failures=0, created_at=now,
        )  # fmt: skip
        session.add(feed)
    else:
        feed.title, feed.name, feed.tags = title, name, list(tags)
        feed.removed_at, feed.failures, feed.failing_since, feed.error = None, 0, None, None
        feed.next_poll_at = next_poll_at
        feed.etag = feed.last_modified = feed.content_hash = feed.moved_to = None
    await session.flush()
    return feed


async def move_feed(session: AsyncSession, feed: Feed, url: str) -> Feed | None:
    """Give ``feed`` the address ``url`` (a permanent redirect's), unless an active feed
    already has it: then nothing changes and that feed is returned. A removed feed at
    ``url`` takes ``feed``'s old address in exchange (addresses are unique), so adding
    that address again brings it back, with its id, as before."""
    other = await feed_by_url(session, url)
    if other is not None and other.removed_at is None:
        return other
    old = feed.url
    if other is not None:
        other.url = f"moving:{other.id}"  # frees the address within this transaction
        await session.flush()
    feed.url = url
    await session.flush()
    if other is not None:
        other.url = old
        await session.flush()
    return None


async def remove_feed(session: AsyncSession, feed_id: int, now: datetime) -> Feed | None:
    feed = await get_feed(session, feed_id)
    if feed is not None:
        feed.removed_at = now
    return feed


async def active_feeds(session: AsyncSession) -> list[Feed]:
    query = select(Feed).where(Feed.removed_at.is_(None)).order_by(Feed.id)
    return list((await session.scalars(query)).all())


async def active_feed_urls(session: AsyncSession) -> set[str]:
    query = select(Feed.url).where(Feed.removed_at.is_(None))
    return set((await session.scalars(query)).all())


async def count_feeds(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Feed).where(Feed.removed_at.is_(None))
    return int(await session.scalar(query) or 0)


async def feeds_page(
    session: AsyncSession, *, offset: int, limit: int, since: datetime
) -> list[tuple[Feed, int]]:
    """Active feeds by id, each with the number of articles it added since ``since``."""
    added = (
        select(func.count())
        .where(Article.feed_id == Feed.id, Article.added_at >= since)
        .correlate(Feed)
        .scalar_subquery()
    )
    query = (
        select(Feed, added)
        .where(Feed.removed_at.is_(None))
        .order_by(Feed.id)
        .offset(offset)
        .limit(limit)
    )
    return [(feed, int(count)) for feed, count in (await session.execute(query)).all()]


async def claim_due_feeds(
    session: AsyncSession, now: datetime, *, limit: int, lease_until: datetime, every: bool
) -> list[Feed]:
    """Take up to ``limit`` due feeds (``every``: all active feeds) and push their next
    poll to ``lease_until``, so that no other worker fetches them meanwhile; a worker
    that dies holding them only delays them to then. Rows another worker is claiming are
    skipped (PostgreSQL's SKIP LOCKED); SQLite's single writer serializes claims."""
    query = select(Feed).where(Feed.removed_at.is_(None))
    if not every:
        query = query.where(Feed.next_poll_at <= now)
    query = (
        query.order_by(Feed.next_poll_at, Feed.id).limit(limit).with_for_update(skip_locked=True)
    )
    feeds = list((await session.scalars(query)).all())
    for feed in feeds:
        feed.next_poll_at = lease_until
    await session.flush()
    return feeds


async def extend_feed_claims(
    session: AsyncSession, feed_ids: Sequence[int], lease_until: datetime
) -> None:
    """Push the next poll of feeds still waiting for their first one (an import's, while
    it works through them) to ``lease_until``, so that the regular polls leave them be."""
    await session.execute(
        update(Feed)
        .where(Feed.id.in_(feed_ids), Feed.polled_at.is_(None), Feed.removed_at.is_(None))
        .values(next_poll_at=lease_until)
    )
