"""A seeded, reproducible population: subscribers, tags with Zipf-like popularity, articles."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.words.keywords import Matcher, Term
from storage.models import (
    Article,
    ArticleTag,
    ArticleWord,
    ChatType,
    Subscriber,
    SubscriberWord,
    Subscription,
    Tag,
    Word,
)
from storage.records import WordKind

WORDS = (
    "market talks energy climate league vaccine rover budget storm festival grid "
    "treaty harvest chip orbit election museum rail drought summit"
).split()


@dataclass(frozen=True)
class Size:
    subscribers: int
    articles: int
    tags: int = 300
    days: int = 7
    # Issue 13: this share of subscribers also follows 1-3 words, and this share mutes 1-2.
    following: float = 0.3
    muting: float = 0.1
    # Issue 15: every n-th subscriber is a group (0: none), e.g. 10 for a 10 % mix.
    every_nth_group: int = 0


def chat_id_of(number: int, size: Size) -> int:
    """Subscriber ``number``'s chat: a private chat, or a group (a negative id)."""
    group = size.every_nth_group and number % size.every_nth_group == 0
    return -(1_000_000 + number) if group else 1_000_000 + number


# Issue 14: this share of articles reports a story an article shortly before it reported
# (in other words): with the stories they join, about 20 % of articles are in stories of
# more than one.
FOLLOW_UP = 0.11
SYLLABLES = "ka ri mo te lu sa vi no de ba zo pe gu li fa ro mi tu ne so".split()

FULL = Size(subscribers=100_000, articles=20_000)
SMOKE = Size(subscribers=1_000, articles=500)


class Population:
    def __init__(self, size: Size, now: datetime, seed: int = 20261128) -> None:
        self.size = size
        self.now = now
        self.rng = random.Random(seed)
        self.tag_names = [f"topic {i:03d}" for i in range(1, size.tags + 1)]
        self.weights = [1 / rank for rank in range(1, size.tags + 1)]  # Zipf, s = 1
        words = random.Random(seed + 1)
        self.vocabulary = sorted({"".join(words.choices(SYLLABLES, k=3)) for _ in range(6_000)})
        self.cores: dict[int, tuple[int, list[str]]] = {}  # article: (story, its words)

    def story_words(self, n: int) -> tuple[int, list[str]]:
        """(story id, words) of article ``n``: new words, or with `FOLLOW_UP` chance the
        story of one of the five articles before it, two of its six words changed."""
        if n > 5 and self.rng.random() < FOLLOW_UP:
            story, words = self.cores[n - self.rng.randint(1, 5)]
            words = list(words)
            for i in self.rng.sample(range(6), 2):
                words[i] = self.rng.choice(self.vocabulary)
        else:
            story, words = n, self.rng.sample(self.vocabulary, 6)
        self.cores[n] = (story, words)
        return story, words

    def pick_tags(self, low: int, high: int) -> list[int]:
        """Distinct tag indexes, popular ones more often."""
        want = self.rng.randint(low, high)
        chosen: set[int] = set()
        while len(chosen) < want:
            chosen.update(self.rng.choices(range(self.size.tags), self.weights, k=want))
        return sorted(chosen)[:want]

    def article_text(self, n: int) -> tuple[str, str, list[int], datetime]:
        """(title, body, tag indexes, added_at) of article ``n``, oldest first."""
        added = (
            self.now
            - timedelta(days=self.size.days)
            + timedelta(seconds=(n + 0.5) * self.size.days * 86_400 / self.size.articles)
        )
        _, core = self.story_words(n)
        words = self.rng.sample(WORDS, 4)
        title = f"{core[0].title()} {core[1]} and {core[2]}: {words[0]} {words[1]}"
        body = (
            f"{core[3].title()} {core[4]} of {words[2]} in {core[5]} with {words[3]}. "
            "Officials published the figures on Tuesday. Analysts expect more data soon."
        )
        return title, body, self.pick_tags(1, 5), added

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Bulk-insert the population; every subscriber is due now."""
        async with sessions.begin() as session:
            await session.execute(
                insert(Tag), [{"key": name, "name": name.title()} for name in self.tag_names]
            )
            links: list[dict[str, int]] = []
            rows = []
            for n in range(1, self.size.articles + 1):
                title, body, tags, added = self.article_text(n)
                digest = hashlib.sha256(f"bench-{n}".encode()).hexdigest()
                rows.append(
                    {
                        "id": n,
                        "fingerprint": digest,
                        "content_hash": digest,
                        "title": title,
                        "source": "Bench Wire",
                        "category": "Bench",
                        "published_at": added - timedelta(minutes=self.rng.randint(0, 120)),
                        "added_at": added,
                        "url": None,
                        "summary": body.split(". ")[0] + ".",
                        "body": body,
                        "story_id": self.cores[n][0],
                    }
                )
                links += [{"article_id": n, "tag_id": t + 1} for t in tags]
            await _chunked(session, Article, rows)
            await _chunked(session, ArticleTag, links)
            subscribers = []
            subscriptions = []
            for i in range(1, self.size.subscribers + 1):
                subscribers.append(
                    {
                        "id": i,
                        "chat_id": chat_id_of(i, self.size),
                        "chat_type": ChatType.GROUP
                        if chat_id_of(i, self.size) < 0
                        else ChatType.PRIVATE,
                        "timezone": "UTC",
                        "digest_time": time(8),
                        "frequency": "daily",
                        "weekday": 0,
                        "paused": False,
                        "blocked": False,
                        "next_due_at": self.now - timedelta(minutes=1),
                        "created_at": self.now - timedelta(days=30),
                    }
                )
                subscriptions += [
                    {"subscriber_id": i, "tag_id": t + 1, "created_at": self.now}
                    for t in self.pick_tags(1, 6)
                ]
            await _chunked(session, Subscriber, subscribers)
            await _chunked(session, Subscription, subscriptions)
            await self._load_words(session, rows)

    async def _load_words(self, session: AsyncSession, articles: list[dict[str, object]]) -> None:
        """Followed and muted words among the words articles are made of, and their
        article links, as bot.words.search.store_articles would have stored them."""
        if not (self.size.following or self.size.muting):
            return
        await session.execute(insert(Word), [{"key": w, "created_at": self.now} for w in WORDS])
        rows = (await session.execute(select(Word.key, Word.id))).all()
        ids = {row.key: row.id for row in rows}
        matcher = Matcher(Term((w,)) for w in WORDS)
        links = [
            {"article_id": row["id"], "word_id": ids[key]}
            for row in articles
            for key in matcher.keys_in(str(row["title"]), str(row["summary"]), str(row["body"]))
        ]
        await _chunked(session, ArticleWord, links)
        held = []
        for i in range(1, self.size.subscribers + 1):
            chosen: dict[str, WordKind] = {}
            if self.rng.random() < self.size.following:
                for w in self.rng.sample(WORDS, self.rng.randint(1, 3)):
                    chosen[w] = WordKind.FOLLOW
            if self.rng.random() < self.size.muting:
                for w in self.rng.sample(WORDS, self.rng.randint(1, 2)):
                    chosen.setdefault(w, WordKind.MUTE)
            held += [
                {"subscriber_id": i, "word_id": ids[w], "kind": k, "created_at": self.now}
                for w, k in chosen.items()
            ]
        await _chunked(session, SubscriberWord, held)


async def _chunked(
    session: AsyncSession, model: type, rows: Sequence[Mapping[str, object]]
) -> None:
    for start in range(0, len(rows), 10_000):
        await session.execute(insert(model), list(rows[start : start + 10_000]))
