"""What is stored about one chat, read for an export and deleted for good; and the
retention rules the delivery tick applies. Each function takes the session first and
never commits (see storage.repo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import keywords as words_repo
from storage.models import (
    Article,
    ChatManager,
    ChatType,
    Digest,
    DigestMessage,
    Subscriber,
    SubscriberWord,
    Subscription,
    Word,
)
from storage.records import Forgotten
from storage.repo.outbox import unsent_messages
from storage.repo.subscribers import get_subscriber
from storage.repo.subscriptions import subscribed_tags
from storage.repo.tags import drop_unused_tags
from storage.sql import chunks

STREAM_ROWS = 1_000  # rows fetched at a time while an export streams


async def subscriber_of(
    session: AsyncSession, chat_id: int, *, lock: bool = False
) -> Subscriber | None:
    """The chat's row, locked (``lock``) so that no delivery composes for it meanwhile."""
    return await get_subscriber(session, chat_id, for_update=lock)


async def subscribed_tag_names(session: AsyncSession, subscriber_id: int) -> list[str]:
    return [tag.name for tag in await subscribed_tags(session, subscriber_id)]


async def words_of(session: AsyncSession, subscriber_id: int) -> list[tuple[str, str]]:
    """(word, follow or mute), in word order."""
    query = (
        select(Word.key, SubscriberWord.kind)
        .join(SubscriberWord, SubscriberWord.word_id == Word.id)
        .where(SubscriberWord.subscriber_id == subscriber_id)
        .order_by(Word.key)
    )
    return [(key, str(kind)) for key, kind in (await session.execute(query)).all()]


async def links_of(session: AsyncSession, chat_id: int, subscriber_id: int | None) -> list[Any]:
    """The links a chat has: for a person's private chat, the groups and channels they
    linked (as manager); for a group or channel, the people who linked it. Each row:
    (the person's user id, the linked chat's id, its type, its title, selected, when)."""
    mine = ChatManager.user_id == chat_id
    if subscriber_id is not None:
        mine = mine | (ChatManager.subscriber_id == subscriber_id)
    query = (
        select(
            ChatManager.user_id,
            Subscriber.chat_id,
            Subscriber.chat_type,
            Subscriber.title,
            ChatManager.selected,
            ChatManager.created_at,
        )
        .join(Subscriber, Subscriber.id == ChatManager.subscriber_id)
        .where(
            mine if subscriber_id is None else mine | (ChatManager.subscriber_id == subscriber_id)
        )
        .order_by(ChatManager.created_at, Subscriber.id)
    )
    return list((await session.execute(query)).all())


