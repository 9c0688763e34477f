"""Composing digests: select the articles, render the messages and record them.

A digest is composed in one transaction that also writes its ledger rows and advances
the subscriber's next due time; the rendered messages are kept on the digest row (an
outbox). What comes out is an `Outbound`, the one thing bot.telegram.send takes. See README,
"How delivery works".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.constants import MessageLimit
from telegram.helpers import create_deep_linked_url

from bot import texts
from bot.config import Settings
from bot.delivery.digest import (
    Chunk,
    DigestItem,
    Labels,
    Selection,
    TagArticles,
    article_payload,
    chunks_to_json,
    render_digest,
    safe_link,
    select_articles,
)
from bot.i18n import translator
from bot.subscriptions.schedule import reschedule
from storage import keywords as words_repo
from storage import repo
from storage import stories as stories_repo
from storage.models import DigestKind, Subscriber

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
COMPOSE_BATCH = 1000
# A subscriber whose schedule cannot be computed (a forged timezone or frequency in its
# row) is tried again this much later, not at every tick.
UNSCHEDULABLE_RETRY = timedelta(days=1)
# An entry names this many of its story's other sources; the rest are "+N".
MAX_NAMED_SOURCES = 2


@dataclass(frozen=True, slots=True)
class Outbound:
    """A composed digest, ready to be sent from message ``sent_chunks`` on."""

    digest_id: int
    subscriber_id: int
    chat_id: int
    chunks: tuple[Chunk, ...]
    sent_chunks: int = 0
    message_ids: tuple[int, ...] = ()
    thread_id: int | None = None  # the forum topic of a supergroup, if one was chosen

    @property
    def article_count(self) -> int:
        return sum(len(chunk.article_ids) for chunk in self.chunks)

    def article_ids_from(self, index: int) -> list[int]:
        """The articles of messages ``index`` and later: what is unsent when the send
        stops there."""
        return [a for chunk in self.chunks[index:] for a in chunk.article_ids]


@dataclass(frozen=True, slots=True)
class Batch:
    """What one compose transaction did."""

    claimed: int
    empty: int  # due, but nothing new: no message, the schedule still advanced
    skipped: int  # could not be composed (logged); the schedule still advanced
    outbound: list[Outbound]


def word_key(word_id: int) -> int:
    """A word's key among the index's sources; tags keep their (positive) ids."""
    return -word_id


class TagIndex:
    """Each tag's and each word's recent articles, read once per delivery pass (see
    `TagArticles`).

    Composing 100k digests one SQL query at a time spends most of its time sorting and
    counting the same popular tags over and over; here each tag (and word) is read once.
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.articles = TagArticles()

    async def load(
        self, session: AsyncSession, tag_ids: set[int], word_ids: AbstractSet[int] = frozenset()
    ) -> None:
        missing = sorted(t for t in tag_ids if t not in self.articles)
        for tag_id, rows in (await repo.tag_articles(session, missing, self.since)).items():
            self.articles.add(tag_id, rows)
        missing = sorted(w for w in word_ids if word_key(w) not in self.articles)
        found = await words_repo.word_articles(session, missing, self.since)
        for word_id, rows in found.items():
            self.articles.add(word_key(word_id), rows)

    def select(
        self,
        tag_ids: list[int],
        delivered: tuple[set[int], set[int]],
        max_items: int,
        words: tuple[list[int], list[int]] = ([], []),
    ) -> Selection:
        """Stories of the tags and followed words, none with a muted word (``delivered``
        is (articles, stories) the subscriber had; ``words`` is (followed, muted) word
        ids)."""
        follows, mutes = words
        sources = tag_ids + [word_key(w) for w in follows] if follows else tag_ids
        muted = [word_key(w) for w in mutes]
        articles, stories = delivered
        return self.articles.select(sources, articles, max_items, muted, had=stories)


def article_link(bot_username: str, article: repo.ArticleLine | stories_repo.Member) -> str:
    """The article's own link, or the bot's deep link to its full text when it has none
    that Telegram can show."""
    return _link(bot_username, article.id, article.url)


