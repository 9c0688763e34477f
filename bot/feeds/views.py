"""What /feeds and the feed commands read and change, beside polling."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.opml import OpmlFeed, build_opml
from bot.feeds.policy import FeedView, feed_status
from storage import repo
from storage.models import Feed
from storage.records import Page, Tag

FEEDS_PAGE_SIZE = 5  # the longest feeds (bot.texts caps), notes and all, still fit one message
DAY = timedelta(hours=24)


async def remove_feed(session: AsyncSession, feed_id: int, now: datetime) -> Feed | None:
    return await repo.remove_feed(session, feed_id, now)


async def set_feed_tags(session: AsyncSession, feed_id: int, tags: Sequence[Tag]) -> Feed | None:
    """Replace the tags later polls add; articles stored before keep theirs."""
    feed = await repo.get_feed(session, feed_id)
    if feed is not None:
        feed.tags = [tag.name for tag in tags]
    return feed


def view(feed: Feed, added_24h: int, now: datetime) -> FeedView:
    return FeedView(
        feed_id=feed.id,
        title=feed.name or feed.title,
        url=feed.url,
        tags=tuple(feed.tags),
        polled_at=feed.polled_at,
        status=feed_status(
            polled_at=feed.polled_at,
            failures=feed.failures,
            failing_since=feed.failing_since,
            now=now,
        ),
        failures=feed.failures,
        error=feed.error,
        added_24h=added_24h,
        dropped=feed.dropped,
        moved_to=feed.moved_to,
    )


async def feeds_page(
    session: AsyncSession, page: int, now: datetime, *, size: int = FEEDS_PAGE_SIZE
) -> tuple[list[FeedView], Page, int]:
    """One page of feeds, which page it is, and the number of feeds."""
    total = await repo.count_feeds(session)
    shown = Page.of(total, size, page)
    rows = await repo.feeds_page(session, offset=shown.offset, limit=size, since=now - DAY)
    return [view(feed, added, now) for feed, added in rows], shown, total


async def all_feed_views(session: AsyncSession, now: datetime) -> list[FeedView]:
    rows = await repo.feeds_page(session, offset=0, limit=1_000_000, since=now - DAY)
    return [view(feed, added, now) for feed, added in rows]


async def export_opml(session: AsyncSession) -> bytes:
    feeds = await repo.active_feeds(session)
    return build_opml(
        [OpmlFeed(url=f.url, title=f.name or f.title, tags=tuple(f.tags)) for f in feeds]
    )
