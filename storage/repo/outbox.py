"""The outbox: digests composed and waiting to be sent, with their ledgers (which
articles each subscriber has had), leased to one sender at a time.

A digest row is written with its messages and its ledger in one transaction
(`create_digests`); its sender records each message as it goes out (`record_sent`),
renewing the lease and deleting the message's text, and a row whose lease ran out is
taken up again by the next pass (`claim_stale_digests`, `unsent_messages`). A message is
the JSON that bot.delivery.digest.Chunk writes and reads; storage keeps it as it is.

The ledger is one packed column of the digest row (`storage.models.ArticleIds`), not a
row per article: 4 bytes an article instead of about 90. No two composers read and write
one subscriber's ledger at once: each locks the subscriber's row first (the pass claims
it FOR UPDATE SKIP LOCKED, /digest FOR UPDATE; SQLite has one writer), and reads its
ledger after the lock (README, "Exactly once")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Article,
    Digest,
    DigestKind,
    DigestMessage,
    DigestStatus,
    Process,
    UTCDateTime,
)
from storage.sql import chunks
from storage.stories import STORY


@dataclass(frozen=True, slots=True)
class NewDigest:
    """An outbox row to write. ``chunks`` are the messages' JSON (bot.delivery.digest.Chunk
    writes and reads it; storage keeps it as it is)."""

    subscriber_id: int
    kind: DigestKind
    chunks: list[dict[str, Any]]
    article_ids: Sequence[int]
    # SENT: nothing to send, only ledger rows to keep (reports that told a reader
    # nothing new, taken silently into a story they had).
    status: DigestStatus = DigestStatus.PENDING


_MESSAGES = cast(Table, DigestMessage.__table__)
_DIGESTS = cast(Table, Digest.__table__)


class AlreadyDelivered(Exception):
    """A digest would deliver an article its subscriber already had: nothing is written.
    The packed ledger has no key per (subscriber, article) to refuse it, so
    `create_digests` checks, under the subscriber's lock every composer holds."""


Ledgers = dict[int, set[int]]  # subscriber id: every article their kept ledgers hold


async def ledgers(session: AsyncSession, subscriber_ids: Sequence[int]) -> Ledgers:
    """Every article each of these subscribers has had, as their kept digests' ledgers
    say. Read once by a composer after it locked the subscribers' rows, it stays true for
    the rest of the transaction (`create_digests` adds what it writes): `delivered_since`
    and `create_digests` take it instead of reading the digests again, and which of some
    articles a subscriber had is ``ledgers[subscriber] & articles``."""
    found: Ledgers = {s: set() for s in subscriber_ids}
    for subscriber_id, ledger in await _ledgers(session, subscriber_ids):
        found[subscriber_id].update(ledger)
    return found


async def create_digests(
    session: AsyncSession,
    digests: Sequence[NewDigest],
    *,
    now: datetime,
    lease_until: datetime,
    known: Ledgers | None = None,
    owner: int | None = None,
) -> list[int]:
    """Outbox rows with their messages and ledgers, in the caller's transaction; returns
    the ids. ``known``: the subscribers' ledgers as `ledgers` read them in this
    transaction (read here when not given, or when it lacks one of them); what is
    written is added to it. ``owner``: the process (`Process`) that will send them."""
    if not digests:
        return []
    subscribers = [d.subscriber_id for d in digests]
    if known is None or not known.keys() >= set(subscribers):
        known = await ledgers(session, subscribers)
    new: Ledgers = {}
    for d in digests:
        mine = new.setdefault(d.subscriber_id, set())
        before = len(mine)
        mine.update(d.article_ids)
        if len(mine) - before < len(d.article_ids) or not mine.isdisjoint(known[d.subscriber_id]):
            raise AlreadyDelivered(f"a digest for subscribers {sorted(set(subscribers))[:5]}")
    for subscriber_id, articles in new.items():
        known[subscriber_id].update(articles)
    rows: list[dict[str, Any]] = [
        {
            "subscriber_id": d.subscriber_id,
            "kind": d.kind,
            "status": d.status,
            "created_at": now,
            "sent_at": now if d.status == DigestStatus.SENT else None,
            "lease_until": lease_until if d.status == DigestStatus.PENDING else None,
            "sent_chunks": 0,
            "message_ids": [],
            "attempts": 0,
            "ledger": tuple(d.article_ids),
            "owner_id": owner if d.status == DigestStatus.PENDING else None,
        }
        for d in digests
    ]
    ids: list[int] = []
    # One subscriber's row at most (a delivery batch): the rows go in as one multi-row
    # INSERT and their ids are told apart by subscriber. Asking for the ids in parameter
    # order instead makes SQLite insert them one statement at a time.
    distinct = len({d.subscriber_id for d in digests}) == len(digests)
    for part in chunks(rows, 1_000):
        if distinct:
            result = await session.execute(
                insert(_DIGESTS).returning(_DIGESTS.c.subscriber_id, _DIGESTS.c.id), list(part)
            )
            by_subscriber: dict[int, int] = dict(result.all())
            ids.extend(by_subscriber[row["subscriber_id"]] for row in part)
        else:
            returned = await session.scalars(
                insert(_DIGESTS).returning(_DIGESTS.c.id, sort_by_parameter_order=True),
                list(part),
            )
            ids.extend(returned.all())
    messages = [
        {"digest_id": i, "position": position, "body": body}
        for d, i in zip(digests, ids, strict=True)
        for position, body in enumerate(d.chunks)
    ]
    for part in chunks(messages):  # Core, not the ORM's bulk insert
        await session.execute(insert(_MESSAGES), list(part))
    return ids


