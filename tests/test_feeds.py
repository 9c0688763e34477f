"""FeedService against a real database and a local news site: adding, polling, backoff,
identity, redirects, removal, OPML. On SQLite, and on PostgreSQL in CI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feeds import views as feed_views
from bot.feeds.model import FeedAdded, FeedProblem, parse_feed_tags
from bot.feeds.policy import FeedStatus
from bot.feeds.service import FeedService
from storage import repo
from storage.models import Article, Feed
from tests.auxil.clock import FakeClock
from tests.auxil.feedserver import FeedServer
from tests.auxil.running import feed_service

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LOOK = "look for its RSS link"


def rss(*items: tuple[str, str], title: str = "Test Wire") -> str:
    """RSS 2.0 with (guid, title) items; an item's date depends on its guid only."""
    body = "".join(
        f"<item><title>{headline}</title><guid>{guid}</guid>"
        f"<link>https://wire.example/{guid}</link>"
        f"<pubDate>Sat, 28 Nov 2026 {len(guid) % 10:02d}:{ord(guid[0]) % 60:02d}:00 +0000"
        f"</pubDate><description>{headline} happened. Details follow.</description></item>"
        for guid, headline in items
    )
    head = '<?xml version="1.0"?><rss version="2.0">'
    return f"{head}<channel><title>{title}</title>{body}</channel></rss>"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def service(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> AsyncIterator[FeedService]:
    async with feed_service(sessions, clock, timeout=2) as service:
        yield service


async def articles(service: FeedService) -> list[tuple[int, str, str | None, int | None]]:
    async with service.sessions() as session:
        rows = await session.execute(
            select(Article.id, Article.title, Article.url, Article.feed_id).order_by(Article.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def feed_row(service: FeedService, feed_id: int) -> Feed:
    async with service.sessions() as session:
        row = await session.get(Feed, feed_id)
        assert row is not None
        return row


async def test_adding_a_feed_stores_it_and_its_entries(
    service: FeedService, feed_server: FeedServer
) -> None:
    url = feed_server.fixture("/rss.xml", "rss20.xml")
    added = await service.add(url, parse_feed_tags("Local, harbour news"))
    assert (added.feed_id, added.title, added.entries, added.added) == (
        1, "Harbour & Hill Gazette", 2, 2,
    )  # fmt: skip
    assert await articles(service) == [
        (1, "Ferry timetable changes on Monday", "https://gazette.example/ferry", 1),
        (2, "Council approves the new library", "https://gazette.example/library", 1),
    ]
    async with service.sessions() as session:
        tags = await repo.tags_of_articles(session, [1])
        [(view, added_24h)] = await repo.feeds_page(
            session, offset=0, limit=10, since=START - timedelta(days=1)
        )
    # The feed's tags, then the entry's categories.
    assert sorted(tags[1]) == ["Harbour", "Local", "harbour news", "transport"]
    assert (view.url, view.tags, view.etag is not None, added_24h) == (
        url, ["Local", "harbour news"], True, 2,
    )  # fmt: skip
    with pytest.raises(FeedProblem, match="that feed is already there, as #1"):
        await service.add(url)


@pytest.mark.parametrize(
    ("fixture", "options", "reason"),
    [
        ("page.html", {}, "not a usable feed: the address serves an HTML page"),
        ("invalid.xml", {}, "not a usable feed: invalid XML at line 5: mismatched tag"),
        ("rss20.xml", {"status": 404}, "HTTP 404 Not Found"),
    ],
)
async def test_a_feed_that_does_not_parse_is_not_stored(
    service: FeedService,
    feed_server: FeedServer,
    fixture: str,
    options: dict[str, object],
    reason: str,
) -> None:
    url = feed_server.fixture("/bad", fixture, **options)
    with pytest.raises(FeedProblem) as caught:
        await service.add(url)
    assert str(caught.value).startswith(reason)
    async with service.sessions() as session:
        assert await repo.count_feeds(session) == 0
    assert await articles(service) == []


async def test_polling_again_never_duplicates_and_a_304_costs_no_parsing(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", rss(("a", "Alpha"), ("b", "Beta")))
    await service.add(url)
    assert await service.poll_due() == []  # not due yet
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert (result.ok, result.not_modified) == (True, True)
    assert feed_server.answered("/wire.xml") == [200, 304]
    # The server forgets its validators: the same bytes are not parsed either.
    feed_server.routes["/wire.xml"].validators = False
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert result.not_modified
    # An entry changes and one is new: one update, one article added.
    feed_server.serve("/wire.xml", rss(("c", "Gamma"), ("a", "Alpha, updated"), ("b", "Beta")))
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert (result.entries, result.added, result.updated) == (3, 1, 1)
    assert [(i, title) for i, title, _, _ in await articles(service)] == [
        (1, "Alpha, updated"), (2, "Beta"), (3, "Gamma"),
    ]  # fmt: skip


async def test_a_failing_feed_backs_off_shows_its_error_and_stops_no_other(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    good = feed_server.serve("/good.xml", rss(("g1", "Good news")))
    flaky = feed_server.serve("/flaky.xml", rss(("f1", "Flaky news")))
    await service.add(good)
    await service.add(flaky)
    feed_server.serve("/flaky.xml", "Service down", status=503)
    feed_server.serve("/good.xml", rss(("g2", "More good news"), ("g1", "Good news")))
    clock.advance(minutes=15)
    results = {r.feed_id: r for r in await service.poll_due()}
    assert results[1].added == 1
    assert (results[2].error, results[2].failures) == ("HTTP 503 Service Unavailable", 1)
    flaky_row = await feed_row(service, 2)
    assert flaky_row.next_poll_at == START + timedelta(minutes=15 + 30)
    clock.advance(minutes=15)
    assert [r.feed_id for r in await service.poll_due()] == [1]  # the failing one waits
    clock.advance(minutes=15)
    again = {r.feed_id: r for r in await service.poll_due()}
    assert again[2].failures == 2
    assert (await feed_row(service, 2)).next_poll_at == clock.now + timedelta(hours=1)
    # Seven days of failures: broken in /feeds.
    clock.advance(days=7)
    await service.poll_due()
    async with service.sessions() as session:
        views, _, total = await feed_views.feeds_page(session, 0, clock.now)
    assert total == 2
    assert [(v.feed_id, v.status, v.error) for v in views] == [
        (1, FeedStatus.OK, None),
        (2, FeedStatus.BROKEN, "HTTP 503 Service Unavailable"),
    ]
    # It recovers: ok again, and the back-off is forgotten.
    feed_server.serve("/flaky.xml", rss(("f1", "Flaky news")))
    clock.advance(days=1)
    await service.poll_due()
    row = await feed_row(service, 2)
    assert (row.failures, row.error, row.failing_since) == (0, None, None)


async def test_a_new_feed_whose_first_fetch_fails_is_tried_again_within_a_minute(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    # Stored, not read yet (as an OPML import or `newsbot poll` after a restart leaves
    # it); the server is busy at the first fetch, then serves.
    url = feed_server.serve("/new.xml", rss(("n1", "New news")), fail_first=1)
    async with service.sessions.begin() as session:
        feed = await repo.save_feed(
            session, url=url, title="New", name=None, tags=[], now=clock.now,
            next_poll_at=clock.now,
        )  # fmt: skip
    [first] = await service.poll_due()
    assert (first.feed_id, first.error, first.failures) == (
        feed.id, "HTTP 503 Service Unavailable", 1
    )  # fmt: skip
    assert (await feed_row(service, feed.id)).next_poll_at == clock.now + timedelta(minutes=1)
    clock.advance(seconds=59)
    assert await service.poll_due() == []
    clock.advance(seconds=1)
    [second] = await service.poll_due()
    assert (second.error, second.added) == (None, 1)
    row = await feed_row(service, feed.id)
    assert (row.failures, row.error, row.next_poll_at) == (
        0, None, clock.now + timedelta(minutes=15)
    )  # fmt: skip
    assert feed_server.answered("/new.xml") == [503, 200]
    assert [title for _, title, _, _ in await articles(service)] == ["New news"]


async def test_a_permanent_redirect_updates_the_stored_url(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    old = feed_server.serve("/old.xml", rss(("a", "Alpha")))
    await service.add(old)
    new = feed_server.serve("/new.xml", rss(("a", "Alpha"), ("b", "Beta")))
    feed_server.redirect("/old.xml", "/new.xml", 301)
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert (result.moved_to, result.added) == (new, 1)
    assert (await feed_row(service, 1)).url == new


async def test_a_removed_feed_is_not_polled_keeps_its_articles_and_comes_back_whole(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", rss(("a", "Alpha"), ("b", "Beta")))
    await service.add(url, parse_feed_tags("wire"))
    async with service.sessions.begin() as session:
        assert await feed_views.remove_feed(session, 1, clock.now) is not None
        assert await feed_views.remove_feed(session, 1, clock.now) is None
    clock.advance(hours=1)
    assert await service.poll_due() == []
    assert len(await articles(service)) == 2
    again = await service.add(url)
    assert (again.feed_id, again.added) == (1, 0)  # same feed, no repeats
    assert len(await articles(service)) == 2


async def test_feed_tags_apply_from_the_next_poll(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", rss(("a", "Alpha")))
    await service.add(url, parse_feed_tags("old"))
    async with service.sessions.begin() as session:
        feed = await feed_views.set_feed_tags(session, 1, parse_feed_tags("new, Україна"))
        assert feed is not None
        assert await feed_views.set_feed_tags(session, 99, []) is None
    # Entries still in the feed are re-tagged at the next poll; older articles keep theirs.
    feed_server.serve("/wire.xml", rss(("b", "Beta"), ("c", "Gamma")))
    clock.advance(minutes=15)
    await service.poll_due()
    async with service.sessions() as session:
        tags = await repo.tags_of_articles(session, [1, 2, 3])
    assert (tags[1], sorted(tags[2]), sorted(tags[3])) == (
        ["old"], ["new", "Україна"], ["new", "Україна"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (", ".join(f"t{n}" for n in range(11)), "at most 10 tags per feed, got 11"),
        ("x" * 60, "is longer than 50 characters"),
    ],
)
def test_feed_tags_are_checked(text: str, problem: str) -> None:
    with pytest.raises(FeedProblem, match=problem):
        parse_feed_tags(text)


async def test_an_opml_import_reports_added_present_and_failed(
    service: FeedService, feed_server: FeedServer
) -> None:
    one = feed_server.fixture("/one.xml", "rss20.xml")
    two = feed_server.fixture("/two.xml", "atom.xml")
    broken = feed_server.fixture("/broken.xml", "page.html")
    await service.add(one)
    document = (
        '<opml version="2.0"><body><outline text="News">'
        f'<outline xmlUrl="{one}"/><outline xmlUrl="{two}" text="Herald" category="europe"/>'
        f'<outline xmlUrl="{broken}"/><outline xmlUrl="ftp://x.example/feed"/>'
        "</outline></body></opml>"
    )
    imported = await service.import_opml(document.encode())
    # Stored at once, nothing fetched yet: the feeds are claimed for their first poll.
    assert [feed.url for feed in imported.stored] == [two, broken]
    assert imported.already == [one]
    assert [(url, str(why)) for url, why in imported.refused] == [
        ("ftp://x.example/feed", "only http and https URLs are polled, not ftp:"),
    ]
    assert feed_server.answered("/two.xml") == feed_server.answered("/broken.xml") == []
    assert await service.poll_due() == []  # the regular polls leave them to the import
    report = await service.check_import(imported)
    assert [a.title for a in report.added] == ["Atom Herald"]
    assert report.already == [one]
    assert [(url, str(why)) for url, why in report.failed] == [
        (broken, "not a usable feed: the address serves an HTML page, not a feed; " + LOOK),
        ("ftp://x.example/feed", "only http and https URLs are polled, not ftp:"),
    ]
    async with service.sessions() as session:
        exported = await feed_views.export_opml(session)
        herald = await repo.feed_by_url(session, two)
        assert await repo.count_feeds(session) == 2  # the broken one was removed again
    assert herald is not None
    assert (herald.name, herald.tags) == ("Herald", ["News", "europe"])
    assert exported.count(b"<outline ") == 2
    assert b'category="News,europe"' in exported


async def test_an_opml_import_fetches_a_feed_that_failed_once_again_and_keeps_it(
    service: FeedService, feed_server: FeedServer
) -> None:
    busy = feed_server.serve("/busy.xml", rss(("b1", "Busy news")), fail_first=1)
    down = feed_server.serve("/down.xml", "Down", status=503)
    page = feed_server.fixture("/page.xml", "page.html")
    gone = feed_server.url("/gone.xml")
    service.first_retry = timedelta(0)
    document = "".join(f'<outline xmlUrl="{url}"/>' for url in (busy, down, page, gone))
    imported = await service.import_opml(f"<opml><body>{document}</body></opml>".encode())
    report = await service.check_import(imported)
    assert [(r.url, r.added) for r in report.added] == [(busy, 1)]
    assert [url for url, _ in report.failed] == [down, page, gone]
    # Once more for a failed fetch; a page that is no feed, or a 404, is not fetched again.
    assert (feed_server.answered("/busy.xml"), feed_server.answered("/down.xml")) == (
        [503, 200], [503, 503]
    )  # fmt: skip
    assert (feed_server.answered("/page.xml"), feed_server.answered("/gone.xml")) == (
        [200], [404]
    )  # fmt: skip
    async with service.sessions() as session:
        assert [f.url for f in await repo.active_feeds(session)] == [busy]


async def test_no_feed_is_fetched_twice_at_once_and_all_polls_every_feed(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    for n in range(3):
        await service.add(feed_server.serve(f"/f{n}.xml", rss((f"e{n}", f"Entry {n}"))))
    clock.advance(minutes=15)
    # Two pollers at once: each due feed is claimed, and fetched, by one of them.
    first, second = await asyncio.gather(service.poll_due(), service.poll_due())
    assert sorted(r.feed_id for r in [*first, *second]) == [1, 2, 3]
    assert [len(feed_server.answered(f"/f{n}.xml")) for n in range(3)] == [2, 2, 2]
    assert await service.poll_due() == []
    everyone = await service.poll_due(every=True)  # `newsbot poll --all`
    assert sorted(r.feed_id for r in everyone) == [1, 2, 3]


async def test_the_entries_of_a_feed_are_stored_whole_or_not_at_all(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.fixture("/faults.xml", "faults.xml")
    added = await service.add(url)
    assert (added.entries, added.skipped) == (
        3, ("entry 4: no title and no text", "entry 5: no title and no text"),
    )  # fmt: skip
    async with service.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Article))
        future = await session.scalar(select(Article).where(Article.title == "From the future"))
        undated = await session.scalar(
            select(Article).where(Article.title == "No link and no date")
        )
    assert count == 3
    assert future is not None
    assert future.published_at == START  # clamped to now
    assert undated is not None
    assert (undated.url, undated.published_at) == (None, START)  # first seen


# ---- hostile admins and servers


async def count(service: FeedService, model: type[Article] | type[Feed]) -> int:
    async with service.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_two_admins_adding_the_same_feed_at_once_get_one_feed_and_already_there(
    service: FeedService, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/race.xml", rss(("a", "Harbour opens")))
    outcomes = await asyncio.gather(service.add(url), service.add(url), return_exceptions=True)
    added = [o for o in outcomes if isinstance(o, FeedAdded)]
    refused = [o for o in outcomes if isinstance(o, FeedProblem)]
    assert len(added) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert str(refused[0]).startswith("that feed is already there")
    assert await count(service, Feed) == 1
    assert await count(service, Article) == 1


async def test_the_same_guid_twice_in_one_feed_stores_one_article(
    service: FeedService, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/dup.xml", rss(("dup", "First"), ("dup", "Second")))
    added = await service.add(url)
    assert added.added == 1
    assert await count(service, Article) == 1


async def test_a_4000_character_url_is_refused_with_a_reason(service: FeedService) -> None:
    with pytest.raises(FeedProblem, match="longer than 2,048"):
        await service.add("https://wire.example/" + "a" * 4000)


# ---- permanent redirects


@pytest.mark.parametrize("status", [301, 308])
@pytest.mark.parametrize("answer", ["304", "same bytes", "new entries"])
async def test_a_permanent_redirect_moves_the_feed_at_once_whatever_the_body(
    service: FeedService, feed_server: FeedServer, clock: FakeClock, status: int, answer: str
) -> None:
    """Before, a 301 to unchanged content (a 304, or the same bytes without validators)
    was not remembered: every poll asked the old address, then the new one."""
    body = rss(("a", "Alpha"))
    old = feed_server.serve("/old.xml", body, validators=answer == "304")
    await service.add(old)
    new = feed_server.serve(
        "/new.xml",
        body if answer != "new entries" else rss(("b", "Beta"), ("a", "Alpha")),
        validators=answer == "304",
    )
    feed_server.redirect("/old.xml", "/new.xml", status)
    clock.advance(minutes=15)
    [moved] = await service.poll_due()
    assert (moved.ok, moved.moved_to, moved.url) == (True, new, new)
    assert moved.not_modified is (answer != "new entries")
    assert (await feed_row(service, 1)).url == new
    clock.advance(minutes=15)
    [again] = await service.poll_due()
    assert (again.url, again.moved_to) == (new, None)
    # Three polls: the old address was asked once after it moved, never again.
    assert feed_server.answered("/old.xml") == [200, status]
    assert len(feed_server.answered("/new.xml")) == 2


@pytest.mark.parametrize("status", [302, 307])
async def test_a_temporary_redirect_keeps_the_address(
    service: FeedService, feed_server: FeedServer, clock: FakeClock, status: int
) -> None:
    old = feed_server.serve("/old.xml", rss(("a", "Alpha")))
    await service.add(old)
    feed_server.serve("/new.xml", rss(("a", "Alpha")))
    feed_server.redirect("/old.xml", "/new.xml", status)
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert (result.ok, result.moved_to, result.url) == (True, None, old)
    assert (await feed_row(service, 1)).url == old


async def test_a_redirect_to_another_feeds_address_keeps_both_and_says_so(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    """The address is unique: feed 1 cannot take feed 2's. It stays at its own, keeps
    being polled, and /feeds (and `newsbot poll`) say why."""
    first = feed_server.serve("/first.xml", rss(("a", "Alpha")))
    second = feed_server.serve("/second.xml", rss(("b", "Beta")))
    await service.add(first)
    await service.add(second)
    feed_server.redirect("/first.xml", "/second.xml", 301)
    clock.advance(minutes=15)
    results = {r.feed_id: r for r in await service.poll_due()}
    assert (results[1].ok, results[1].moved_to, results[1].duplicate) == (True, None, (2, second))
    assert (results[1].url, results[2].url) == (first, second)
    async with service.sessions() as session:
        views, _, _ = await feed_views.feeds_page(session, 0, clock.now)
    assert [(v.url, v.moved_to) for v in views] == [(first, second), (second, None)]
    # The redirect goes away: so does the note.
    feed_server.serve("/first.xml", rss(("a", "Alpha"), ("c", "Gamma")))
    clock.advance(minutes=15)
    await service.poll_due()
    assert (await feed_row(service, 1)).moved_to is None


async def test_a_redirect_to_a_removed_feeds_address_moves_and_trades_addresses(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    first = feed_server.serve("/first.xml", rss(("a", "Alpha")))
    second = feed_server.serve("/second.xml", rss(("a", "Alpha")))
    await service.add(first)
    await service.add(second)
    async with service.sessions.begin() as session:
        await feed_views.remove_feed(session, 2, clock.now)
    feed_server.redirect("/first.xml", "/second.xml", 308)
    clock.advance(minutes=15)
    [result] = await service.poll_due()
    assert (result.feed_id, result.moved_to) == (1, second)
    assert ((await feed_row(service, 1)).url, (await feed_row(service, 2)).url) == (first, second)[
        ::-1
    ]
    # Adding either address again finds feed 1 (the old one redirects to it).
    for url in (second, first):
        with pytest.raises(FeedProblem, match="that feed is already there, as #1"):
            await service.add(url)


async def test_two_feeds_moving_to_one_new_address_at_once_both_poll(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    """One pass, both redirect to the same new address: one moves, the other keeps its
    own, whichever order their transactions run in (on PostgreSQL they may overlap: the
    second's update then meets the first's unique address, and is tried again)."""
    for name in ("one", "two"):
        await service.add(feed_server.serve(f"/{name}.xml", rss((name, name.title()))))
    new = feed_server.serve("/merged.xml", rss(("one", "One"), ("two", "Two")))
    feed_server.redirect("/one.xml", "/merged.xml", 301)
    feed_server.redirect("/two.xml", "/merged.xml", 301)
    clock.advance(minutes=15)
    results = sorted(await service.poll_due(), key=lambda r: r.feed_id)
    assert [r.error for r in results] == [None, None]
    moved = [r for r in results if r.moved_to == new]
    assert len(moved) == 1, results
    [kept] = [r for r in results if r.duplicate]
    assert kept.duplicate == (moved[0].feed_id, new)


async def test_the_regular_polls_leave_an_imports_feeds_to_it_while_it_works(
    service: FeedService, feed_server: FeedServer, clock: FakeClock
) -> None:
    """An import's feeds stay claimed, and the claim is renewed as the import goes on:
    a slow import is not overtaken by the regular polls, which would fetch its feeds
    twice (and queue behind it on the same host)."""
    gates = [asyncio.Event() for _ in range(3)]
    urls = [
        feed_server.serve(f"/i{n}.xml", rss((f"i{n}", f"Item {n}")), hold=gates[n])
        for n in range(3)
    ]
    body = "".join(f'<outline xmlUrl="{url}"/>' for url in urls)
    imported = await service.import_opml(f"<opml><body>{body}</body></opml>".encode())
    checking = asyncio.create_task(service.check_import(imported))
    await feed_server.until(lambda: feed_server.held == ["/i0.xml"])
    clock.advance(minutes=6)
    gates[0].set()
    await feed_server.until(lambda: feed_server.held == ["/i1.xml"])
    clock.advance(minutes=6)  # past the first claim (10 minutes), not past the renewed one
    async with service.sessions() as session:
        due = await session.scalars(select(Feed.id).where(Feed.next_poll_at <= clock.now))
        assert list(due) == []  # a regular poll now would claim none of them
    gates[1].set()
    gates[2].set()
    report = await checking
    assert [r.feed_id for r in report.added] == [1, 2, 3]
    assert feed_server.arrived == ["/i0.xml", "/i1.xml", "/i2.xml"]  # each fetched once
