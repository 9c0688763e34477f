"""Articles: stored by fingerprint (added, updated or left as they are), deleted and
brought back by an admin, and read for views and digests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import Article, ArticleTag, Tag
from storage.records import Outcome, ParsedArticle
from storage.records import Tag as TagName
from storage.repo.tags import ensure_tags
from storage.sql import chunks, grouped
from storage.stories import STORY


async def upsert_articles(
    session: AsyncSession,
    articles: Sequence[ParsedArticle],
    *,
    now: datetime,
    feed_id: int | None = None,
) -> list[tuple[Article, Outcome]]:
    """`upsert_article` for many at once, in a handful of statements. ``feed_id`` marks
    new articles as that feed's."""
    # Each article's fingerprint worked out once (a hash of its folded identity).
    prints = [a.fingerprint for a in articles]
    rows: dict[str, Article] = {}
    for part in chunks(prints):
        found = await session.scalars(select(Article).where(Article.fingerprint.in_(part)))
        rows.update((row.fingerprint, row) for row in found)
    deleted_links = await _deleted_links(
        session,
        [a.url for a, fp in zip(articles, prints, strict=True) if a.url and fp not in rows],
    )
    results: list[tuple[Article, Outcome]] = []
    retag: dict[str, ParsedArticle] = {}
    for article, fingerprint in zip(articles, prints, strict=True):
        # Its own row, or a deleted article's with the same link: deleted stays deleted.
        row = rows.get(fingerprint) or deleted_links.get(article.url or "")
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
            row = Article(fingerprint=fingerprint, added_at=now, feed_id=feed_id, **fields)
            session.add(row)
            rows[fingerprint] = row
            results.append((row, Outcome.ADDED))
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            results.append((row, Outcome.UPDATED))
        retag[fingerprint] = article
    if not retag:
        return results
    await session.flush()
    wanted: dict[str, TagName] = {}
    for article in retag.values():
        for tag in article.tags:
            wanted.setdefault(tag.key, tag)  # the first spelling seen is the one kept
    tag_ids = {tag.key: tag.id for tag in await ensure_tags(session, list(wanted.values()))}
    ids = [rows[fp].id for fp in retag]
    for part in chunks(ids):
        await session.execute(delete(ArticleTag).where(ArticleTag.article_id.in_(part)))
    links = [
        {"article_id": rows[fp].id, "tag_id": tag_ids[tag.key]}
        for fp, article in retag.items()
        for tag in article.tags
    ]
    for part in chunks(links):
        await session.execute(insert(ArticleTag), list(part))
    return results


async def upsert_article(
    session: AsyncSession, article: ParsedArticle, *, now: datetime
) -> tuple[Article, Outcome]:
    """Store ``article`` by its fingerprint: add it, update it when changed, or leave it."""
    [result] = await upsert_articles(session, [article], now=now)
    return result


async def _deleted_links(session: AsyncSession, urls: Sequence[str]) -> dict[str, Article]:
    """The deleted articles among those with these links, by link. Read through the
    partial index of deleted articles: a few rows, however many articles are stored."""
    found: dict[str, Article] = {}
    for part in chunks(sorted(set(urls))):
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
    for part in chunks(list(ids)):
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

    return await grouped(session, article_ids, query)


async def recent_by_link(
    session: AsyncSession,
    key: InstrumentedAttribute[int],
    article: InstrumentedAttribute[int],
    keys: Sequence[int],
    since: datetime,
) -> dict[int, list[tuple[int, datetime, int]]]:
    """Per key of a link table (``key`` and ``article`` its columns: a tag's articles, a
    word's), (article id, published_at, story id) of the shown articles added since
    ``since``."""
    result: dict[int, list[tuple[int, datetime, int]]] = {k: [] for k in keys}
    for part in chunks(list(keys)):
        query = (
            select(key, Article.id, Article.published_at, STORY)
            .join(Article, Article.id == article)
            .where(key.in_(part), Article.added_at >= since, SHOWN)
        )
        for key_id, article_id, published, story_id in (await session.execute(query)).all():
            result[key_id].append((article_id, published, story_id))
    return result


async def count_articles(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Article).where(SHOWN)
    return int(await session.scalar(query) or 0)
