"""Repository functions for what a digest entry says to one reader: why it came (the
reader's tags and followed words the shown article has). Like storage.repo: session
first, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ArticleTag, ArticleWord, Tag, Word
from storage.sql import chunks


async def article_tags(
    session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[tuple[int, str]]]:
    """Each article's tags as (tag id, display name), in name order."""
    result: dict[int, list[tuple[int, str]]] = {a: [] for a in article_ids}
    for part in chunks(sorted(set(article_ids))):
        query = (
            select(ArticleTag.article_id, Tag.id, Tag.name)
            .join(Tag, Tag.id == ArticleTag.tag_id)
            .where(ArticleTag.article_id.in_(part))
            .order_by(Tag.key)
        )
        for article_id, tag_id, name in (await session.execute(query)).all():
            result.setdefault(article_id, []).append((tag_id, name))
    return result


async def article_words(
    session: AsyncSession, article_ids: Sequence[int], word_ids: Sequence[int]
) -> dict[int, list[tuple[int, str]]]:
    """Which of ``word_ids`` each article contains, as (word id, key), in key order."""
    result: dict[int, list[tuple[int, str]]] = {}
    words = sorted(set(word_ids))
    if not words or not article_ids:
        return result
    for part in chunks(sorted(set(article_ids))):
        for some in chunks(words):
            query = (
                select(ArticleWord.article_id, Word.id, Word.key)
                .join(Word, Word.id == ArticleWord.word_id)
                .where(ArticleWord.article_id.in_(part), ArticleWord.word_id.in_(some))
                .order_by(Word.key)
            )
            for article_id, word_id, key in (await session.execute(query)).all():
                result.setdefault(article_id, []).append((word_id, key))
    return result
