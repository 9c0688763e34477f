"""Repository functions. Each takes the session first and never commits: the caller owns
the transaction, so a command or a delivery step is stored whole or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    JSON,
    Select,
    Table,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Article,
    ArticleTag,
    ArticleWord,
    ChatManager,
    ChatType,
    DeliveredArticle,
    Digest,
    DigestKind,
    DigestStatus,
    Feed,
    Subscriber,
    SubscriberWord,
    Subscription,
    Tag,
    UTCDateTime,
    WordKind,
)

_V = TypeVar("_V")

# SQLite allows 32766 bound parameters per statement; stay well below for every backend.
_CHUNK = 5_000


class TagLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...


class ArticleLike(Protocol):
    """What the storage needs of a parsed article (bot.articles.ParsedArticle is one)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def tags(self) -> Sequence[TagLike]: ...


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"  # an admin deleted it (by identity or link): not stored again


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _grouped(
    session: AsyncSession,
    keys: Sequence[int],
    query: Callable[[Sequence[int]], Select[int, _V]],
) -> dict[int, list[_V]]:
    """Every key's values, from (key, value) rows queried a chunk of keys at a time."""
    result: dict[int, list[_V]] = {key: [] for key in keys}
    for part in _chunks(list(keys)):
        for key, value in (await session.execute(query(part))).all():
            result[key].append(value)
    return result


def _insert_ignore(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(rows).on_conflict_do_nothing()


# ---------------------------------------------------------------------------- tags


async def ensure_tags(session: AsyncSession, tags: Sequence[TagLike]) -> list[Tag]:
    """The rows for ``tags``, creating the missing ones; the first display form is kept."""
    if not tags:
        return []
    keys = [tag.key for tag in tags]
    rows = [{"key": tag.key, "name": tag.name} for tag in tags]
    for part in _chunks(rows, 2_000):
        await session.execute(_insert_ignore(session, Tag, list(part)))
    found = {row.key: row for row in await tags_by_key(session, keys)}
    return [found[key] for key in keys]


async def tags_by_key(session: AsyncSession, keys: Sequence[str]) -> list[Tag]:
    result: list[Tag] = []
    for part in _chunks(list(keys)):
        result.extend((await session.scalars(select(Tag).where(Tag.key.in_(part)))).all())
    return result


async def tag_by_id(session: AsyncSession, tag_id: int) -> Tag | None:
    return await session.get(Tag, tag_id)


async def tag_names(session: AsyncSession) -> list[Tag]:
    """Tags that have at least one article: the vocabulary for suggestions."""
    used = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Tag.id)
    return list((await session.scalars(select(Tag).where(exists(used)))).all())


async def popular_tags(
    session: AsyncSession, *, limit: int, offset: int = 0
) -> list[tuple[Tag, int]]:
    """Tags by article count, most used first."""
    count = func.count(ArticleTag.article_id).label("n")
    query = (
        select(Tag, count)
        .join(ArticleTag, ArticleTag.tag_id == Tag.id)
        .group_by(Tag.id)
        .order_by(count.desc(), Tag.key)
        .limit(limit)
        .offset(offset)
    )
    return [(tag, n) for tag, n in (await session.execute(query)).all()]


async def count_used_tags(session: AsyncSession) -> int:
    query = select(func.count(func.distinct(ArticleTag.tag_id)))
    return int(await session.scalar(query) or 0)


async def article_counts(session: AsyncSession, tag_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(ArticleTag.tag_id, func.count())
        .where(ArticleTag.tag_id.in_(tag_ids))
        .group_by(ArticleTag.tag_id)
    )
    return dict((await session.execute(query)).all())


# ---------------------------------------------------------------------------- articles


async def upsert_article(
    session: AsyncSession, article: ArticleLike, *, now: datetime
) -> tuple[Article, Outcome]:
    """Store ``article`` by its fingerprint: add it, update it when changed, or leave it."""
    [result] = await upsert_articles(session, [article], now=now)
    return result