async def unsent_messages(
    session: AsyncSession, digest_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Each digest's messages not yet sent, in order (what a resumed digest sends)."""
    found: dict[int, list[dict[str, Any]]] = {d: [] for d in digest_ids}
    for part in chunks(list(digest_ids)):
        query = (
            select(DigestMessage.digest_id, DigestMessage.body)
            .where(DigestMessage.digest_id.in_(part))
            .order_by(DigestMessage.digest_id, DigestMessage.position)
        )
        for digest_id, body in (await session.execute(query)).all():
            found[digest_id].append(body)
    return found


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


# A sent message's text is not kept: the ledger says what was sent, a resumed digest
# needs only the rest.
_DROP_SENT = delete(_MESSAGES).where(
    _MESSAGES.c.digest_id == bindparam("b_id"), _MESSAGES.c.position < bindparam("b_sent")
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
        await connection.execute(
            _DROP_SENT, [{"b_id": r["b_id"], "b_sent": r["b_sent"]} for r in rows]
        )


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
    they can come later (all of its articles when ``unsent_article_ids`` is None), and
    its unsent messages are deleted."""
    ledger = await session.scalar(select(Digest.ledger).where(Digest.id == digest_id))
    unsent = set(unsent_article_ids) if unsent_article_ids is not None else None
    kept = () if unsent is None else tuple(a for a in ledger or () if a not in unsent)
    await session.execute(delete(DigestMessage).where(DigestMessage.digest_id == digest_id))
    await session.execute(
        update(Digest)
        .where(Digest.id == digest_id)
        .values(
            status=DigestStatus.FAILED,
            error=error[:500],
            lease_until=None,
            ledger=kept if ledger is not None else None,
        )
    )


async def purge_digests(
    session: AsyncSession, *, created_before: datetime, selectable_since: datetime, limit: int
) -> int:
    """Delete up to ``limit`` sent or failed digests created before ``created_before``;
    return how many. Their ledgers go with them, so a digest whose ledger holds an article
    added since ``selectable_since`` is kept: without it the article would be selected,
    and sent, again. Reads at most ten times ``limit`` candidates, oldest first."""
    doomed: list[int] = []
    after: tuple[datetime, int] | None = None
    for _ in range(10):
        query = select(Digest.created_at, Digest.id, Digest.ledger).where(
            Digest.status.in_([DigestStatus.SENT, DigestStatus.FAILED]),
            Digest.created_at < created_before,
        )
        if after is not None:
            query = query.where(tuple_(Digest.created_at, Digest.id) > tuple_(*after))
        query = query.order_by(Digest.created_at, Digest.id).limit(limit)
        rows = (await session.execute(query)).all()
        selectable = await _added_since(
            session, {a for _, _, ledger in rows for a in ledger or ()}, selectable_since
        )
        doomed += [i for _, i, ledger in rows if selectable.isdisjoint(ledger or ())]
        if len(rows) < limit or len(doomed) >= limit:
            break
        after = (rows[-1][0], rows[-1][1])
    doomed = doomed[:limit]
    for part in chunks(doomed):
        await session.execute(delete(DigestMessage).where(DigestMessage.digest_id.in_(part)))
        await session.execute(delete(Digest).where(Digest.id.in_(part)))
    return len(doomed)


async def _added_since(
    session: AsyncSession, article_ids: Iterable[int], since: datetime
) -> set[int]:
    found: set[int] = set()
    for part in chunks(sorted(article_ids)):
        query = select(Article.id).where(Article.id.in_(part), Article.added_at >= since)
        found.update((await session.scalars(query)).all())
    return found


async def _ledgers(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> list[tuple[int, tuple[int, ...]]]:
    """(subscriber, the articles of one of their digests) for every digest of theirs
    whose ledger is still kept."""
    found: list[tuple[int, tuple[int, ...]]] = []
    for part in chunks(sorted(set(subscriber_ids))):
        query = select(Digest.subscriber_id, Digest.ledger).where(
            Digest.subscriber_id.in_(part), Digest.ledger.is_not(None)
        )
        found += [(s, ledger) for s, ledger in (await session.execute(query)).all() if ledger]
    return found


async def delivered_since(
    session: AsyncSession,
    subscriber_ids: Sequence[int],
    since: datetime,
    *,
    known: Ledgers | None = None,
) -> dict[int, tuple[set[int], set[int]]]:
    """Per subscriber, the delivered articles among those added since ``since``, and the
    stories of those articles. ``known``: their `ledgers`, when the caller has read them
    already (else they are read here)."""
    if known is None:
        known = await ledgers(session, subscriber_ids)
    result: dict[int, tuple[set[int], set[int]]] = {s: (set(), set()) for s in subscriber_ids}
    wanted = sorted({a for s in subscriber_ids for a in known[s]})
    story_of: dict[int, int] = {}
    for part in chunks(wanted):
        query = select(Article.id, STORY).where(Article.id.in_(part), Article.added_at >= since)
        story_of.update((a, story) for a, story in (await session.execute(query)).all())
    for subscriber_id in subscriber_ids:
        articles, stories = result[subscriber_id]
        for article_id in known[subscriber_id]:
            story = story_of.get(article_id)
            if story is not None:
                articles.add(article_id)
                stories.add(story)
    return result


async def delivered_article_ids(session: AsyncSession, subscriber_id: int) -> list[int]:
    return sorted((await ledgers(session, [subscriber_id]))[subscriber_id])
