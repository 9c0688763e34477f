"""Subscribers: a chat the bot serves, with its schedule, language and state; and which
of them are due for a digest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import cast

from sqlalchemy import Table, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatType, Subscriber
from storage.sql import chunks, insert_ignore


async def get_subscriber(
    session: AsyncSession, chat_id: int, *, for_update: bool = False
) -> Subscriber | None:
    query = select(Subscriber).where(Subscriber.chat_id == chat_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def subscriber_by_id(session: AsyncSession, subscriber_id: int) -> Subscriber | None:
    return await session.get(Subscriber, subscriber_id)


async def create_subscriber(
    session: AsyncSession,
    chat_id: int,
    *,
    timezone: str,
    digest_time: time,
    next_due_at: datetime,
    now: datetime,
    language: str = "en",
    chat_type: ChatType = ChatType.PRIVATE,
    title: str | None = None,
) -> Subscriber:
    """Insert the subscriber unless a concurrent update already did; return the row."""
    row = {
        "chat_id": chat_id,
        "language": language,
        "chat_type": chat_type,
        "title": title,
        "timezone": timezone,
        "digest_time": digest_time,
        "frequency": "daily",
        "weekday": 0,
        "paused": False,
        "blocked": False,
        "next_due_at": next_due_at,
        "created_at": now,
    }
    await session.execute(insert_ignore(session, Subscriber, [row]))
    subscriber = await get_subscriber(session, chat_id)
    assert subscriber is not None
    return subscriber


async def language_of(session: AsyncSession, chat_id: int) -> str | None:
    """The chat's language, or None when the chat has no subscriber row yet."""
    query = select(Subscriber.language).where(Subscriber.chat_id == chat_id)
    return await session.scalar(query)


async def destinations(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, tuple[int, int | None]]:
    """Subscriber id -> (Telegram chat id, forum topic or None)."""
    result: dict[int, tuple[int, int | None]] = {}
    for part in chunks(list(set(subscriber_ids))):
        query = select(Subscriber.id, Subscriber.chat_id, Subscriber.thread_id).where(
            Subscriber.id.in_(part)
        )
        result.update((row[0], (row[1], row[2])) for row in (await session.execute(query)).all())
    return result


async def set_thread(session: AsyncSession, subscriber_id: int, thread_id: int | None) -> None:
    await session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(thread_id=thread_id)
    )


async def set_blocked(session: AsyncSession, subscriber_id: int, blocked: bool) -> None:
    await session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(blocked=blocked)
    )


async def claim_due_subscribers(
    session: AsyncSession, now: datetime, limit: int
) -> list[Subscriber]:
    """Lock up to ``limit`` due subscribers. Rows another worker holds are skipped
    (PostgreSQL's SKIP LOCKED); on SQLite the single writer lock serializes workers."""
    query = (
        select(Subscriber)
        .where(
            Subscriber.next_due_at <= now,
            # "= false", not "IS false": only the former matches the partial index
            # ix_subscribers_due, without which every claim scans and sorts everyone.
            Subscriber.paused == false(),
            Subscriber.blocked == false(),
        )
        .order_by(Subscriber.next_due_at, Subscriber.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def set_next_due(session: AsyncSession, next_due: Mapping[int, datetime]) -> None:
    """Advance subscribers (id: their next digest), one UPDATE per distinct time: a
    delivery batch's readers mostly share a few."""
    by_time: dict[datetime, list[int]] = {}
    for subscriber_id, at in next_due.items():
        by_time.setdefault(at, []).append(subscriber_id)
    subscribers = cast(Table, Subscriber.__table__)
    for at, ids in by_time.items():
        for part in chunks(ids):
            await session.execute(
                update(subscribers).where(subscribers.c.id.in_(part)).values(next_due_at=at)
            )