async def upsert_articles(
    session: AsyncSession,
    articles: Sequence[ArticleLike],
    *,
    now: datetime,
    feed_id: int | None = None,
) -> list[tuple[Article, Outcome]]:
    """`upsert_article` for many at once, in a handful of statements. ``feed_id`` marks
    new articles as that feed's."""
    rows: dict[str, Article] = {}
    for part in _chunks([a.fingerprint for a in articles]):
        found = await session.scalars(select(Article).where(Article.fingerprint.in_(part)))
        rows.update((row.fingerprint, row) for row in found)
    deleted_links = await _deleted_links(
        session, [a.url for a in articles if a.url and a.fingerprint not in rows]
    )
    results: list[tuple[Article, Outcome]] = []
    retag: dict[str, ArticleLike] = {}
    for article in articles:
        # Its own row, or a deleted article's with the same link: deleted stays deleted.
        row = rows.get(article.fingerprint) or deleted_links.get(article.url or "")
        if row is not None and row.deleted_at is not None:
            results.append((row, Outcome.DELETED))
            continue
        if row is not None and row.content_hash == article.content_hash:
            results.append((row, Outcome.UNCHANGED))
            continue
        fields = {
            "content_hash": article.content_hash,
            "title": article.title,
            "source": article.source,
            "category": article.category,
            "published_at": article.published_at,
            "url": article.url,
            "summary": article.summary,
            "body": article.body,
        }
        if row is None:
            row = Article(fingerprint=article.fingerprint, added_at=now, feed_id=feed_id, **fields)
            session.add(row)
            rows[article.fingerprint] = row
            results.append((row, Outcome.ADDED))
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            results.append((row, Outcome.UPDATED))
        retag[article.fingerprint] = article
    if not retag:
        return results
    await session.flush()
    wanted: dict[str, TagLike] = {}
    for article in retag.values():
        for tag in article.tags:
            wanted.setdefault(tag.key, tag)  # the first spelling seen is the one kept
    tag_ids = {tag.key: tag.id for tag in await ensure_tags(session, list(wanted.values()))}
    ids = [rows[fp].id for fp in retag]
    for part in _chunks(ids):
        await session.execute(delete(ArticleTag).where(ArticleTag.article_id.in_(part)))
    links = [
        {"article_id": rows[fp].id, "tag_id": tag_ids[tag.key]}
        for fp, article in retag.items()
        for tag in article.tags
    ]
    for part in _chunks(links):
        await session.execute(insert(ArticleTag), list(part))
    return results


async def _deleted_links(session: AsyncSession, urls: Sequence[str]) -> dict[str, Article]:
    """The deleted articles among those with these links, by link. Read through the
    partial index of deleted articles: a few rows, however many articles are stored."""
    found: dict[str, Article] = {}
    for part in _chunks(sorted(set(urls))):
        query = select(Article).where(Article.deleted_at.is_not(None), Article.url.in_(part))
        found.update((row.url, row) for row in await session.scalars(query) if row.url)
    return found


SHOWN = Article.deleted_at.is_(None)  # not deleted by an admin: the condition of every view


async def get_article(session: AsyncSession, article_id: int) -> Article | None:
    """The article, deleted or not (``deleted_at`` says)."""
    return await session.get(Article, article_id)


async def last_article_id(session: AsyncSession) -> int:
    """The highest article id stored (ids are never reused, and deleted articles keep
    their rows): an id above it never named an article."""
    return int(await session.scalar(select(func.max(Article.id))) or 0)


async def delete_article(session: AsyncSession, article_id: int, now: datetime) -> Article | None:
    """Mark an article deleted: no view shows it and no import stores it again. Its row,
    tag links and ledger rows stay, so that `undelete_article` brings it back to nobody
    who already had it. None when there is no such article."""
    row = await session.get(Article, article_id)
    if row is not None and row.deleted_at is None:
        row.deleted_at = now
        await session.flush()
    return row


async def undelete_article(session: AsyncSession, article_id: int) -> Article | None:
    """Show a deleted article again, as it was. None when there is no such article."""
    row = await session.get(Article, article_id)
    if row is not None and row.deleted_at is not None:
        row.deleted_at = None
        await session.flush()
    return row