async def ledger_rows(session: AsyncSession, subscriber_id: int) -> AsyncIterator[Any]:
    """Every article sent to the chat, oldest first, streamed (a server-side cursor on
    PostgreSQL): (article id, title, link, when sent)."""
    query = (
        select(Digest.created_at, Digest.ledger)
        .where(Digest.subscriber_id == subscriber_id, Digest.ledger.is_not(None))
        .order_by(Digest.created_at, Digest.id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    result = await session.stream(query)
    async for part in result.partitions(STREAM_ROWS):  # one await a thousand digests
        ids = sorted({a for _, ledger in part for a in ledger or ()})
        articles: dict[int, tuple[str, str | None]] = {}
        for some in chunks(ids):
            found = select(Article.id, Article.title, Article.url).where(Article.id.in_(some))
            articles.update((a, (t, u)) for a, t, u in (await session.execute(found)).all())
        for sent, ledger in part:
            for article_id in sorted(ledger or ()):
                if article_id in articles:
                    title, url = articles[article_id]
                    yield article_id, title, url, sent


async def digest_rows(session: AsyncSession, subscriber_id: int) -> AsyncIterator[Any]:
    """The digests still kept for the chat, oldest first, streamed: (id, kind, status,
    created, sent, its unsent messages as stored)."""
    query = (
        select(Digest.id, Digest.kind, Digest.status, Digest.created_at, Digest.sent_at)
        .where(Digest.subscriber_id == subscriber_id)
        .order_by(Digest.id)
        .execution_options(yield_per=100)
    )
    result = await session.stream(query)
    async for part in result.partitions(100):
        messages = await unsent_messages(session, [row[0] for row in part])
        for row in part:
            yield (*row, messages[row[0]])


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def forget_chat(
    session: AsyncSession, chat_id: int, *, private: bool | None = None
) -> Forgotten | None:
    """Delete every row about the chat: its subscriber row with its subscriptions, words,
    ledger, digests (outbox rows) and links; tags and words nobody else uses go too. For a
    private chat (``private``, or its row's type) also the links the person made to
    groups and channels. None when nothing was stored.

    The chat's row is locked first, so that a delivery composing for it at this moment
    finishes before (and its rows are deleted here) or finds the row gone."""
    row = await subscriber_of(session, chat_id, lock=True)
    person = private if private is not None else row is None or row.chat_type == ChatType.PRIVATE
    links = await _count(session, ChatManager, ChatManager.user_id == chat_id) if person else 0
    if row is None and not links:
        return None
    if person:
        await session.execute(delete(ChatManager).where(ChatManager.user_id == chat_id))
    if row is None:
        return Forgotten(0, 0, 0, 0, links)
    sid = row.id
    tag_ids = list(
        await session.scalars(select(Subscription.tag_id).where(Subscription.subscriber_id == sid))
    )
    word_ids = list(
        await session.scalars(
            select(SubscriberWord.word_id).where(SubscriberWord.subscriber_id == sid)
        )
    )
    forgotten = Forgotten(
        subscriptions=len(tag_ids),
        words=len(word_ids),
        ledger=await _ledger_size(session, sid),
        digests=await _count(session, Digest, Digest.subscriber_id == sid),
        links=links + await _count(session, ChatManager, ChatManager.subscriber_id == sid),
    )
    # Children first, explicitly (not only by ON DELETE CASCADE), then the row itself.
    mine = select(Digest.id).where(Digest.subscriber_id == sid).scalar_subquery()
    await session.execute(delete(DigestMessage).where(DigestMessage.digest_id.in_(mine)))
    await session.execute(delete(Digest).where(Digest.subscriber_id == sid))
    await session.execute(delete(Subscription).where(Subscription.subscriber_id == sid))
    await session.execute(delete(SubscriberWord).where(SubscriberWord.subscriber_id == sid))
    await session.execute(delete(ChatManager).where(ChatManager.subscriber_id == sid))
    await session.execute(delete(Subscriber).where(Subscriber.id == sid))
    await drop_unused_tags(session, tag_ids)
    await words_repo.drop_unused_words(session, word_ids)
    return forgotten


async def count_stored(session: AsyncSession, chat_id: int) -> int:
    """Rows about the chat in every table that names it (the tests' and the operator's
    check that a forgotten chat left nothing)."""
    row = await subscriber_of(session, chat_id)
    total = await _count(session, ChatManager, ChatManager.user_id == chat_id)
    if row is None:
        return total
    sid = row.id
    mine = select(Digest.id).where(Digest.subscriber_id == sid).scalar_subquery()
    for model, column in (
        (Digest, Digest.subscriber_id),
        (Subscription, Subscription.subscriber_id),
        (SubscriberWord, SubscriberWord.subscriber_id),
        (ChatManager, ChatManager.subscriber_id),
    ):
        total += await _count(session, model, column == sid)
    total += await _count(session, DigestMessage, DigestMessage.digest_id.in_(mine))
    return total + 1


async def _ledger_size(session: AsyncSession, subscriber_id: int) -> int:
    """How many articles the chat's kept ledgers name."""
    query = select(Digest.ledger).where(
        Digest.subscriber_id == subscriber_id, Digest.ledger.is_not(None)
    )
    return sum(len(ledger or ()) for ledger in (await session.scalars(query)).all())


# ---------------------------------------------------------------------------- retention


async def digests_created_between(
    session: AsyncSession, after: tuple[datetime, int] | None, before: datetime, limit: int
) -> list[tuple[datetime, int]]:
    """Up to ``limit`` digests created before ``before``, after the (created, id) cursor
    ``after``, in that order: an index range on digests.created_at."""
    query = select(Digest.created_at, Digest.id).where(Digest.created_at < before)
    if after is not None:
        created, digest_id = after
        query = query.where(
            (Digest.created_at > created)
            | ((Digest.created_at == created) & (Digest.id > digest_id))
        )
    query = query.order_by(Digest.created_at, Digest.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def drop_ledger_of(session: AsyncSession, digest_ids: Sequence[int]) -> int:
    """Drop the ledgers the digests hold; how many articles they named."""
    if not digest_ids:
        return 0
    held = Digest.id.in_(list(digest_ids)) & Digest.ledger.is_not(None)
    ledgers = (await session.scalars(select(Digest.ledger).where(held))).all()
    if ledgers:
        await session.execute(update(Digest).where(held).values(ledger=None))
    return sum(len(ledger or ()) for ledger in ledgers)


async def blocked_before(session: AsyncSession, before: datetime, limit: int) -> list[int]:
    """Chats that could not receive messages (they blocked the bot, were deleted, or
    removed it) since before ``before``: their chat ids, up to ``limit``."""
    query = (
        select(Subscriber.chat_id)
        .where(Subscriber.blocked.is_(True), Subscriber.blocked_at < before)
        .order_by(Subscriber.blocked_at)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def mark_blocked(session: AsyncSession, subscriber_id: int, now: datetime) -> None:
    """The chat cannot receive messages from now on (Telegram said 403, or the bot was
    removed): blocked, and since when, for FORGET_BLOCKED_DAYS."""
    already = Subscriber.blocked.is_(True) & Subscriber.blocked_at.is_not(None)
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(blocked=True, blocked_at=case((already, Subscriber.blocked_at), else_=now))
    )


async def digest_kept(session: AsyncSession, digest_id: int) -> bool:
    """Whether the outbox row is still there (its chat was not forgotten meanwhile)."""
    return await session.scalar(select(Digest.id).where(Digest.id == digest_id)) is not None
