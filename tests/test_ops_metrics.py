"""The metrics a delivery pass does not move: feed polls by outcome and their latency,
articles stored by route, stories grouped (once per committed transaction, however often
it was tried), and update handling latency by command. Each test reads what it changed in
the process's registry, which `/metrics` serves (tests/test_ops_health.py scrapes it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.articles.importer import import_files
from bot.feeds.service import FeedService
from emulator import Chat
from storage import repo
from storage.models import Article
from tests.auxil.clock import FakeClock
from tests.auxil.feedserver import FeedServer
from tests.auxil.running import feed_service

# Two wordings of one event (tests/test_stories.py): the second joins the first's story.
QUAKE = (
    "Magnitude 6.1 earthquake hits eastern Turkey, at least 12 dead",
    "A magnitude 6.1 earthquake struck Turkey's eastern Malatya province early on Monday, "
    "killing at least 12 people, the disaster agency AFAD said.",
)
QUAKE_REWORDED = (
    "At least 12 killed as 6.1 quake strikes Malatya in eastern Turkey",
    "An earthquake of magnitude 6.1 hit Malatya province in eastern Turkey on Monday "
    "morning, killing at least 12, according to AFAD.",
)
SLOW = 0.2  # seconds the slow feed's server takes to answer


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Deltas:
    """The metrics' values when made; `__call__` says how far one has moved since."""

    NAMES: tuple[tuple[str, dict[str, str]], ...] = (
        ("newsbot_feed_polls_total", {"outcome": "new"}),
        ("newsbot_feed_polls_total", {"outcome": "unchanged"}),
        ("newsbot_feed_polls_total", {"outcome": "failed"}),
        ("newsbot_feed_fetch_seconds_count", {}),
        ("newsbot_feed_fetch_seconds_sum", {}),
        ("newsbot_articles_stored_total", {"route": "feed"}),
        ("newsbot_articles_stored_total", {"route": "import"}),
        ("newsbot_stories_grouped_total", {}),
        ("newsbot_database_retries_total", {}),
    )

    def __init__(self) -> None:
        self.before = {(n, tuple(sorted(ls.items()))): value(n, **ls) for n, ls in self.NAMES}

    def __call__(self, name: str, **labels: str) -> float:
        return value(name, **labels) - self.before[(name, tuple(sorted(labels.items())))]


def rss(*items: tuple[str, str, str], source: str = "Kyiv Wire") -> str:
    """RSS 2.0 of ``source`` with (guid, title, description) items, published on the fake
    clock's day."""
    body = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid>"
        f"<link>https://wire.example/{guid}</link>"
        f"<pubDate>Mon, 02 Mar 2026 05:{i:02d}:00 +0000</pubDate>"
        f"<description>{text}</description></item>"
        for i, (guid, title, text) in enumerate(items)
    )
    head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{source}</title>'
    return f"{head}{body}</channel></rss>"


