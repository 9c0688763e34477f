"""Use cases behind the commands: each takes the session and leaves the commit to the caller."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.articles.plaintext import chat_title
from bot.articles.tags import MAX_TAG_LENGTH
from bot.config import Defaults
from bot.subscriptions.model import (
    MAX_PENDING_TAGS,
    SubscribeResult,
    SubscriptionsPage,
    Suggestion,
    TagButton,
    UnsubscribeResult,
)
from bot.subscriptions.schedule import next_due, reschedule
from bot.telegram.buttons import MAX_ID
from storage import repo
from storage.models import Article, ChatType, Subscriber, Tag
from storage.records import Page
from storage.records import Tag as TagName

TAGS_PAGE_SIZE = 8
START_TAGS = 6
SUBSCRIPTIONS_PAGE_SIZE = 10
MAX_ID_DIGITS = 12

T = TypeVar("T")


def parse_id(text: str) -> int | None:
    """An id someone typed ("42", also in other scripts' digits), if it can name a row."""
    text = text.strip()
    if not text.isdecimal() or len(text) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


async def ensure_subscriber(
    session: AsyncSession,
    chat_id: int,
    defaults: Defaults,
    now: datetime,
    language: str | None = None,
    chat_type: ChatType = ChatType.PRIVATE,
    title: str | None = None,
) -> Subscriber:
    """The chat's row, created on first contact with the default schedule and
    ``language`` (chosen from the sender's Telegram language; DEFAULT_LANGUAGE if None).
    A group's or channel's title is kept up to date."""
    title = chat_title(title)
    subscriber = await repo.get_subscriber(session, chat_id)
    if subscriber is not None:
        if title and subscriber.title != title:
            subscriber.title = title
        return subscriber
    return await repo.create_subscriber(
        session,
        chat_id,
        chat_type=chat_type,
        title=title,
        language=language or defaults.language,
        timezone=defaults.timezone,
        digest_time=defaults.digest_time,
        next_due_at=next_due(
            now, digest_time=defaults.digest_time, timezone_name=defaults.timezone
        ),
        now=now,
    )


def suggest(key: str, vocabulary: Mapping[str, T], limit: int = 3) -> list[T]:
    """What the keys close to ``key`` map to ("negotiatons" -> "negotiations")."""
    close = difflib.get_close_matches(key, list(vocabulary), n=limit, cutoff=0.75)
    return [vocabulary[k] for k in close]


async def subscribe(
    session: AsyncSession,
    subscriber: Subscriber,
    tags: Sequence[TagName],
    now: datetime,
    *,
    pending_limit: int = MAX_PENDING_TAGS,
) -> SubscribeResult:
    """Subscribe to each tag. An unknown tag close to a known one is not subscribed but
    answered with suggestions; any other unknown tag is created, up to the subscriber's
    limit of tags without articles."""
    result = SubscribeResult(pending_limit=pending_limit)
    existing = {t.key: t for t in await repo.tags_by_key(session, [t.key for t in tags])}
    vocabulary: dict[str, Suggestion] | None = None
    candidates: list[TagName] = []
    for tag in tags:
        if len(tag.name) > MAX_TAG_LENGTH:
            result.too_long.append(tag.name)
            continue
        if tag.key not in existing:
            if vocabulary is None:
                vocabulary = {
                    t.key: Suggestion(t.id, t.name) for t in await repo.tag_names(session)
                }
            if options := suggest(tag.key, vocabulary):
                result.suggestions[tag.name] = options
                continue
        candidates.append(tag)
    current = {t.id for t in await repo.subscribed_tags(session, subscriber.id)}
    counts = await repo.article_counts(session, [t.id for t in existing.values()])
    room = pending_limit - await repo.count_pending_subscriptions(session, subscriber.id)
    wanted: list[TagName] = []
    for tag in candidates:
        row = existing.get(tag.key)
        if row is not None and (row.id in current or counts.get(row.id)):
            wanted.append(tag)
        elif room > 0:
            wanted.append(tag)
            room -= 1
        else:
            result.over_pending_limit.append(tag.name)
    rows = await repo.ensure_tags(session, wanted)
    for row in rows:
        (result.already if row.id in current else result.subscribed).append(row.name)
        if not counts.get(row.id):
            result.without_articles.append(row.name)
    await repo.subscribe(session, subscriber.id, [row.id for row in rows], now=now)
    return result


async def unsubscribe(
    session: AsyncSession, subscriber: Subscriber, typed: Sequence[TagName]
) -> UnsubscribeResult:
    """Unsubscribe from each typed tag; a typed tag they do not follow but that is close to
    one they do is answered with that one."""
    rows = {t.key: t for t in await repo.tags_by_key(session, [t.key for t in typed])}
    removed = await repo.unsubscribe(session, subscriber.id, [t.id for t in rows.values()])
    result = UnsubscribeResult(removed=[t.name for t in rows.values() if t.id in removed])
    mine: dict[str, Suggestion] | None = None
    for tag in typed:
        if tag.key in rows and rows[tag.key].id in removed:
            continue
        result.missing.append(tag.name)
        if len(tag.name) <= MAX_TAG_LENGTH:
            if mine is None:
                mine = {
                    t.key: Suggestion(t.id, t.name)
                    for t in await repo.subscribed_tags(session, subscriber.id)
                }
            if options := suggest(tag.key, mine):
                result.suggestions[tag.name] = options
    await repo.drop_unused_tags(session, list(removed))
    return result


async def follow(
    session: AsyncSession, subscriber: Subscriber, tag_id: int, now: datetime
) -> Tag | None:
    """Subscribe to one existing tag (a suggestion's button); None when it is gone."""
    tag = await repo.tag_by_id(session, tag_id)
    if tag is not None:
        await repo.subscribe(session, subscriber.id, [tag_id], now=now)
    return tag


async def unfollow(session: AsyncSession, subscriber: Subscriber, tag_id: int) -> Tag | None:
    """Unsubscribe from one tag; None when they did not follow it (or it is gone)."""
    tag = await repo.tag_by_id(session, tag_id)
    if tag is None or not await repo.unsubscribe(session, subscriber.id, [tag_id]):
        return None
    await repo.drop_unused_tags(session, [tag_id])
    return tag


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


async def tag_page(
    session: AsyncSession, subscriber: Subscriber, page: int, size: int = TAGS_PAGE_SIZE
) -> tuple[list[TagButton], int]:
    """One page of popular tags, and the number of pages."""
    shown = Page.of(await repo.count_used_tags(session), size, page)
    rows = await repo.popular_tags(session, limit=size, offset=shown.offset)
    mine = {t.id for t in await repo.subscribed_tags(session, subscriber.id)}
    return [TagButton(t.id, t.name, n, t.id in mine) for t, n in rows], shown.count


async def subscriptions_page(
    session: AsyncSession, subscriber: Subscriber, page: int, size: int = SUBSCRIPTIONS_PAGE_SIZE
) -> SubscriptionsPage:
    """One page of the subscriber's tags, by name."""
    tags = await repo.subscribed_tags(session, subscriber.id)
    shown = Page.of(len(tags), size, page)
    listed = [Suggestion(t.id, t.name) for t in shown.of_rows(tags)]
    return SubscriptionsPage(listed, shown.number, shown.count)


async def article(session: AsyncSession, article_id: int) -> Article | None:
    """The article, if ``article_id`` can name one at all and it still exists."""
    if not 1 <= article_id <= MAX_ID:
        return None
    return await repo.get_article(session, article_id)


async def came_back(
    session: AsyncSession, chat_id: int, now: datetime, known: Subscriber | None = None
) -> None:
    """A person sent /start: if they had blocked the bot, deliver to them again, from
    their next digest time. ``known``: their row, when the caller has it already."""
    own = known or await repo.get_subscriber(session, chat_id)
    if own is not None and own.blocked:
        own.blocked = False
        reschedule(own, now)
