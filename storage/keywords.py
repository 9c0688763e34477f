"""Repository functions for followed and muted words and for full-text search. Like
storage.repo's: session first, never commit. Term keys and full-text queries come ready
made (bot.words.keywords builds them); nothing here parses what a user typed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, delete, exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ArticleWord,
    SubscriberWord,
    UTCDateTime,
    Word,
)
from storage.records import WordKind
from storage.repo.articles import recent_by_link
from storage.sql import chunks, insert_ignore, on_sqlite, upsert

# ---------------------------------------------------------------------------- words


async def words_version(session: AsyncSession) -> tuple[int, int]:
    """(count, highest id) of the words table. Ids are never reused, so it changes
    whenever the set of words does: a matcher built for one version stays right."""
    row = (await session.execute(select(func.count(), func.max(Word.id)))).one()
    return int(row[0]), int(row[1] or 0)


async def all_words(session: AsyncSession) -> list[tuple[int, str]]:
    return [(row[0], row[1]) for row in await session.execute(select(Word.id, Word.key))]


async def ensure_words(
    session: AsyncSession, keys: Sequence[str], *, now: datetime
) -> tuple[dict[str, int], set[int]]:
    """The ids of ``keys``' rows, creating the missing ones; and the ids created."""
    if not keys:
        return {}, set()
    before = dict(await _word_ids(session, keys))
    missing = [{"key": k, "created_at": now} for k in keys if k not in before]
    if missing:
        await session.execute(insert_ignore(session, Word, missing))
    after = await _word_ids(session, keys)
    return after, {i for k, i in after.items() if k not in before}


async def _word_ids(session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    query = select(Word.key, Word.id).where(Word.key.in_(list(keys)))
    return {row[0]: row[1] for row in await session.execute(query)}


async def words_by_key(session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    return await _word_ids(session, keys) if keys else {}


async def link_articles(
    session: AsyncSession, article_ids: Sequence[int], links: Sequence[tuple[int, int]]
) -> None:
    """Replace the word links of ``article_ids`` by ``links`` (article id, word id): the
    links of the articles in ``links`` that are not in ``article_ids`` must be new."""
    for part in chunks(list(article_ids)):
        await session.execute(delete(ArticleWord).where(ArticleWord.article_id.in_(part)))
    # A plain executemany: several times faster than one INSERT … ON CONFLICT per chunk.
    rows = [{"article_id": a, "word_id": w} for a, w in dict.fromkeys(links)]
    for part in chunks(rows):
        await session.execute(insert(ArticleWord), list(part))


async def backfill_word(
    session: AsyncSession, word_id: int, *, match: FullText, since: datetime
) -> None:
    """Link a new word to the articles added since ``since`` that contain it, found
    through the full-text index."""
    rows = [
        {"article_id": a, "word_id": word_id} for a in await added_matching(session, match, since)
    ]
    # Ignoring conflicts: a concurrent /follow of the same new word may backfill it too.
    for part in chunks(rows, 2_000):
        await session.execute(insert_ignore(session, ArticleWord, list(part)))


async def subscriber_words(
    session: AsyncSession, subscriber_id: int
) -> list[tuple[int, str, WordKind]]:
    """(word id, key, kind) of the subscriber's words, by key."""
    query = (
        select(Word.id, Word.key, SubscriberWord.kind)
        .join(SubscriberWord, SubscriberWord.word_id == Word.id)
        .where(SubscriberWord.subscriber_id == subscriber_id)
        .order_by(SubscriberWord.kind, Word.key)
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def set_words(
    session: AsyncSession,
    subscriber_id: int,
    word_ids: Sequence[int],
    kind: WordKind,
    *,
    now: datetime,
) -> None:
    """Follow or mute each word; a word muted and now followed (or the reverse) switches."""
    if not word_ids:
        return
    rows = [
        {"subscriber_id": subscriber_id, "word_id": w, "kind": kind, "created_at": now}
        for w in word_ids
    ]
    statement = upsert(session, SubscriberWord).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["subscriber_id", "word_id"],
            set_={"kind": statement.excluded.kind, "created_at": statement.excluded.created_at},
        )
    )


async def remove_words(
    session: AsyncSession, subscriber_id: int, word_ids: Sequence[int], kind: WordKind
) -> set[int]:
    """Stop following (or muting) the words; return the ids that were."""
    where = (
        SubscriberWord.subscriber_id == subscriber_id,
        SubscriberWord.word_id.in_(list(word_ids)),
        SubscriberWord.kind == kind,
    )
    removed = set((await session.scalars(select(SubscriberWord.word_id).where(*where))).all())
    if removed:
        await session.execute(delete(SubscriberWord).where(*where))
    return removed


async def drop_unused_words(session: AsyncSession, word_ids: Sequence[int]) -> None:
    """Delete those of ``word_ids`` nobody follows or mutes; their links go with them."""
    if word_ids:
        used = select(SubscriberWord.word_id).where(SubscriberWord.word_id == Word.id)
        await session.execute(delete(Word).where(Word.id.in_(list(word_ids)), ~exists(used)))


async def subscription_words(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, tuple[list[int], list[int]]]:
    """Per subscriber, (followed word ids, muted word ids)."""
    result: dict[int, tuple[list[int], list[int]]] = {s: ([], []) for s in subscriber_ids}
    for part in chunks(list(subscriber_ids)):
        query = select(
            SubscriberWord.subscriber_id, SubscriberWord.word_id, SubscriberWord.kind
        ).where(SubscriberWord.subscriber_id.in_(part))
        for subscriber_id, word_id, kind in (await session.execute(query)).all():
            follows, mutes = result[subscriber_id]
            (follows if kind == WordKind.FOLLOW else mutes).append(word_id)
    return result


async def word_articles(
    session: AsyncSession, word_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[int, datetime, int]]]:
    """Per word, (article id, published_at, story id) of the articles added since
    ``since``."""
    return await recent_by_link(
        session, ArticleWord.word_id, ArticleWord.article_id, word_ids, since
    )


