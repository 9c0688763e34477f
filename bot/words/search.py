"""Use cases for followed words, muted words and search; each takes the session and leaves
the commit to the caller.

`store_articles` is how articles are stored: storage.repo.upsert_articles, then each new
or changed article matched once against every followed or muted word, and the matches
stored as article↔word links (a digest reads them as it reads article↔tag links).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops import metrics
from bot.stories.grouping import group_new
from bot.words.keywords import (
    MAX_FOLLOWS,
    MAX_MUTES,
    SEARCH_DAYS,
    Matcher,
    Term,
    postgres_tsquery,
    sqlite_match,
)
from bot.words.model import RemoveResult, WordsResult
from storage import keywords as words_repo
from storage import repo
from storage.models import Article, Subscriber
from storage.records import ParsedArticle, WordKind

SEARCH_PAGE_SIZE = 10
LIMITS = {WordKind.FOLLOW: MAX_FOLLOWS, WordKind.MUTE: MAX_MUTES}


def full_text(terms: Iterable[Term]) -> words_repo.FullText:
    terms = list(terms)
    return words_repo.FullText(sqlite=sqlite_match(terms), postgres=postgres_tsquery(terms))


class WordMatchers:
    """The matcher for the words in the database, rebuilt only when they change (a
    follow of a new word, or the last follower letting one go)."""

    def __init__(self) -> None:
        self._version: tuple[int, int] | None = None
        self._matcher = Matcher([])
        self._ids: dict[str, int] = {}

    async def current(self, session: AsyncSession) -> tuple[Matcher, dict[str, int]]:
        # One aggregate row per call; the words themselves only when they changed.
        version = await words_repo.words_version(session)
        if version != self._version:
            found = await words_repo.all_words(session)
            self._matcher = Matcher(Term.from_key(key) for _, key in found)
            self._ids = {key: word_id for word_id, key in found}
            self._version = version
        return self._matcher, self._ids


# One per process: every store path shares it, so it is built once per set of words.
MATCHERS = WordMatchers()


async def store_articles(
    session: AsyncSession,
    articles: Sequence[ParsedArticle],
    *,
    now: datetime,
    feed_id: int | None = None,
    matchers: WordMatchers = MATCHERS,
) -> list[tuple[Article, repo.Outcome]]:
    """`repo.upsert_articles`, the story of every article added (bot.stories.grouping) and the
    word links of every article added or changed."""
    results = await repo.upsert_articles(session, articles, now=now, feed_id=feed_id)
    added = [row for row, outcome in results if outcome is repo.Outcome.ADDED]
    joined = await group_new(session, added)
    route = "import" if feed_id is None else "feed"
    metrics.articles_stored(session, route, len(added), len(joined))
    changed = [
        (row, article, outcome)
        for (row, outcome), article in zip(results, articles, strict=True)
        if outcome in (repo.Outcome.ADDED, repo.Outcome.UPDATED)
    ]
    if not changed:
        return results
    matcher, ids = await matchers.current(session)
    if not len(matcher):
        return results
    links = [
        (row.id, ids[key])
        for row, article, _ in changed
        for key in matcher.keys_in(article.title, article.summary, article.body)
    ]
    updated = [row.id for row, _, outcome in changed if outcome is repo.Outcome.UPDATED]
    await words_repo.link_articles(session, updated, links)
    return results


# ---------------------------------------------------------------- follow and mute


async def add_words(
    session: AsyncSession,
    subscriber: Subscriber,
    terms: Sequence[Term],
    kind: WordKind,
    *,
    now: datetime,
    max_age: timedelta,
) -> WordsResult:
    """Follow (or mute) each term, up to the subscriber's limit. A word new to the bot is
    linked at once to the articles of the last ``max_age`` that contain it, so the next
    digest already has them."""
    limit = LIMITS[kind]
    result = WordsResult(kind, limit=limit)
    mine = {key: k for _, key, k in await words_repo.subscriber_words(session, subscriber.id)}
    room = limit - sum(1 for k in mine.values() if k == kind)
    wanted: list[Term] = []
    for term in terms:
        held = mine.get(term.key)
        if held == kind:
            result.already.append(term.display)
        elif room <= 0:
            result.over_limit.append(term.display)
        else:
            room -= 1
            wanted.append(term)
            (result.switched if held is not None else result.added).append(term.display)
    ids, created = await words_repo.ensure_words(session, [t.key for t in wanted], now=now)
    for term in wanted:
        if ids[term.key] in created:
            await words_repo.backfill_word(
                session, ids[term.key], match=full_text([term]), since=now - max_age
            )
    await words_repo.set_words(session, subscriber.id, [ids[t.key] for t in wanted], kind, now=now)
    return result


async def remove_words(
    session: AsyncSession, subscriber: Subscriber, terms: Sequence[Term], kind: WordKind
) -> RemoveResult:
    ids = await words_repo.words_by_key(session, [t.key for t in terms])
    removed = await words_repo.remove_words(session, subscriber.id, list(ids.values()), kind)
    result = RemoveResult(kind)
    for term in terms:
        gone = ids.get(term.key) in removed
        (result.removed if gone else result.missing).append(term.display)
    await words_repo.drop_unused_words(session, list(removed))
    return result


async def remove_word(
    session: AsyncSession, subscriber: Subscriber, word_id: int
) -> tuple[str, WordKind] | None:
    """Drop one of the subscriber's words (its ✖ button): how it was shown, and whether it
    was followed or muted; None when it no longer was either."""
    for found_id, key, kind in await words_repo.subscriber_words(session, subscriber.id):
        if found_id == word_id:
            await words_repo.remove_words(session, subscriber.id, [word_id], kind)
            await words_repo.drop_unused_words(session, [word_id])
            return Term.from_key(key).display, kind
    return None


async def my_words(session: AsyncSession, subscriber: Subscriber) -> list[tuple[int, str, bool]]:
    """(word id, shown form, muted) of the subscriber's words: followed first, by key."""
    return [
        (word_id, Term.from_key(key).display, kind == WordKind.MUTE)
        for word_id, key, kind in await words_repo.subscriber_words(session, subscriber.id)
    ]


# ---------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[words_repo.SearchHit]
    page: int
    more: bool


def line_of(hit: words_repo.SearchHit) -> repo.ArticleLine:
    """A result as the digest links an article (bot.delivery.compose.article_link)."""
    return repo.ArticleLine(hit.id, hit.title, hit.summary, hit.url)


async def search(
    session: AsyncSession,
    terms: Sequence[Term],
    *,
    now: datetime,
    page: int = 0,
    size: int = SEARCH_PAGE_SIZE,
) -> SearchPage:
    """One page of the articles added in the last `SEARCH_DAYS` days (the date digests
    go by, not the publication date) containing every term."""
    found = await words_repo.search_articles(
        session,
        full_text(terms),
        since=now - timedelta(days=SEARCH_DAYS),
        limit=size + 1,
        offset=page * size,
    )
    return SearchPage(found[:size], page, len(found) > size)
