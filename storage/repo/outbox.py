"""The outbox: digests composed and waiting to be sent, with their ledger rows (which
articles each subscriber has had), leased to one sender at a time.

A digest row is written with its ledger rows in one transaction (`create_digests`); its
sender records each message as it goes out (`record_sent`), renewing the lease, and a row
whose lease ran out is taken up again by the next pass (`claim_stale_digests`). What goes
in ``chunks`` is the messages' JSON: bot.delivery.digest.Chunk writes and reads it, and
bot.delivery.compose.Outbound is what a sender holds of a row; storage keeps it as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from storage.models import (
    Article,
    DeliveredArticle,
    Digest,
    DigestKind,
    DigestStatus,
    Process,
    UTCDateTime,
)
from storage.sql import chunks
from storage.stories import STORY


@dataclass(frozen=True, slots=True)
class NewDigest:
    """An outbox row to write. ``chunks`` is the messages' JSON (bot.delivery.digest.Chunk writes
    and reads it; storage keeps it as it is)."""

    subscriber_id: int
    kind: DigestKind
    chunks: list[dict[str, Any]]
    article_ids: Sequence[int]
    # SENT: nothing to send, only ledger rows to keep (reports that told a reader
    # nothing new, taken silently into a story they had).
    status: DigestStatus = DigestStatus.PENDING


_LEDGER = cast(Table, DeliveredArticle.__table__)
_DELIVERED_AT = _LEDGER.c.delivered_at.type
# The ledger's time goes in as the database holds it (`create_digests` converts it once).
_LEDGER_INSERT = insert(_LEDGER).values(delivered_at=type_coerce(bindparam("b_at"), NullType()))


async def create_digests(
    session: AsyncSession,
    digests: Sequence[NewDigest],
    *,
    now: datetime,
    lease_until: datetime,
    owner: int | None = None,
) -> list[int]:
    """Outbox rows and their ledger rows, in the caller's transaction; returns the ids.
    ``owner``: the process (`Process`) that will send them."""
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
            "owner_id": owner if d.status == DigestStatus.PENDING else None,
        }
        for d in digests
    ]
    # Every ledger row of the call has the same time: converted for the database once,
    # not once per row (a million rows a pass).
    dialect = session.get_bind().dialect
    process = _DELIVERED_AT.dialect_impl(dialect).bind_processor(dialect)
    at = process(now) if process else now
    ids: list[int] = []
    # One subscriber's row at most (a delivery batch): the rows go in as one multi-row
    # INSERT and their ids are told apart by subscriber. Asking for the ids in parameter
    # order instead makes SQLite insert them one statement at a time.
    distinct = len({d.subscriber_id for d in digests}) == len(digests)
    for part in chunks(rows, 1_000):
        if distinct:
            result = await session.execute(
                insert(Digest).returning(Digest.subscriber_id, Digest.id), list(part)
            )
            by_subscriber: dict[int, int] = dict(result.all())
            ids.extend(by_subscriber[row["subscriber_id"]] for row in part)
        else:
            returned = await session.scalars(
                insert(Digest).returning(Digest.id, sort_by_parameter_order=True), list(part)
            )
            ids.extend(returned.all())
    ledger = [
        {"subscriber_id": d.subscriber_id, "article_id": a, "digest_id": i, "b_at": at}
        for d, i in zip(digests, ids, strict=True)
        for a in d.article_ids
    ]
    for part in chunks(ledger):  # Core, not the ORM's bulk insert: a million rows a pass
        await session.execute(_LEDGER_INSERT, list(part))
    return ids


async def claim_stale_digests(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    owner: int | None = None,
    seen_since: datetime | None = None,
) -> list[Digest]:
    """Pending digests whose sender died or gave up: lease them anew (to ``owner``).
    Those whose lease ran out, and, with ``seen_since``, those held by another process
    not seen since then (a process that was killed: bot.delivery.presence)."""
    stale = Digest.lease_until < now
    if seen_since is not None:
        alive = select(Process.id).where(Process.seen_at >= seen_since).scalar_subquery()
        orphaned: list[ColumnElement[bool]] = [
            Digest.owner_id.is_not(None),
            Digest.owner_id.not_in(alive),
        ]
        if owner is not None:  # one's own are in flight, whatever one's row says
            orphaned.append(Digest.owner_id != owner)
        stale = or_(stale, and_(*orphaned))
    query = (
        select(Digest)
        .where(Digest.status == DigestStatus.PENDING, stale)
        .order_by(Digest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    digests = list((await session.scalars(query)).all())
    for digest in digests:
        digest.lease_until = now + lease
        digest.owner_id = owner
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
        # Left for later: no process holds it, only the lease says when it is due.
        .values(lease_until=until, attempts=Digest.attempts + 1, error=error[:500], owner_id=None)
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
    for part in chunks(list(unsent_article_ids or ())):
        await session.execute(ledger.where(DeliveredArticle.article_id.in_(part)))
    await session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(status=DigestStatus.FAILED, error=error[:500], lease_until=None)
    )


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


async def delivered_since(
    session: AsyncSession, subscriber_ids: Sequence[int], since: datetime
) -> dict[int, tuple[set[int], set[int]]]:
    """Per subscriber, the delivered articles among those added since ``since``, and the
    stories of those articles."""
    result: dict[int, tuple[set[int], set[int]]] = {s: (set(), set()) for s in subscriber_ids}
    for part in chunks(list(subscriber_ids)):
        query = (
            select(DeliveredArticle.subscriber_id, DeliveredArticle.article_id, STORY)
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
    for subscribers in chunks(sorted(set(subscriber_ids)), 1_000):
        for articles in chunks(sorted(set(article_ids)), 5_000):
            query = select(DeliveredArticle.subscriber_id, DeliveredArticle.article_id).where(
                DeliveredArticle.subscriber_id.in_(subscribers),
                DeliveredArticle.article_id.in_(articles),
            )
            found.update((s, a) for s, a in (await session.execute(query)).all())
    return found


async def delivered_article_ids(session: AsyncSession, subscriber_id: int) -> list[int]:
    query = select(DeliveredArticle.article_id).where(
        DeliveredArticle.subscriber_id == subscriber_id
    )
    return list((await session.scalars(query)).all())