async def deleted_articles(session: AsyncSession, limit: int) -> list[Article]:
    """The articles admins deleted, the most recently deleted first."""
    query = (
        select(Article)
        .where(Article.deleted_at.is_not(None))
        .order_by(Article.deleted_at.desc(), Article.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def latest_articles(session: AsyncSession, limit: int) -> list[Article]:
    query = (
        select(Article)
        .where(SHOWN)
        .order_by(Article.added_at.desc(), Article.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


@dataclass(frozen=True, slots=True)
class ArticleLine:
    """What a digest shows of an article."""

    id: int
    title: str
    summary: str
    url: str | None


async def digest_lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, ArticleLine]:
    """Plain rows rather than ORM objects: a pass may render a million of them."""
    result: dict[int, ArticleLine] = {}
    for part in _chunks(list(ids)):
        query = select(Article.id, Article.title, Article.summary, Article.url).where(
            Article.id.in_(part)
        )
        for row in (await session.execute(query)).all():
            result[row[0]] = ArticleLine(row[0], row[1], row[2], row[3])
    return result


async def tags_of_articles(
    session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Display names of each article's tags, in name order."""

    def query(part: Sequence[int]) -> Select[int, str]:
        return (
            select(ArticleTag.article_id, Tag.name)
            .join(Tag, Tag.id == ArticleTag.tag_id)
            .where(ArticleTag.article_id.in_(part))
            .order_by(Tag.key)
        )

    return await _grouped(session, article_ids, query)


async def count_articles(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Article).where(SHOWN)
    return int(await session.scalar(query) or 0)


# ---------------------------------------------------------------------------- subscribers


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
    await session.execute(_insert_ignore(session, Subscriber, [row]))
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
    for part in _chunks(list(set(subscriber_ids))):
        query = select(Subscriber.id, Subscriber.chat_id, Subscriber.thread_id).where(
            Subscriber.id.in_(part)
        )
        result.update((row[0], (row[1], row[2])) for row in (await session.execute(query)).all())
    return result


async def set_thread(session: AsyncSession, subscriber_id: int, thread_id: int | None) -> None:
    await session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(thread_id=thread_id)
    )


async def move_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> bool:
    """A group became a supergroup: its row (subscriptions, words, ledger, schedule) takes
    the new id. A row the new supergroup already got (an update from it came first) gives
    way. False when the old chat has no row.

    Telegram tells both chats, and their updates are handled at once: the old row is
    locked, so the second mover waits and then finds nothing to move. Before the lock, the
    second could read the row, wait out the first, and then delete it as the new chat's
    row: the group lost its subscriptions (seen on PostgreSQL under load)."""
    old = await get_subscriber(session, old_chat_id, for_update=True)
    if old is None:
        return False
    await session.execute(delete(Subscriber).where(Subscriber.chat_id == new_chat_id))
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == old.id)
        .values(chat_id=new_chat_id, chat_type=ChatType.SUPERGROUP)
    )
    return True


async def set_chat_state(
    session: AsyncSession, chat_id: int, *, active: bool, title: str | None = None
) -> Subscriber | None:
    """The bot was removed from a chat (inactive: nothing more is sent) or added again."""
    subscriber = await get_subscriber(session, chat_id)
    if subscriber is not None:
        subscriber.blocked = not active
        if title:
            subscriber.title = title
    return subscriber


# ------------------------------------------------------------ who manages which chat


async def add_manager(
    session: AsyncSession, user_id: int, subscriber_id: int, now: datetime
) -> None:
    """``user_id`` administers the chat and linked it; it becomes their selected one."""
    await session.execute(
        _insert_ignore(
            session,
            ChatManager,
            [
                {
                    "user_id": user_id,
                    "subscriber_id": subscriber_id,
                    "selected": False,
                    "created_at": now,
                }
            ],
        )
    )
    await select_chat(session, user_id, subscriber_id)


async def select_chat(session: AsyncSession, user_id: int, subscriber_id: int | None) -> None:
    """Make one of the user's linked chats the one their commands act for (None: their
    own private chat again)."""
    await session.execute(
        update(ChatManager)
        .where(ChatManager.user_id == user_id)
        .values(selected=ChatManager.subscriber_id == subscriber_id)
    )


async def selected_chat(session: AsyncSession, user_id: int) -> Subscriber | None:
    query = (
        select(Subscriber)
        .join(ChatManager, ChatManager.subscriber_id == Subscriber.id)
        .where(ChatManager.user_id == user_id, ChatManager.selected.is_(True))
    )
    return await session.scalar(query)


async def managed_chats(session: AsyncSession, user_id: int) -> list[tuple[Subscriber, bool]]:
    """The chats the user linked, oldest first, each with whether it is selected."""
    query = (
        select(Subscriber, ChatManager.selected)
        .join(ChatManager, ChatManager.subscriber_id == Subscriber.id)
        .where(ChatManager.user_id == user_id)
        .order_by(ChatManager.created_at, Subscriber.id)
    )
    return [(row[0], bool(row[1])) for row in (await session.execute(query)).all()]


async def manages(session: AsyncSession, user_id: int, subscriber_id: int) -> bool:
    """Whether the user linked the chat (and may act for it while they administer it)."""
    query = select(ChatManager.user_id).where(
        ChatManager.user_id == user_id, ChatManager.subscriber_id == subscriber_id
    )
    return await session.scalar(query) is not None


async def drop_manager(session: AsyncSession, user_id: int, subscriber_id: int) -> None:
    await session.execute(
        delete(ChatManager).where(
            ChatManager.user_id == user_id, ChatManager.subscriber_id == subscriber_id
        )
    )


async def subscribed_tags(session: AsyncSession, subscriber_id: int) -> list[Tag]:
    query = (
        select(Tag)
        .join(Subscription, Subscription.tag_id == Tag.id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Tag.key)
    )
    return list((await session.scalars(query)).all())


async def subscribe(
    session: AsyncSession, subscriber_id: int, tag_ids: Sequence[int], *, now: datetime
) -> None:
    if tag_ids:
        rows = [{"subscriber_id": subscriber_id, "tag_id": t, "created_at": now} for t in tag_ids]
        await session.execute(_insert_ignore(session, Subscription, rows))


async def unsubscribe(
    session: AsyncSession, subscriber_id: int, tag_ids: Sequence[int]
) -> set[int]:
    """Remove the links; return the tag ids that were subscribed."""
    query = select(Subscription.tag_id).where(
        Subscription.subscriber_id == subscriber_id, Subscription.tag_id.in_(tag_ids)
    )
    removed = set((await session.scalars(query)).all())
    if removed:
        await session.execute(
            delete(Subscription).where(
                Subscription.subscriber_id == subscriber_id, Subscription.tag_id.in_(removed)
            )
        )
    return removed


async def count_pending_subscriptions(session: AsyncSession, subscriber_id: int) -> int:
    """How many of the subscriber's tags have no articles yet."""
    used = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Subscription.tag_id)
    query = (
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.subscriber_id == subscriber_id, ~exists(used))
    )
    return int(await session.scalar(query) or 0)