@pytest.fixture
async def service(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> AsyncIterator[FeedService]:
    async with feed_service(sessions, clock, timeout=5) as service:
        yield service


async def add_feed(service: FeedService, url: str, clock: FakeClock) -> int:
    async with service.sessions.begin() as session:
        feed = await repo.save_feed(
            session, url=url, title="Wire", name=None, tags=[], now=clock(), next_poll_at=clock()
        )
        return feed.id


async def count(sessions: async_sessionmaker[AsyncSession], *, joined: bool = False) -> int:
    """Articles stored (``joined``: those that joined another article's story)."""
    query = select(func.count()).select_from(Article)
    if joined:
        query = query.where(Article.story_id.is_not(None), Article.story_id != Article.id)
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_feed_polls_by_outcome_their_latency_articles_stored_and_stories_grouped(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    deltas = Deltas()
    slow = feed_server.serve(
        "/wire.xml",
        rss(("q1", *QUAKE), ("other", "Parliament passes the budget", "A vote on Friday.")),
        delay=SLOW,
    )
    await add_feed(service, slow, clock)
    await add_feed(service, feed_server.serve("/down.xml", "", status=503), clock)
    results = await service.poll_due(every=True)
    assert sorted((r.ok, r.added) for r in results) == [(False, 0), (True, 2)]
    assert deltas("newsbot_feed_polls_total", outcome="new") == 1
    assert deltas("newsbot_feed_polls_total", outcome="failed") == 1
    assert deltas("newsbot_feed_fetch_seconds_count") == 2
    assert deltas("newsbot_feed_fetch_seconds_sum") >= SLOW  # the slow server's wait
    assert deltas("newsbot_articles_stored_total", route="feed") == 2
    assert deltas("newsbot_stories_grouped_total") == 0

    # The same bytes again (a 304): unchanged; another site tells the quake in its words.
    await add_feed(
        service,
        feed_server.serve("/other.xml", rss(("q2", *QUAKE_REWORDED), source="Lviv Post")),
        clock,
    )
    results = await service.poll_due(every=True)
    assert sorted((r.ok, r.not_modified, r.added) for r in results) == [
        (False, False, 0),
        (True, False, 1),
        (True, True, 0),
    ]
    assert deltas("newsbot_feed_polls_total", outcome="unchanged") == 1
    assert deltas("newsbot_feed_polls_total", outcome="new") == 2
    assert deltas("newsbot_feed_polls_total", outcome="failed") == 2
    assert deltas("newsbot_feed_fetch_seconds_count") == 5
    assert deltas("newsbot_articles_stored_total", route="feed") == 3
    assert deltas("newsbot_stories_grouped_total") == 1
    assert await count(service.sessions) == 3
    assert await count(service.sessions, joined=True) == 1
    assert deltas("newsbot_database_retries_total") == 0


@contextmanager
def commit_fails_once(engine: AsyncEngine, table: str) -> Iterator[list[str]]:
    """The first transaction that writes ``table`` loses its connection at COMMIT (the
    commit never reaches the database): the error a PostgreSQL restart gives."""
    failed: list[str] = []

    def wrote(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO") and f"{table} " in statement:
            conn.info["wrote"] = True

    def commit(conn: Any) -> None:
        if conn.info.pop("wrote", False) and not failed:
            failed.append(table)
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

    def rolled_back(conn: Any) -> None:
        conn.info.pop("wrote", None)

    sync = engine.sync_engine
    listeners = (("before_cursor_execute", wrote), ("commit", commit), ("rollback", rolled_back))
    for name, listener in listeners:
        event.listen(sync, name, listener)
    try:
        yield failed
    finally:
        for name, listener in listeners:
            event.remove(sync, name, listener)


async def test_a_retried_transaction_counts_its_articles_and_stories_once(
    service: FeedService, feed_server: FeedServer, clock: FakeClock, engine: AsyncEngine
) -> None:
    await add_feed(service, feed_server.serve("/wire.xml", rss(("q1", *QUAKE))), clock)
    await service.poll_due(every=True)
    deltas = Deltas()
    url = feed_server.serve(
        "/other.xml", rss(("q2", *QUAKE_REWORDED), ("b", "Budget", "Vote."), source="Lviv Post")
    )
    await add_feed(service, url, clock)
    with commit_fails_once(engine, "articles") as failed:
        [result] = await service.poll_due()
    assert failed == ["articles"]
    assert (result.ok, result.added) == (True, 2)
    assert deltas("newsbot_database_retries_total") == 1
    assert await count(service.sessions) == 3
    assert await count(service.sessions, joined=True) == 1
    assert deltas("newsbot_articles_stored_total", route="feed") == 2
    assert deltas("newsbot_stories_grouped_total") == 1


async def test_imported_articles_count_under_their_route(
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    deltas = Deltas()
    folder = tmp_path / "articles"
    folder.mkdir()
    for i, (source, (title, text)) in enumerate(
        (("Science Desk", QUAKE), ("World Desk", QUAKE_REWORDED))
    ):
        (folder / f"{i}.txt").write_text(
            f"Science 2026-03-02T0{i + 4}:00:00+00:00\n{source}\n{title}\n\nquake\n\n{text}\n"
        )
    with commit_fails_once(engine, "articles") as failed:
        report = await import_files(sessions, [folder], clock=clock, progress=False)
    assert report.failed == 0
    assert failed == ["articles"]
    assert deltas("newsbot_articles_stored_total", route="import") == 2
    assert deltas("newsbot_articles_stored_total", route="feed") == 0
    assert deltas("newsbot_stories_grouped_total") == 1
    assert await count(sessions) == 2
    assert await count(sessions, joined=True) == 1


def histogram_counts() -> dict[str, float]:
    """The update-handling histogram's count per label."""
    found: dict[str, float] = {}
    for family in REGISTRY.collect():
        if family.name == "newsbot_update_seconds":
            for sample in family.samples:
                if sample.name == "newsbot_update_seconds_count":
                    found[sample.labels["command"]] = sample.value
    return found


async def test_update_handling_latency_is_a_histogram_by_command(user: Chat) -> None:
    before = histogram_counts()
    await user.ask("/start")
    await user.ask("/help")
    await user.ask("/help@newsbot_demo_bot")
    await user.ask("/frobnicate")
    await user.ask("hello there")
    # A chat's updates are handled in order, each observed as its handler returns: once
    # this one is answered, those before it are in the histogram.
    await user.ask("/tags")
    after = histogram_counts()
    moved = {label: after.get(label, 0) - before.get(label, 0) for label in after}
    assert {label: n for label, n in moved.items() if n and label != "tags"} == {
        "start": 1,
        "help": 2,
        "unknown": 1,
        "message": 1,
    }
    buckets = {
        sample.labels["le"]
        for family in REGISTRY.collect()
        if family.name == "newsbot_update_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket") and sample.labels["command"] == "help"
    }
    assert {"0.005", "0.1", "1.0", "30.0", "+Inf"} <= buckets