# ---------------------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class FullText:
    """One search in each backend's syntax (bot.words.keywords builds both from the same terms):
    an FTS5 MATCH expression and a to_tsquery('simple', ...) text."""

    sqlite: str
    postgres: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    title: str
    summary: str
    url: str | None
    published_at: datetime


# Ranking every match of a word found in a fifth of 100,000 articles takes 25-150 ms
# (bm25 or ts_rank per row, and PostgreSQL rechecks each row); ranking only the newest
# CANDIDATES of them takes 2-10 ms on either backend, and fifty pages of results are
# more than anyone turns. The newest by id, which both indexes can yield in order
# without ranking (ids grow as articles are stored).
CANDIDATES = 500
# Title, summary, body: a word in the title says more than one in the body.
_SQLITE_SEARCH = """
    SELECT a.id, a.title, a.summary, a.url, a.published_at
    FROM (
        SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0) AS score
        FROM articles_fts WHERE articles_fts MATCH :query
        ORDER BY rowid DESC LIMIT :candidates
    ) AS m JOIN articles AS a ON a.id = m.id
    WHERE a.added_at >= :since AND a.deleted_at IS NULL
    ORDER BY m.score, a.published_at DESC, a.id DESC
    LIMIT :limit OFFSET :offset
"""
_POSTGRES_SEARCH = """
    SELECT m.id, m.title, m.summary, m.url, m.published_at
    FROM (
        SELECT a.id, a.title, a.summary, a.url, a.published_at,
               ts_rank(a.search_vector, q) AS score
        FROM articles AS a, to_tsquery('simple', :query) AS q
        WHERE a.search_vector @@ q AND a.added_at >= :since AND a.deleted_at IS NULL
        ORDER BY a.id DESC LIMIT :candidates
    ) AS m
    ORDER BY m.score DESC, m.published_at DESC, m.id DESC
    LIMIT :limit OFFSET :offset
"""
_SQLITE_ADDED = """
    SELECT a.id FROM articles_fts JOIN articles AS a ON a.id = articles_fts.rowid
    WHERE articles_fts MATCH :query AND a.added_at >= :since
"""
_POSTGRES_ADDED = """
    SELECT id FROM articles
    WHERE search_vector @@ to_tsquery('simple', :query) AND added_at >= :since
"""


async def search_articles(
    session: AsyncSession,
    match: FullText,
    *,
    since: datetime,
    limit: int,
    offset: int = 0,
    candidates: int = CANDIDATES,
) -> list[SearchHit]:
    """Articles added since ``since`` (by the rule digests select by: an article is
    recent when it was added recently, whenever it was published) that contain every
    term and were not deleted: the most relevant first, then the newest published; among
    the newest `CANDIDATES` matches when there are more."""
    lite = on_sqlite(session)
    statement = (
        text(_SQLITE_SEARCH if lite else _POSTGRES_SEARCH)
        .bindparams(bindparam("since", type_=UTCDateTime()))
        .columns(
            id=Integer(),
            title=String(),
            summary=String(),
            url=String(),
            published_at=UTCDateTime(),
        )
    )
    params = {
        "query": match.sqlite if lite else match.postgres,
        "since": since,
        "limit": limit,
        "offset": offset,
        "candidates": candidates,
    }
    if not lite:
        # asyncpg prepares statements, and after five runs PostgreSQL may switch to a
        # generic plan, blind to how common the searched words are: "report 4242" then
        # took 45 ms instead of 2. Plan each search for its own words.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = await session.execute(statement, params)
    return [SearchHit(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def added_matching(session: AsyncSession, match: FullText, since: datetime) -> list[int]:
    """Ids of the articles added since ``since`` that contain every term."""
    lite = on_sqlite(session)
    statement = text(_SQLITE_ADDED if lite else _POSTGRES_ADDED).bindparams(
        bindparam("since", type_=UTCDateTime())
    )
    query = match.sqlite if lite else match.postgres
    return list((await session.scalars(statement, {"query": query, "since": since})).all())