@lru_cache(maxsize=16_384)  # one article is linked from thousands of digests of a pass
def _link(bot_username: str, article_id: int, url: str | None) -> str:
    return safe_link(url) or create_deep_linked_url(bot_username, article_payload(article_id))


def _items(
    selection: Selection,
    members: dict[int, list[stories_repo.Member]],
    entry: Callable[[stories_repo.Member, int, bool], DigestItem],
    had: AbstractSet[int] = frozenset(),
) -> list[DigestItem]:
    """One entry per selected story. A new story is shown by its earliest article, an
    update (a story with an article in ``had``, the reader's ledger) by its newest one
    the subscriber has not had."""
    items = []
    for story_id in selection.story_ids:
        articles = members.get(story_id)
        if not articles:  # deleted since the pass's index was read
            continue
        # The ledger says so too when the pass's index did not: an article the reader had
        # may be older than the index's window, while its story is not.
        update = story_id in selection.updates or any(a.id in had for a in articles)
        fresh = [a for a in articles if a.id not in had] if update and had else articles
        shown = (fresh or articles)[-1] if update else articles[0]
        items.append(entry(shown, story_id, update))
    return items


def _entries(
    members: dict[int, list[stories_repo.Member]],
    tags: dict[int, list[str]],
    bot_username: str,
) -> Callable[[stories_repo.Member, int, bool], DigestItem]:
    """The entry of a story shown by one of its articles, made once per pass's batch:
    thousands of digests share it. The story's other sources follow, each linked once."""

    @cache
    def entry(shown: stories_repo.Member, story_id: int, update: bool) -> DigestItem:
        articles = members[story_id]
        # Sources are told apart as a reader would: "Reuters" and "REUTERS" are one.
        others: dict[str, tuple[str, str]] = {}
        mine = shown.source.casefold()
        for member in articles:
            key = member.source.casefold()
            if key != mine and key not in others:
                others[key] = (member.source, article_link(bot_username, member))
        also = tuple(others.values())
        return DigestItem(
            article_id=shown.id,
            title=shown.title,
            summary=shown.summary,
            link=article_link(bot_username, shown),
            tags=tuple(tags.get(shown.id, ())),
            also=also[:MAX_NAMED_SOURCES],
            more=max(0, len(also) - MAX_NAMED_SOURCES),
            update=update,
            ledger_ids=tuple(m.id for m in articles),
        )

    return entry


def _render(
    items: list[DigestItem], remaining: int, *, kind: DigestKind, language: str
) -> list[Chunk]:
    t = translator(language)
    footer = (
        texts.more_waiting(t, remaining, manual=kind == DigestKind.MANUAL) if remaining else None
    )
    return render_digest(
        items,
        header=texts.digest_header(t, len(items)),
        footer=footer,
        limit=MessageLimit.MAX_TEXT_LENGTH,
        labels=_labels(language),
    )


@lru_cache(maxsize=64)
def _labels(language: str) -> Labels:
    t = translator(language)
    return Labels(full_text=t._(texts.FULL_TEXT), update=t._(texts.UPDATE), also=t._(texts.ALSO))


