"""Composing digests: select the articles, render the messages and record them.

A digest is composed in one transaction that also writes its ledger rows and advances
the subscriber's next due time; the rendered messages wait in the outbox until sent.
What comes out is an `Outbound`, the one thing bot.telegram.send takes. See README,
"How delivery works".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit
from telegram.helpers import create_deep_linked_url

from bot.config import DigestPolicy
from bot.delivery.digest import (
    Selection,
    TagArticles,
    article_payload,
    render_digest,
    safe_link,
    story_payload,
)
from bot.delivery.entries import Entries, Plan, Reader, labels
from bot.delivery.outbox import LEASE, Chunk, Outbound, chunks_to_json
from bot.i18n import translator
from bot.subscriptions.schedule import next_digest
from bot.texts import digest as digest_texts
from storage import keywords as words_repo
from storage import repo
from storage import stories as stories_repo
from storage.models import ChatType, DigestKind, DigestStatus, Subscriber

logger = logging.getLogger(__name__)

COMPOSE_BATCH = 1000
# A subscriber whose schedule cannot be computed (a forged timezone or frequency in its
# row) is tried again this much later, not at every tick.
UNSCHEDULABLE_RETRY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one compose transaction did."""

    claimed: int
    empty: int  # due, but nothing new: no message, the schedule still advanced
    skipped: int  # could not be composed (logged); the schedule still advanced
    outbound: list[Outbound]
    leased_until: datetime | None = None  # the outbound digests' lease (`LEASE`)


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


@dataclass(frozen=True, slots=True)
class Reading:
    """What selecting needs of some readers: their tags, their (followed, muted) words,
    the (articles, stories) they had since the index's window began, and their whole
    ledgers (what recording their digests checks against)."""

    tags: dict[int, list[int]]
    words: dict[int, tuple[list[int], list[int]]]
    delivered: dict[int, tuple[set[int], set[int]]]
    ledgers: repo.Ledgers

    def select(self, index: TagIndex, subscriber_id: int, max_items: int) -> Selection:
        return index.select(
            self.tags[subscriber_id],
            self.delivered[subscriber_id],
            max_items,
            self.words[subscriber_id],
        )

    def follows(self, ids: Sequence[int]) -> dict[int, tuple[set[int], set[int]]]:
        """Each reader's (tags, followed words): what their entries are matched with."""
        return {i: (set(self.tags[i]), set(self.words[i][0])) for i in ids}


async def read_for(session: AsyncSession, index: TagIndex, ids: list[int]) -> Reading:
    """Read what selecting needs of these readers, and load their tags' and words'
    articles into ``index`` (each once per index: a pass shares one for all batches)."""
    tags = await repo.subscription_tags(session, ids)
    words = await words_repo.subscription_words(session, ids)
    await index.load(
        session,
        {t for tag_ids in tags.values() for t in tag_ids},
        {w for follows, mutes in words.values() for w in (*follows, *mutes)},
    )
    ledgers = await repo.ledgers(session, ids)
    delivered = await repo.delivered_since(session, ids, index.since, known=ledgers)
    return Reading(tags, words, delivered, ledgers)


def article_link(bot_username: str, article: repo.ArticleLine | stories_repo.Member) -> str:
    """The article's own link, or the bot's deep link to its full text when it has none
    that Telegram can show."""
    return _link(bot_username, article.id, article.url)


@lru_cache(maxsize=16_384)  # one article is linked from thousands of digests of a pass
def _link(bot_username: str, article_id: int, url: str | None) -> str:
    return safe_link(url) or create_deep_linked_url(bot_username, article_payload(article_id))


@lru_cache(maxsize=16_384)
def _story_link(bot_username: str, story_id: int) -> str:
    """The deep link that lists a story's reports (/start s<id>, bot.telegram.handlers.story)."""
    return create_deep_linked_url(bot_username, story_payload(story_id))


Rendered = tuple[list[Chunk], list[dict[str, Any]]]  # the messages, and their JSON


class Renders:
    """One batch's rendered digests. Readers whose entries are the same objects
    (bot.delivery.entries hands out one per distinct entry) and whose digests say the
    same around them (language, layout, chat kind, frequency, how many more wait) get the
    same messages: those are rendered once."""

    def __init__(self, kind: DigestKind) -> None:
        self.manual = kind == DigestKind.MANUAL
        self._done: dict[tuple[object, ...], Rendered] = {}

    def render(self, plan: Plan, remaining: int, subscriber: Subscriber) -> Rendered:
        group = subscriber.chat_type != ChatType.PRIVATE
        weekly = subscriber.frequency == "weekly"
        language, compact = subscriber.language, subscriber.compact
        key = (*plan.items, remaining, language, compact, group, weekly)
        done = self._done.get(key)
        if done is None:
            updates = plan.updates
            chunks = render_digest(
                plan.items,
                header=_header(language, len(plan.items) - updates, updates, group, weekly),
                footer=_footer(language, remaining, self.manual) if remaining else None,
                limit=MessageLimit.MAX_TEXT_LENGTH,
                labels=labels(language),
                compact=compact,
                max_buttons=InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER,
            )
            done = self._done[key] = (chunks, chunks_to_json(chunks))
        return done


