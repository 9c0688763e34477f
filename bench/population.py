"""A seeded, reproducible population: subscribers, tags with Zipf-like popularity, articles."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Article, ArticleTag, Subscriber, Subscription, Tag

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


FULL = Size(subscribers=100_000, articles=20_000)
SMOKE = Size(subscribers=1_000, articles=500)


class Population:
    def __init__(self, size: Size, now: datetime, seed: int = 20261128) -> None:
        self.size = size
        self.now = now
        self.rng = random.Random(seed)
        self.tag_names = [f"topic {i:03d}" for i in range(1, size.tags + 1)]
        self.weights = [1 / rank for rank in range(1, size.tags + 1)]  # Zipf, s = 1

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
        words = self.rng.sample(WORDS, 4)
        title = f"Report {n}: {words[0]} and {words[1]} news"
        body = (
            f"The {words[2]} report number {n} says that the {words[3]} outlook changed. "
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
                        "chat_id": 1_000_000 + i,
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


async def _chunked(
    session: AsyncSession, model: type, rows: Sequence[Mapping[str, object]]
) -> None:
    for start in range(0, len(rows), 10_000):
        await session.execute(insert(model), list(rows[start : start + 10_000]))