async def drop_unused_tags(session: AsyncSession, tag_ids: Sequence[int]) -> None:
    """Delete those of ``tag_ids`` that no article and no subscriber uses any more: the
    rows a subscription to a tag without articles created go when it ends."""
    if not tag_ids:
        return
    articles = select(ArticleTag.tag_id).where(ArticleTag.tag_id == Tag.id)
    subscribers = select(Subscription.tag_id).where(Subscription.tag_id == Tag.id)
    await session.execute(
        delete(Tag).where(Tag.id.in_(tag_ids), ~exists(articles), ~exists(subscribers))
    )


async def set_blocked(session: AsyncSession, subscriber_id: int, blocked: bool) -> None:
    await session.execute(
        update(Subscriber).where(Subscriber.id == subscriber_id).values(blocked=blocked)
    )


# ---------------------------------------------------------------------------- digests


async def undelivered_candidates(
    session: AsyncSession, subscriber_id: int, since: datetime, limit: int
) -> tuple[list[tuple[int, datetime, int]], int, set[int]]:
    """The newest ``limit`` stories with an article that has any of the subscriber's tags
    or followed words, was added since ``since`` and was not yet delivered to them, and no
    article with a muted word: per story its newest such article, as (id, published_at,
    story id). Also how many such stories there are in all, and which of the returned
    stories the subscriber already had. Sorting and counting stay in the database: a
    popular tag has thousands of candidates, and only a digest's worth should cross into
    Python."""
    story = func.coalesce(Article.story_id, Article.id)
    delivered = select(DeliveredArticle.article_id).where(
        DeliveredArticle.subscriber_id == subscriber_id,
        DeliveredArticle.article_id == Article.id,
    )
    by_tag = (
        select(ArticleTag.article_id)
        .join(Subscription, Subscription.tag_id == ArticleTag.tag_id)
        .where(Subscription.subscriber_id == subscriber_id)
    )
    by_word = (
        select(ArticleWord.article_id)
        .join(SubscriberWord, SubscriberWord.word_id == ArticleWord.word_id)
        .where(SubscriberWord.subscriber_id == subscriber_id)
    )
    muted_article = aliased(Article)
    muted_stories = (
        select(func.coalesce(muted_article.story_id, muted_article.id))
        .join(ArticleWord, ArticleWord.article_id == muted_article.id)
        .join(SubscriberWord, SubscriberWord.word_id == ArticleWord.word_id)
        .where(
            SubscriberWord.subscriber_id == subscriber_id,
            SubscriberWord.kind == WordKind.MUTE,
            muted_article.added_at >= since,
            muted_article.deleted_at.is_(None),  # as the batch path reads mutes
        )
    )
    matching = (
        select(Article.id, Article.published_at, story.label("story"))
        .where(
            Article.id.in_(union(by_tag, by_word.where(SubscriberWord.kind == WordKind.FOLLOW))),
            Article.added_at >= since,
            SHOWN,
            ~exists(delivered),
            story.not_in(muted_stories),
        )
        .cte("matching")
    )
    stories_in_all = select(func.count(func.distinct(matching.c.story))).scalar_subquery()
    # The newest matches, a few per story the digest can hold: each story's newest one is
    # among them unless stories have many matching articles each; then read further.
    fetch = limit * 3
    while True:
        query = (
            select(matching.c.id, matching.c.published_at, matching.c.story, stories_in_all)
            .order_by(matching.c.published_at.desc(), matching.c.id.desc())
            .limit(fetch)
        )
        found = (await session.execute(query)).all()
        total = int(found[0][3]) if found else 0
        newest: dict[int, tuple[int, datetime, int]] = {}
        for article_id, published, story_id, _ in found:
            newest.setdefault(story_id, (article_id, published, story_id))
        if len(newest) >= min(limit, total) or len(found) < fetch:
            break
        fetch *= 4
    rows = list(newest.values())[:limit]
    stories = [row[2] for row in rows]
    had: set[int] = set()
    if stories:
        had_query = (
            select(story)
            .join(DeliveredArticle, DeliveredArticle.article_id == Article.id)
            .where(DeliveredArticle.subscriber_id == subscriber_id, story.in_(stories))
            .distinct()
        )
        had = set((await session.scalars(had_query)).all())
    return rows, total, had


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