# A pass says the same few headers and footers to thousands of readers.
@lru_cache(maxsize=1_024)
def _header(language: str, new: int, updates: int, group: bool, weekly: bool) -> str:
    t = translator(language)
    return digest_texts.digest_header(t, new, updates, group=group, weekly=weekly)


@lru_cache(maxsize=1_024)
def _footer(language: str, remaining: int, manual: bool) -> str:
    return digest_texts.more_waiting(translator(language), remaining, manual=manual)


Follows = tuple[AbstractSet[int], AbstractSet[int]]  # (tag ids, followed word ids)


async def _record(
    session: AsyncSession,
    plans: Sequence[tuple[Subscriber, Selection]],
    *,
    now: datetime,
    kind: DigestKind,
    bot_username: str,
    follows: Mapping[int, Follows],
    ledgers: repo.Ledgers,
    owner: int | None = None,
) -> tuple[list[Outbound], int]:
    """Render the selected digests and store them with their ledger rows (every article
    of each story shown, and of each story taken in silently: bot.entries). A digest that
    cannot be rendered is logged and left out; the others are not held up by it. Returns
    what to send and how many were left out. ``follows``: each subscriber's tags and
    followed words (why an entry came); ``ledgers``, their `repo.ledgers`; ``owner``:
    the process that sends them."""
    wanted = list(dict.fromkeys(s for _, selection in plans for s in selection.story_ids))
    members = await stories_repo.members(session, wanted)
    shown = sorted({a for _, selection in plans for a in selection.article_ids})
    words = {w for _, followed in follows.values() for w in followed}
    # Of stories with several articles, the subscriber may have had some (an update; a
    # story an admin merged): those keep their old ledger rows.
    grouped = [m.id for ms in members.values() if len(ms) > 1 for m in ms]
    had: dict[int, set[int]] = {}
    if grouped:
        in_stories = set(grouped)
        for subscriber, _ in plans:
            if some := ledgers[subscriber.id] & in_stories:
                had[subscriber.id] = some
    entries = Entries(
        dict(members),
        tags=await repo.article_tags(session, shown),
        words=await repo.article_words(session, shown, sorted(words)),
        link=lambda report: _link(bot_username, report.id, report.url),
        story_link=lambda story_id: _story_link(bot_username, story_id),
        now=now,
    )
    renders = Renders(kind)
    new: list[repo.NewDigest] = []
    chunks: list[tuple[Chunk, ...]] = []
    composed: list[Subscriber] = []
    skipped = 0
    for subscriber, selection in plans:
        mine: AbstractSet[int] = had.get(subscriber.id, set())
        tags, followed = follows.get(subscriber.id, (frozenset(), frozenset()))
        try:
            reader = Reader(
                subscriber.language, subscriber.timezone, tags, followed, subscriber.show_tags
            )
            plan = entries.plan(selection, reader, mine)
            rendered, data = (
                renders.render(plan, selection.remaining, subscriber) if plan.items else ([], [])
            )
        except Exception:
            logger.exception(
                "the digest of subscriber %s (stories %s) could not be composed; skipped",
                subscriber.id,
                selection.story_ids,
            )
            skipped += 1
            continue
        ledger = [a for item in plan.items for a in item.ledger_ids if a not in mine]
        ledger += plan.silent
        if not rendered:
            if ledger:  # reports that told the reader nothing new: no message
                new_silent = repo.NewDigest(
                    subscriber.id, kind, [], ledger, status=DigestStatus.SENT
                )
                await repo.create_digests(
                    session, [new_silent], now=now, lease_until=now, known=ledgers
                )
            continue
        new.append(repo.NewDigest(subscriber.id, kind, data, ledger))
        chunks.append(tuple(rendered))
        composed.append(subscriber)
    ids = await repo.create_digests(
        session, new, now=now, lease_until=now + LEASE, known=ledgers, owner=owner
    )
    outbound = [
        Outbound(
            digest_id, subscriber.id, subscriber.chat_id, messages, thread_id=subscriber.thread_id
        )
        for digest_id, subscriber, messages in zip(ids, composed, chunks, strict=True)
    ]
    return outbound, skipped


