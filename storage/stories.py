"""Repository functions for stories: an article's story, the keys grouping searches,
and what a digest shows of a story. Like storage.repo: session first, never commit.

An article's story is ``coalesce(story_id, id)``: NULL is a story of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Article, StoryKey

# Re-exported: bot.delivery reads it as stories.Member.
from storage.records import Member as Member  # noqa: PLC0414
from storage.sql import chunks

STORY = func.coalesce(Article.story_id, Article.id)
STORY_KEYS = cast(Table, StoryKey.__table__)


def _in_stories(story_ids: Sequence[int]) -> ColumnElement[bool]:
    return or_(
        Article.story_id.in_(story_ids),
        and_(Article.story_id.is_(None), Article.id.in_(story_ids)),
    )


async def key_pairs(
    session: AsyncSession,
    keys: Sequence[int],
    *,
    earliest: datetime,
    latest: datetime,
    max_holders: int,
) -> list[tuple[int, int]]:
    """(key, article id) of the articles published between ``earliest`` and ``latest``
    with any of ``keys``, leaving out keys more than ``max_holders`` stored articles hold
    (old articles' keys are purged): integers only, so that many can be read cheaply."""
    pairs: list[tuple[int, int]] = []
    for part in chunks(sorted(set(keys))):
        # Counted on the primary key's index alone: a key thousands of articles hold is
        # dropped here, before any of its rows is joined or read.
        counts = (
            select(StoryKey.key, func.count()).where(StoryKey.key.in_(part)).group_by(StoryKey.key)
        )
        rare = [key for key, n in await session.execute(counts) if n <= max_holders]
        if not rare:
            continue
        query = (
            select(StoryKey.key, StoryKey.article_id)
            .join(Article, Article.id == StoryKey.article_id)
            .where(
                StoryKey.key.in_(rare),
                Article.published_at >= earliest,
                Article.published_at <= latest,
            )
        )
        pairs.extend((key, article_id) for key, article_id in await session.execute(query))
    return pairs


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored article a new one may be the same story as."""

    article_id: int
    story_id: int
    title: str
    summary: str
    published_at: datetime
    source: str
    url: str | None


_CANDIDATE = (
    Article.id,
    STORY,
    Article.title,
    Article.summary,
    Article.published_at,
    Article.source,
    Article.url,
)


async def candidates(session: AsyncSession, article_ids: Sequence[int]) -> list[Candidate]:
    """What grouping compares of these articles."""
    found: list[Candidate] = []
    for part in chunks(sorted(set(article_ids))):
        query = select(*_CANDIDATE).where(Article.id.in_(part))
        found.extend(Candidate(*row) for row in await session.execute(query))
    return found


async def story_candidates(session: AsyncSession, story_ids: Sequence[int]) -> list[Candidate]:
    """What grouping compares of every article of these stories: a new article must
    match a story as a whole (its first report, or most of its members), whatever keys
    they hold."""
    found: list[Candidate] = []
    for part in chunks(sorted(set(story_ids))):
        query = select(*_CANDIDATE).where(_in_stories(part))
        found.extend(Candidate(*row) for row in await session.execute(query))
    return found


async def add_keys(session: AsyncSession, keys: Sequence[tuple[int, int]]) -> None:
    """Store (key, article id) pairs; an article's old keys must be gone first."""
    rows = [{"key": k, "article_id": a} for k, a in dict.fromkeys(keys)]
    for part in chunks(rows):  # Core, not the ORM's bulk insert: 20 rows an article
        await session.execute(insert(STORY_KEYS), list(part))


async def drop_keys(session: AsyncSession, article_ids: Sequence[int]) -> None:
    for part in chunks(list(article_ids)):
        await session.execute(delete(StoryKey).where(StoryKey.article_id.in_(part)))


async def drop_keys_before(session: AsyncSession, added_before: datetime, limit: int) -> int:
    """Forget the keys of up to ``limit`` articles added before ``added_before``: too old
    for any digest, grouping them is pointless. Returns how many articles."""
    old = (
        select(StoryKey.article_id)
        .join(Article, Article.id == StoryKey.article_id)
        .where(Article.added_at < added_before)
        .distinct()
        .limit(limit)
    )
    ids = list((await session.scalars(old)).all())
    await drop_keys(session, ids)
    return len(ids)


async def set_stories(session: AsyncSession, stories: dict[int, int]) -> None:
    """Put each article (key) in a story (value). A story other than the article's own
    also marks its first article, so that the story's members all carry its id."""
    rows = {a: s for a, s in stories.items() if s != a}
    rows.update({s: s for s in set(rows.values())})
    if not rows:
        return
    articles = cast(Table, Article.__table__)
    # One executemany, Core: not matched against every article object in the session
    # (thousands in an import batch, none of which is read again in it).
    await session.execute(
        update(articles)
        .where(articles.c.id == bindparam("article"))
        .values(story_id=bindparam("story")),
        [{"article": a, "story": s} for a, s in rows.items()],
    )


async def story_sizes(session: AsyncSession, story_ids: Sequence[int]) -> dict[int, int]:
    """How many articles each of these stories has (a story of one is left out)."""
    sizes: dict[int, int] = {}
    for part in chunks(sorted(set(story_ids))):
        query = (
            select(Article.story_id, func.count())
            .where(Article.story_id.in_(part))
            .group_by(Article.story_id)
        )
        sizes.update((s, int(n)) for s, n in await session.execute(query) if s is not None)
    return sizes


async def story_of(session: AsyncSession, article_id: int) -> int | None:
    """The story of an article; None when there is no such article, or it was deleted."""
    row = await session.scalar(
        select(STORY).where(Article.id == article_id, Article.deleted_at.is_(None))
    )
    return int(row) if row is not None else None


async def members(session: AsyncSession, story_ids: Sequence[int]) -> dict[int, list[Member]]:
    """Each story's articles, earliest first; a deleted article is in none."""
    result: dict[int, list[Member]] = {s: [] for s in story_ids}
    for part in chunks(list(dict.fromkeys(story_ids))):
        query = (
            select(
                Article.id,
                STORY,
                Article.title,
                Article.summary,
                Article.url,
                Article.source,
                Article.published_at,
            )
            .where(_in_stories(part), Article.deleted_at.is_(None))
            .order_by(Article.published_at, Article.id)
        )
        for row in (await session.execute(query)).all():
            result.setdefault(row[1], []).append(Member(*row))
    return result


async def split(session: AsyncSession, article_id: int) -> list[int] | None:
    """Take an article out of its story; it becomes a story of its own and stays one
    (grouping only places new articles). The rest keep a story, led by its earliest
    article. Returns the rest's ids (empty when the article was alone); None when there
    is no such article."""
    story_id = await story_of(session, article_id)
    if story_id is None:
        return None
    rest = [m.id for m in (await members(session, [story_id]))[story_id] if m.id != article_id]
    await session.execute(update(Article).where(Article.id == article_id).values(story_id=None))
    if rest:
        lead = min(rest)
        await session.execute(update(Article).where(Article.id.in_(rest)).values(story_id=lead))
    return rest


async def merge(session: AsyncSession, first: int, second: int) -> int:
    """Join two stories (by story id) into the one with the lower id; returns it."""
    target = min(first, second)
    ids = [m.id for ms in (await members(session, [first, second])).values() for m in ms]
    await session.execute(update(Article).where(Article.id.in_(ids)).values(story_id=target))
    return target


async def count_grouped(session: AsyncSession) -> tuple[int, int]:
    """(stories of more than one article, articles in them)."""
    sizes = (
        select(Article.story_id, func.count().label("n"))
        .where(Article.story_id.is_not(None))
        .group_by(Article.story_id)
        .having(func.count() > 1)
        .subquery()
    )
    row = (await session.execute(select(func.count(), func.sum(sizes.c.n)))).one()
    return int(row[0] or 0), int(row[1] or 0)