@dataclass(frozen=True, slots=True)
class NewDigest:
    """An outbox row to write. ``chunks`` is the messages' JSON (bot.digest.Chunk writes
    and reads it; storage keeps it as it is)."""

    subscriber_id: int
    kind: DigestKind
    chunks: list[dict[str, Any]]
    article_ids: Sequence[int]
    # SENT: nothing to send, only ledger rows to keep (reports that told a reader
    # nothing new, taken silently into a story they had).
    status: DigestStatus = DigestStatus.PENDING


async def create_digests(
    session: AsyncSession, digests: Sequence[NewDigest], *, now: datetime, lease_until: datetime
) -> list[int]:
    """Outbox rows and their ledger rows, in the caller's transaction; returns the ids."""
    if not digests:
        return []
    rows = [
        {
            "subscriber_id": d.subscriber_id,
            "kind": d.kind,
            "status": d.status,
            "created_at": now,
            "sent_at": now if d.status == DigestStatus.SENT else None,
            "lease_until": lease_until if d.status == DigestStatus.PENDING else None,
            "chunks": d.chunks,
            "sent_chunks": 0,
            "message_ids": [],
            "attempts": 0,
        }
        for d in digests
    ]
    ids: list[int] = []
    for part in _chunks(rows, 1_000):
        result = await session.scalars(
            insert(Digest).returning(Digest.id, sort_by_parameter_order=True), list(part)
        )
        ids.extend(result.all())
    ledger = [
        {"subscriber_id": d.subscriber_id, "article_id": a, "digest_id": i, "delivered_at": now}
        for d, i in zip(digests, ids, strict=True)
        for a in d.article_ids
    ]
    ledger_table = cast(Table, DeliveredArticle.__table__)
    for part in _chunks(ledger):  # Core, not the ORM's bulk insert: a million rows a pass
        await session.execute(insert(ledger_table), list(part))
    return ids


async def subscription_tags(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, list[int]]:
    def query(part: Sequence[int]) -> Select[int, int]:
        return select(Subscription.subscriber_id, Subscription.tag_id).where(
            Subscription.subscriber_id.in_(part)
        )

    return await _grouped(session, subscriber_ids, query)