@dataclass(frozen=True, slots=True)
class DigestNow:
    """What /digest composed: the digest (None when nothing is new), and whether the chat
    follows anything at all (to say "nothing new" or "you follow nothing")."""

    outbound: Outbound | None
    follows: bool


async def digest_now(
    session: AsyncSession,
    chat_id: int,
    *,
    fallback: Callable[[AsyncSession], Awaitable[Subscriber]],
    policy: DigestPolicy,
    now: datetime,
    bot_username: str,
    owner: int | None = None,
) -> DigestNow:
    """Compose the chat's digest now (/digest), its row locked so that a scheduled digest
    composed at this moment cannot pick the same articles (PostgreSQL; SQLite serializes
    writers anyway). ``fallback(session)`` gives the row of a chat that has none yet.
    ``owner``: the process that sends it, so that if it dies another one resumes the
    digest within PROCESS_TIMEOUT_SECONDS rather than after the lease."""
    subscriber = await repo.get_subscriber(session, chat_id, for_update=True)
    return await compose_digest(
        session,
        subscriber or await fallback(session),
        policy=policy,
        now=now,
        kind=DigestKind.MANUAL,
        bot_username=bot_username,
        owner=owner,
    )


async def compose_digest(
    session: AsyncSession,
    subscriber: Subscriber,
    *,
    policy: DigestPolicy,
    now: datetime,
    kind: DigestKind,
    bot_username: str,
    owner: int | None = None,
) -> DigestNow:
    """Select, render and record one digest; its outbound is None when nothing is new.
    The selection is the pass's own (`TagIndex`), over an index of this reader's tags and
    words only: one engine decides what every digest holds."""
    index = TagIndex(now - policy.max_age)
    reading = await read_for(session, index, [subscriber.id])
    selection = reading.select(index, subscriber.id, policy.max_items)
    tags, (follows, mutes) = reading.tags[subscriber.id], reading.words[subscriber.id]
    if not selection.article_ids:
        return DigestNow(None, bool(tags or follows or mutes))
    outbound, skipped = await _record(
        session,
        [(subscriber, selection)],
        now=now,
        kind=kind,
        bot_username=bot_username,
        follows=reading.follows([subscriber.id]),
        ledgers=reading.ledgers,
        owner=owner,
    )
    if skipped:
        raise RuntimeError(f"the digest of subscriber {subscriber.id} could not be composed")
    return DigestNow(outbound[0] if outbound else None, True)


async def compose_due_batch(
    sessions: async_sessionmaker[AsyncSession],
    policy: DigestPolicy,
    *,
    now: datetime,
    bot_username: str,
    index: TagIndex,
    size: int = COMPOSE_BATCH,
    due_by: datetime | None = None,
    owner: int | None = None,
) -> Batch:
    """Claim up to ``size`` subscribers due by ``due_by`` (default ``now``), compose their
    digests and advance their schedules, all in one transaction. ``owner``: the process
    (bot.delivery.presence) that will send them."""
    async with sessions.begin() as session:
        subscribers = await repo.claim_due_subscribers(session, due_by or now, size)
        if not subscribers:
            return Batch(0, 0, 0, [])
        reading = await read_for(session, index, [s.id for s in subscribers])
        plans: list[tuple[Subscriber, Selection]] = []
        unschedulable = 0
        # A batch's readers mostly share a few schedules (time, zone, frequency): each is
        # worked out once, and the readers of one next time are advanced by one UPDATE.
        schedules: dict[tuple[object, ...], datetime] = {}
        next_at: dict[int, datetime] = {}
        for subscriber in subscribers:
            try:
                schedule = (
                    subscriber.digest_time,
                    subscriber.timezone,
                    subscriber.frequency,
                    subscriber.weekday,
                )
                if schedule not in schedules:
                    schedules[schedule] = next_digest(subscriber, now)
                next_at[subscriber.id] = schedules[schedule]
                selection = reading.select(index, subscriber.id, policy.max_items)
            except Exception:
                logger.exception(
                    "subscriber %s could not be scheduled or selected for; skipped for %s",
                    subscriber.id,
                    UNSCHEDULABLE_RETRY,
                )
                next_at[subscriber.id] = now + UNSCHEDULABLE_RETRY
                unschedulable += 1
                continue
            if selection.article_ids:
                plans.append((subscriber, selection))
        await repo.set_next_due(session, next_at)
        outbound, skipped = await _record(
            session,
            plans,
            now=now,
            kind=DigestKind.SCHEDULED,
            bot_username=bot_username,
            follows=reading.follows([s.id for s, _ in plans]),
            ledgers=reading.ledgers,
            owner=owner,
        )
    empty = len(subscribers) - len(plans) - unschedulable
    return Batch(len(subscribers), empty, skipped + unschedulable, outbound, now + LEASE)
