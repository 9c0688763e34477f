"""Use cases behind the commands: each takes the session and leaves the commit to the caller."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.schedule import next_due
from bot.tags import MAX_TAG_LENGTH
from bot.tags import Tag as TagName
from bot.texts import SubscribeResult
from storage import repo
from storage.models import Subscriber, Tag

TAGS_PAGE_SIZE = 8
START_TAGS = 6


async def ensure_subscriber(
    session: AsyncSession, chat_id: int, settings: Settings, now: datetime
) -> Subscriber:
    subscriber = await repo.get_subscriber(session, chat_id)
    if subscriber is None:
        subscriber = await repo.create_subscriber(
            session,
            chat_id,
            timezone=settings.default_timezone,
            digest_time=settings.default_digest_time,
            next_due_at=next_due(
                now,
                digest_time=settings.default_digest_time,
                timezone_name=settings.default_timezone,
            ),
            now=now,
        )
    return subscriber


def suggest(key: str, vocabulary: dict[str, str], limit: int = 3) -> list[str]:
    """Display names of known tags close to ``key`` ("negotiatons" -> "negotiations")."""
    close = difflib.get_close_matches(key, list(vocabulary), n=limit, cutoff=0.75)
    return [vocabulary[k] for k in close]


async def subscribe(
    session: AsyncSession, subscriber: Subscriber, tags: Sequence[TagName], now: datetime
) -> SubscribeResult:
    """Subscribe to each tag. An unknown tag close to a known one is not subscribed but
    answered with suggestions; any other unknown tag is created."""
    result = SubscribeResult()
    wanted = []
    vocabulary: dict[str, str] | None = None
    existing = {t.key: t for t in await repo.tags_by_key(session, [t.key for t in tags])}
    for tag in tags:
        if len(tag.name) > MAX_TAG_LENGTH:
            result.too_long.append(tag.name)
            continue
        if tag.key not in existing:
            if vocabulary is None:
                vocabulary = {t.key: t.name for t in await repo.tag_names(session)}
            if options := suggest(tag.key, vocabulary):
                result.suggestions[tag.name] = options
                continue
        wanted.append(tag)
    rows = await repo.ensure_tags(session, wanted)
    current = {t.id for t in await repo.subscribed_tags(session, subscriber.id)}
    counts = await repo.article_counts(session, [row.id for row in rows])
    for row in rows:
        (result.already if row.id in current else result.subscribed).append(row.name)
        if not counts.get(row.id):
            result.without_articles.append(row.name)
    await repo.subscribe(session, subscriber.id, [row.id for row in rows], now=now)
    return result


async def unsubscribe(
    session: AsyncSession, subscriber: Subscriber, typed: Sequence[TagName]
) -> tuple[list[str], list[str]]:
    """(names unsubscribed, names typed that were not subscribed)."""
    rows = {t.key: t for t in await repo.tags_by_key(session, [t.key for t in typed])}
    removed = await repo.unsubscribe(session, subscriber.id, [t.id for t in rows.values()])
    done = [t.name for t in rows.values() if t.id in removed]
    missing = [t.name for t in typed if t.key not in rows or rows[t.key].id not in removed]
    return done, missing


async def toggle(
    session: AsyncSession, subscriber: Subscriber, tag_id: int, now: datetime
) -> tuple[Tag, bool] | None:
    """Flip one subscription; return the tag and whether it is now subscribed."""
    tag = await repo.tag_by_id(session, tag_id)
    if tag is None:
        return None
    if await repo.unsubscribe(session, subscriber.id, [tag_id]):
        return tag, False
    await repo.subscribe(session, subscriber.id, [tag_id], now=now)
    return tag, True


@dataclass(frozen=True)
class TagButton:
    tag_id: int
    name: str
    count: int
    subscribed: bool


async def tag_page(
    session: AsyncSession, subscriber: Subscriber, page: int, size: int = TAGS_PAGE_SIZE
) -> tuple[list[TagButton], int]:
    """One page of popular tags, and the number of pages."""
    total = await repo.count_used_tags(session)
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await repo.popular_tags(session, limit=size, offset=page * size)
    mine = {t.id for t in await repo.subscribed_tags(session, subscriber.id)}
    return [TagButton(t.id, t.name, n, t.id in mine) for t, n in rows], pages