async def delivered_since(
    session: AsyncSession, subscriber_ids: Sequence[int], since: datetime
) -> dict[int, tuple[set[int], set[int]]]:
    """Per subscriber, the delivered articles among those added since ``since``, and the
    stories of those articles."""
    result: dict[int, tuple[set[int], set[int]]] = {s: (set(), set()) for s in subscriber_ids}
    story = func.coalesce(Article.story_id, Article.id)
    for part in _chunks(list(subscriber_ids)):
        query = (
            select(DeliveredArticle.subscriber_id, DeliveredArticle.article_id, story)
            .join(Article, Article.id == DeliveredArticle.article_id)
            .where(DeliveredArticle.subscriber_id.in_(part), Article.added_at >= since)
        )
        for subscriber_id, article_id, story_id in (await session.execute(query)).all():
            articles, stories = result[subscriber_id]
            articles.add(article_id)
            stories.add(story_id)
    return result


async def delivered_pairs(
    session: AsyncSession, subscriber_ids: Sequence[int], article_ids: Sequence[int]
) -> set[tuple[int, int]]:
    """Which of ``article_ids`` each of ``subscriber_ids`` has had, as (subscriber, article)."""
    found: set[tuple[int, int]] = set()
    for subscribers in _chunks(sorted(set(subscriber_ids)), 1_000):
        for articles in _chunks(sorted(set(article_ids)), 5_000):
            query = select(DeliveredArticle.subscriber_id, DeliveredArticle.article_id).where(
                DeliveredArticle.subscriber_id.in_(subscribers),
                DeliveredArticle.article_id.in_(articles),
            )
            found.update((s, a) for s, a in (await session.execute(query)).all())
    return found


async def tag_articles(
    session: AsyncSession, tag_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[int, datetime, int]]]:
    """Per tag, (article id, published_at, story id) of the articles added since ``since``."""
    result: dict[int, list[tuple[int, datetime, int]]] = {t: [] for t in tag_ids}
    story = func.coalesce(Article.story_id, Article.id)
    for part in _chunks(list(tag_ids)):
        query = (
            select(ArticleTag.tag_id, Article.id, Article.published_at, story)
            .join(Article, Article.id == ArticleTag.article_id)
            .where(ArticleTag.tag_id.in_(part), Article.added_at >= since, SHOWN)
        )
        for tag_id, article_id, published, story_id in (await session.execute(query)).all():
            result[tag_id].append((article_id, published, story_id))
    return result


async def claim_stale_digests(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Digest]:
    """Pending digests whose lease ran out (their sender died or gave up): lease them anew."""
    query = (
        select(Digest)
        .where(Digest.status == DigestStatus.PENDING, Digest.lease_until < now)
        .order_by(Digest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    digests = list((await session.scalars(query)).all())
    for digest in digests:
        digest.lease_until = now + lease
    await session.flush()
    return digests


@dataclass(frozen=True, slots=True)
class SentProgress:
    digest_id: int
    message_ids: list[int]
    total: int


_RECORD_SENT = (
    update(Digest)
    .where(Digest.id == bindparam("b_id"), Digest.sent_chunks < bindparam("b_sent"))
    .values(
        sent_chunks=bindparam("b_sent"),
        message_ids=bindparam("b_messages", type_=JSON),
        status=bindparam("b_status", type_=Digest.status.type),
        sent_at=bindparam("b_sent_at", type_=UTCDateTime()),
        lease_until=bindparam("b_lease", type_=UTCDateTime()),
    )
)


async def record_sent(
    session: AsyncSession, progress: Sequence[SentProgress], *, now: datetime, lease: timedelta
) -> None:
    """Note how many of each digest's messages are out: renew its lease, or close it when
    all are. Never moves a digest backwards, so records may land in any order."""
    rows = []
    for p in progress:
        done = len(p.message_ids) >= p.total
        rows.append(
            {
                "b_id": p.digest_id,
                "b_sent": len(p.message_ids),
                "b_messages": p.message_ids,
                "b_status": DigestStatus.SENT if done else DigestStatus.PENDING,
                "b_sent_at": now if done else None,
                "b_lease": None if done else now + lease,
            }
        )
    if rows:
        # A Core executemany: the ORM's bulk UPDATE by primary key would drop the WHERE.
        connection = await session.connection()
        await connection.execute(_RECORD_SENT, rows)


async def postpone_digest(
    session: AsyncSession, digest_id: int, *, until: datetime, error: str
) -> None:
    await session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(lease_until=until, attempts=Digest.attempts + 1, error=error[:500])
    )


async def fail_digest(
    session: AsyncSession,
    digest_id: int,
    *,
    unsent_article_ids: Sequence[int] | None,
    error: str,
) -> None:
    """Give up on a digest: the articles of its unsent messages leave the ledger so that
    they can come later (all of its articles when ``unsent_article_ids`` is None)."""
    ledger = delete(DeliveredArticle).where(DeliveredArticle.digest_id == digest_id)
    if unsent_article_ids is None:
        await session.execute(ledger)
    for part in _chunks(list(unsent_article_ids or ())):
        await session.execute(ledger.where(DeliveredArticle.article_id.in_(part)))
    await session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(status=DigestStatus.FAILED, error=error[:500], lease_until=None)
    )


