"""Grouping new articles into stories as they are stored (bot.stories.similarity decides, storage
keeps), and the admin's corrections."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.stories.similarity import (
    MAX_KEY_ARTICLES,
    MAX_STORY_ARTICLES,
    MIN_SHARED_KEYS,
    WINDOW,
    Grouper,
    Known,
    StoryText,
    candidate_keys,
    story_text,
)
from storage import repo
from storage import stories as stories_repo
from storage.models import Article
from storage.records import Member
from storage.stories import Candidate


async def group_new(session: AsyncSession, articles: Sequence[Article]) -> dict[int, int]:
    """Place newly stored articles (flushed, so with ids) in stories: each joins the
    story of a near-duplicate published within 72 hours of it, stored or stored with it,
    or starts its own. Returns the articles that joined a story, by id, with the story."""
    if not articles:
        return {}
    texts = {a.id: story_text(a.title, a.summary, a.source, a.url) for a in articles}
    keys = {a.id: candidate_keys(texts[a.id]) for a in articles}
    published = [a.published_at for a in articles]
    pairs = await stories_repo.key_pairs(
        session,
        [k for ks in keys.values() for k in ks],
        earliest=min(published) - WINDOW,
        latest=max(published) + WINDOW,
        max_holders=MAX_KEY_ARTICLES,
    )
    # Only stored articles that share enough keys with one new article are read.
    holders: dict[int, list[int]] = {}
    stored_keys: dict[int, list[int]] = {}
    for key, article_id in pairs:
        if article_id not in texts:
            holders.setdefault(key, []).append(article_id)
            stored_keys.setdefault(article_id, []).append(key)
    wanted: set[int] = set()
    for mine in keys.values():
        needed = min(MIN_SHARED_KEYS, len(mine))
        if needed == 1:  # any one key in common: every holder, uncounted
            for key in mine:
                wanted.update(holders.get(key, ()))
            continue
        counts = Counter(a for key in mine for a in holders.get(key, ()))
        wanted.update(a for a, n in counts.items() if n >= needed)
    found = await stories_repo.candidates(session, list(wanted)) if wanted else []
    new = [
        (a.id, texts[a.id], a.published_at, keys[a.id])
        for a in sorted(articles, key=lambda a: (a.published_at, a.id))
    ]
    # The decisions are CPU work (some forty candidates an article): in a thread, so the
    # event loop meanwhile answers chats and keeps a feed pass's fetches going.
    grouper, promising = await asyncio.to_thread(_promising, found, stored_keys, new)
    # The stories a new article is the same story as one member of are read whole: it
    # must match a story's first report or most of its members, which may share no key
    # with it. A full story takes no more articles and is not read (one /merge made may
    # hold thousands).
    sizes = await stories_repo.story_sizes(session, list(promising)) if promising else {}
    growing = [s for s in promising if sizes.get(s, 1) < MAX_STORY_ARTICLES]
    members = await stories_repo.story_candidates(session, growing) if growing else []
    joined = await asyncio.to_thread(_assign, grouper, members, sizes, new)
    await stories_repo.set_stories(session, joined)
    await stories_repo.add_keys(session, [(k, a) for a, ks in keys.items() for k in ks])
    return joined


_New = tuple[int, StoryText, datetime, list[int]]  # a new article: id, text, published, keys


def _promising(
    found: list[Candidate], stored_keys: dict[int, list[int]], new: list[_New]
) -> tuple[Grouper, set[int]]:
    """A grouper of the stored candidates, and the stories the new articles may join."""
    known = [
        Known(
            c.article_id,
            c.story_id,
            story_text(c.title, c.summary, c.source, c.url),
            c.published_at,
            tuple(stored_keys[c.article_id]),
        )
        for c in found
    ]
    grouper = Grouper(known)
    return grouper, grouper.promising(new)


def _assign(
    grouper: Grouper, members: list[Candidate], sizes: dict[int, int], new: list[_New]
) -> dict[int, int]:
    """The new articles that join a story, by id, with the story, in order."""
    grouper.add_members(
        (
            Known(
                c.article_id,
                c.story_id,
                story_text(c.title, c.summary, c.source, c.url),
                c.published_at,
            )
            for c in members
        ),
        sizes,
    )
    joined: dict[int, int] = {}
    for article_id, text, published_at, keys in new:
        story_id = grouper.assign(article_id, text, published_at, keys)
        if story_id != article_id:
            joined[article_id] = story_id
    return joined


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What /merge did: nothing (an article is ``missing``, or both are ``already`` one
    story), or joined them into ``story_id``, now of ``count`` articles."""

    missing: int | None = None
    already: bool = False
    story_id: int = 0
    count: int = 0


async def merge_stories(session: AsyncSession, first: int, second: int) -> MergeResult:
    stories = []
    for article_id in (first, second):
        story_id = await stories_repo.story_of(session, article_id)
        if story_id is None:
            return MergeResult(missing=article_id)
        stories.append(story_id)
    if stories[0] == stories[1]:
        return MergeResult(already=True)
    story_id = await stories_repo.merge(session, stories[0], stories[1])
    members = (await stories_repo.members(session, [story_id]))[story_id]
    return MergeResult(story_id=story_id, count=len(members))


async def story(session: AsyncSession, article_id: int) -> list[Member] | None:
    """/story: the articles of the article's story, earliest first; None when there is
    no such article (or an admin deleted it)."""
    story_id = await stories_repo.story_of(session, article_id)
    if story_id is None:
        return None
    return (await stories_repo.members(session, [story_id]))[story_id]


async def split(session: AsyncSession, article_id: int) -> list[int] | None:
    """/split: the article becomes a story of its own; the ids of the articles left in
    its old story, or None when there is no such article."""
    return await stories_repo.split(session, article_id)


async def reports(session: AsyncSession, story_id: int) -> tuple[list[Member], bool]:
    """Every report of a story, earliest first (of the story it was merged into since,
    when it has none of its own), and, when there are none, whether no story ever had
    the id (else its reports were deleted)."""
    found = (await stories_repo.members(session, [story_id]))[story_id]
    if not found:  # merged into another story since, or its first report deleted
        moved = await stories_repo.story_of(session, story_id)
        if moved is not None:
            found = (await stories_repo.members(session, [moved]))[moved]
    never = not found and story_id > await repo.last_article_id(session)
    return found, never
