"""Hostile admins and servers against FeedService, on a real database and a local site."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.feeds import FeedAdded, FeedProblem, FeedService
from storage.models import Article, Feed
from tests.auxil.feedserver import FeedServer
from tests.test_feeds import clock, rss, service

__all__ = ["clock", "service"]  # fixtures, shared with test_feeds


async def count(service: FeedService, model: type[Article] | type[Feed]) -> int:
    async with service.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_two_admins_adding_the_same_feed_at_once_get_one_feed_and_already_there(
    service: FeedService, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/race.xml", rss(("a", "Harbour opens")))
    outcomes = await asyncio.gather(service.add(url), service.add(url), return_exceptions=True)
    added = [o for o in outcomes if isinstance(o, FeedAdded)]
    refused = [o for o in outcomes if isinstance(o, FeedProblem)]
    assert len(added) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert str(refused[0]).startswith("that feed is already there")
    assert await count(service, Feed) == 1
    assert await count(service, Article) == 1


async def test_the_same_guid_twice_in_one_feed_stores_one_article(
    service: FeedService, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/dup.xml", rss(("dup", "First"), ("dup", "Second")))
    added = await service.add(url)
    assert added.added == 1
    assert await count(service, Article) == 1


async def test_a_4000_character_url_is_refused_with_a_reason(service: FeedService) -> None:
    with pytest.raises(FeedProblem, match="longer than 2,048"):
        await service.add("https://wire.example/" + "a" * 4000)