async def delivered_article_ids(session: AsyncSession, subscriber_id: int) -> list[int]:
    query = select(DeliveredArticle.article_id).where(
        DeliveredArticle.subscriber_id == subscriber_id
    )
    return list((await session.scalars(query)).all())


async def purge_digests(
    session: AsyncSession, *, created_before: datetime, selectable_since: datetime, limit: int
) -> int:
    """Delete up to ``limit`` sent or failed digests created before ``created_before``;
    return how many. Their ledger rows go with them (ON DELETE CASCADE), so a digest that
    still holds the ledger row of an article added since ``selectable_since`` is kept:
    without that row the article would be selected, and sent, again."""
    still_selectable = (
        select(DeliveredArticle.article_id)
        .join(Article, Article.id == DeliveredArticle.article_id)
        .where(DeliveredArticle.digest_id == Digest.id, Article.added_at >= selectable_since)
    )
    doomed = (
        select(Digest.id)
        .where(
            Digest.status.in_([DigestStatus.SENT, DigestStatus.FAILED]),
            Digest.created_at < created_before,
            ~exists(still_selectable),
        )
        .order_by(Digest.created_at)
        .limit(limit)
    )
    ids = list((await session.scalars(doomed)).all())
    if ids:
        await session.execute(delete(Digest).where(Digest.id.in_(ids)))
    return len(ids)


# ---------------------------------------------------------------------------- stats


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    tags: int
    subscribers_active: int
    subscribers_paused: int
    subscribers_blocked: int
    chats: dict[str, int]  # active chats by type: private, group (with supergroups), channel
    subscriptions: int
    digests_sent_24h: int


async def _chats_by_type(session: AsyncSession) -> dict[str, int]:
    query = (
        select(Subscriber.chat_type, func.count())
        .where(Subscriber.blocked.is_(False))
        .group_by(Subscriber.chat_type)
    )
    found = {str(kind): int(n) for kind, n in (await session.execute(query)).all()}
    return {
        "private": found.get(ChatType.PRIVATE, 0),
        "group": found.get(ChatType.GROUP, 0) + found.get(ChatType.SUPERGROUP, 0),
        "channel": found.get(ChatType.CHANNEL, 0),
    }


async def stats(session: AsyncSession, now: datetime) -> Stats:
    async def count(query: Any) -> int:
        return int(await session.scalar(query) or 0)

    subscribers = select(func.count()).select_from(Subscriber)
    return Stats(
        articles=await count_articles(session),
        tags=await count_used_tags(session),
        subscribers_active=await count(
            subscribers.where(Subscriber.paused.is_(False), Subscriber.blocked.is_(False))
        ),
        subscribers_paused=await count(
            subscribers.where(Subscriber.paused.is_(True), Subscriber.blocked.is_(False))
        ),
        subscribers_blocked=await count(subscribers.where(Subscriber.blocked.is_(True))),
        chats=await _chats_by_type(session),
        subscriptions=await count(select(func.count()).select_from(Subscription)),
        digests_sent_24h=await count(
            select(func.count())
            .select_from(Digest)
            .where(
                Digest.status == DigestStatus.SENT,
                Digest.sent_at >= now - timedelta(hours=24),
                Digest.sent_chunks > 0,  # not a silent one (ledger rows only: NewDigest)
            )
        ),
    )


# ---------------------------------------------------------------------------- feeds


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


async def feed_articles_added_since(session: AsyncSession, feed_id: int, since: datetime) -> int:
    query = select(func.count()).where(Article.feed_id == feed_id, Article.added_at >= since)
    return int(await session.scalar(query) or 0)