async def _record(
    session: AsyncSession,
    plans: Sequence[tuple[Subscriber, Selection]],
    *,
    now: datetime,
    kind: DigestKind,
    bot_username: str,
) -> tuple[list[Outbound], int]:
    """Render the selected digests and store them with their ledger rows (every article
    of each story shown). A digest that cannot be rendered is logged and left out; the
    others are not held up by it. Returns what to send and how many were left out."""
    wanted = list(dict.fromkeys(s for _, selection in plans for s in selection.story_ids))
    members = await stories_repo.members(session, wanted)
    shown = [m.id for ms in members.values() for m in ms]
    tags = await repo.tags_of_articles(session, shown)
    # Of stories with several articles, the subscriber may have had some (an update; a
    # story an admin merged): those keep their old ledger rows.
    grouped = [m.id for ms in members.values() if len(ms) > 1 for m in ms]
    had: dict[int, set[int]] = {}
    if grouped:
        for subscriber_id, article_id in await repo.delivered_pairs(
            session, [s.id for s, _ in plans], grouped
        ):
            had.setdefault(subscriber_id, set()).add(article_id)
    entry = _entries(members, tags, bot_username)
    new: list[repo.NewDigest] = []
    chunks: list[tuple[Chunk, ...]] = []
    composed: list[Subscriber] = []
    skipped = 0
    for subscriber, selection in plans:
        try:
            mine: AbstractSet[int] = had.get(subscriber.id, set())
            items = _items(selection, members, entry, mine)
            if not items:
                continue
            rendered = _render(items, selection.remaining, kind=kind, language=subscriber.language)
        except Exception:
            logger.exception(
                "the digest of subscriber %s (stories %s) could not be composed; skipped",
                subscriber.id,
                selection.story_ids,
            )
            skipped += 1
            continue
        ledger = [a for item in items for a in item.ledger_ids if a not in mine]
        new.append(repo.NewDigest(subscriber.id, kind, chunks_to_json(rendered), ledger))
        chunks.append(tuple(rendered))
        composed.append(subscriber)
    ids = await repo.create_digests(session, new, now=now, lease_until=now + LEASE)
    outbound = [
        Outbound(
            digest_id, subscriber.id, subscriber.chat_id, messages, thread_id=subscriber.thread_id
        )
        for digest_id, subscriber, messages in zip(ids, composed, chunks, strict=True)
    ]
    return outbound, skipped


async def compose_digest(
    session: AsyncSession,
    subscriber: Subscriber,
    *,
    settings: Settings,
    now: datetime,
    kind: DigestKind,
    bot_username: str,
) -> Outbound | None:
    """Select, render and record one digest (/digest); None when nothing is new."""
    since = now - timedelta(days=settings.digest_max_age_days)
    candidates, total, had = await repo.undelivered_candidates(
        session, subscriber.id, since, settings.digest_max_items
    )
    selection = select_articles(candidates, settings.digest_max_items, total, had)
    if not selection.article_ids:
        return None
    outbound, skipped = await _record(
        session, [(subscriber, selection)], now=now, kind=kind, bot_username=bot_username
    )
    if skipped:
        raise RuntimeError(f"the digest of subscriber {subscriber.id} could not be composed")
    return outbound[0] if outbound else None


async def compose_due_batch(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    bot_username: str,
    index: TagIndex,
    size: int = COMPOSE_BATCH,
) -> Batch:
    """Claim up to ``size`` due subscribers, compose their digests and advance their
    schedules, all in one transaction."""
    async with sessions.begin() as session:
        subscribers = await repo.claim_due_subscribers(session, now, size)
        if not subscribers:
            return Batch(0, 0, 0, [])
        ids = [s.id for s in subscribers]
        tags = await repo.subscription_tags(session, ids)
        words = await words_repo.subscription_words(session, ids)
        await index.load(
            session,
            {t for tag_ids in tags.values() for t in tag_ids},
            {w for follows, mutes in words.values() for w in (*follows, *mutes)},
        )
        delivered = await repo.delivered_since(session, ids, index.since)
        plans: list[tuple[Subscriber, Selection]] = []
        unschedulable = 0
        for subscriber in subscribers:
            try:
                reschedule(subscriber, now)
                selection = index.select(
                    tags[subscriber.id],
                    delivered[subscriber.id],
                    settings.digest_max_items,
                    words[subscriber.id],
                )
            except Exception:
                logger.exception(
                    "subscriber %s could not be scheduled or selected for; skipped for %s",
                    subscriber.id,
                    UNSCHEDULABLE_RETRY,
                )
                subscriber.next_due_at = now + UNSCHEDULABLE_RETRY
                unschedulable += 1
                continue
            if selection.article_ids:
                plans.append((subscriber, selection))
        outbound, skipped = await _record(
            session, plans, now=now, kind=DigestKind.SCHEDULED, bot_username=bot_username
        )
    empty = len(subscribers) - len(plans) - unschedulable
    return Batch(len(subscribers), empty, skipped + unschedulable, outbound)
