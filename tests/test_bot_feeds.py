"""Feeds end to end: an admin adds a feed through the emulator, the JobQueue tick polls it,
and a subscriber to one of its tags gets its entries, the entry's link as its headline's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from html import escape

import pytest

from bot.config import Settings
from bot.telegram.context import BotApplication
from emulator.client import Chat, EmulatorClient
from storage import repo
from tests.auxil.clock import FakeClock
from tests.auxil.data import ADMIN_ID
from tests.auxil.feedserver import FIXTURES, FeedServer
from tests.auxil.running import running_bot


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[BotApplication]:
    local = settings.model_copy(update={"feed_allow_private": True, "feed_tick_seconds": 3600})
    async with running_bot(local, clock=clock, feeds=True) as app:
        yield app


async def tick(app: BotApplication) -> None:
    """The feed polling job, run now (its own schedule is an hour away)."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name("feeds")
    await job.run(app)


ITEM = (
    "<item><title>{title}</title><link>https://wire.example/{guid}</link><guid>{guid}</guid>"
    "<category>negotiations</category><description>{html}. More later.</description></item>"
)


def wire(*items: tuple[str, str]) -> str:
    # A description is HTML: brackets meant as text are escaped in it, then for XML.
    body = "".join(
        ITEM.format(guid=guid, title=escape(title), html=escape(escape(title)))
        for guid, title in items
    )
    return f'<rss version="2.0"><channel><title>Wire &amp; Co</title>{body}</channel></rss>'


async def test_a_feed_added_by_an_admin_reaches_a_subscriber_with_its_links(
    app: BotApplication, admin: Chat, user: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", wire(("t1", "Talks resume")))
    [added] = await admin.ask(f"/feed_add {url} Wire, World")
    assert added.text.splitlines() == [
        "✅ Feed 1 added: Wire & Co",
        "1 entry found, 1 new article.",
        "Tags: Wire, World",
    ]
    await user.ask("/subscribe negotiations")
    feed_server.serve("/wire.xml", wire(("t2", "Ceasefire <agreed>"), ("t1", "Talks resume")))
    clock.advance(minutes=15)
    await tick(app)
    [digest] = await user.ask("/digest")
    assert digest.bold()[1:] == ["Ceasefire <agreed>", "Talks resume"]
    assert digest.links() == ["https://wire.example/t2", "https://wire.example/t1"]
    assert "\nCeasefire <agreed>.\nWire & Co · just now · 🏷 negotiations" in digest.text
    assert "Wire, World" not in digest.text and "🏷 Wire" not in digest.text  # the feed's tags
    # Polled again, one entry corrected: its article is updated, and not sent again.
    feed_server.serve("/wire.xml", wire(("t2", "Ceasefire <agreed>"), ("t1", "Talks resumed")))
    clock.advance(minutes=15)
    await tick(app)
    [again] = await user.ask("/digest")
    assert again.text.startswith("Nothing new")
    async with app.bot_data.sessions() as session:
        corrected = await repo.get_article(session, 1)
    assert corrected is not None
    assert corrected.title == "Talks resumed"


async def test_feeds_lists_each_feed_with_its_status(
    app: BotApplication, admin: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    good = feed_server.fixture("/rss.xml", "rss20.xml")
    flaky = feed_server.serve("/flaky.xml", wire(("f", "Flaky")))
    await admin.ask(f"/feed_add {good}")
    await admin.ask(f"/feed_add {flaky} negotiations")
    feed_server.serve("/flaky.xml", "", status=500)
    clock.advance(minutes=15)
    await tick(app)
    [listing] = await admin.ask("/feeds")
    assert listing.text.split("\n\n") == [
        "Feeds (2)",
        f"1 Harbour & Hill Gazette\n{good}\nTags: no tags\n"
        f"Last poll: {clock.now:%d %b %H:%M} UTC · ✅ ok\nAdded in 24 h: 2",
        f"2 Wire & Co\n{flaky}\nTags: negotiations\n"
        f"Last poll: {clock.now:%d %b %H:%M} UTC · ⚠️ failing (1 poll in a row): "
        "HTTP 500 Internal Server Error\nAdded in 24 h: 1",
    ]


async def test_feeds_pages(app: BotApplication, admin: Chat, feed_server: FeedServer) -> None:
    async with app.bot_data.sessions.begin() as session:
        for n in range(12):
            await repo.save_feed(
                session, url=feed_server.url(f"/f{n}"), title=f"Feed {n}", name=None,
                tags=[], now=app.bot_data.clock(), next_poll_at=app.bot_data.clock(),
            )  # fmt: skip
    [first] = await admin.ask("/feeds")
    assert first.text.startswith("Feeds (12), page 1 of 3")
    assert first.button_texts == ["Next ▶"]
    [second] = await admin.press(first, "Next ▶")
    assert second.text.startswith("Feeds (12), page 2 of 3\n\n6 Feed 5")
    assert second.button_texts == ["◀ Previous", "Next ▶"]
    [third] = await admin.press(second, "Next ▶")
    assert third.text.startswith("Feeds (12), page 3 of 3\n\n11 Feed 10")
    assert third.button_texts == ["◀ Previous"]


async def test_remove_and_retag(app: BotApplication, admin: Chat, feed_server: FeedServer) -> None:
    url = feed_server.serve("/wire.xml", wire(("t1", "Talks resume")))
    await admin.ask(f"/feed_add {url}")
    [tagged] = await admin.ask("/feed_tags 1 Europe, #Україна")
    assert tagged.text == "Feed 1 tags: Europe, Україна. Its entries get them from its next poll."
    [removed] = await admin.ask("/feed_remove 1")
    assert removed.text == (
        "Feed 1 removed: Wire & Co. It is no longer polled; its articles stay."
    )
    [gone] = await admin.ask("/feed_remove 1")
    assert gone.text == "There is no feed 1. /feeds lists them."
    [empty] = await admin.ask("/feeds")
    assert empty.text.startswith("No feeds yet.")


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/feed_add", "Which feed?\nUsage: /feed_add https://example.com/rss.xml economy, Europe"),
        (
            "/feed_add ftp://x.example/rss",
            "❌ Feed not added: only http and https URLs are polled, not ftp:",
        ),
        (
            "/feed_add <b>hi</b>",
            "❌ Feed not added: only http and https URLs are polled, not a URL",
        ),
        ("/feed_remove", "Which feed?\nUsage: /feed_remove 3"),
        ("/feed_remove abc", "'abc' is not a feed id; /feeds lists them.\nUsage: /feed_remove 3"),
        ("/feed_remove 99999999999999", "'99999999999999' is not a feed id"),
        ("/feed_tags x a", "'x' is not a feed id; /feeds lists them.\nUsage: /feed_tags 3"),
        ("/feed_tags 5 " + "y" * 60, "tag 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…' is longer than 50"),
        ("/feed_tags 5 a", "There is no feed 5. /feeds lists them."),
    ],
)
async def test_wrong_feed_commands_get_a_specific_answer(
    app: BotApplication, admin: Chat, command: str, answer: str
) -> None:
    [reply] = await admin.ask(command)
    assert reply.text.startswith(answer)


async def test_feed_add_of_a_page_or_a_dead_server_stores_nothing(
    app: BotApplication, admin: Chat, feed_server: FeedServer
) -> None:
    page = feed_server.fixture("/index.html", "page.html")
    [html] = await admin.ask(f"/feed_add {page}")
    assert html.text == (
        "❌ Feed not added: not a usable feed: the address serves an HTML page, not a feed; "
        "look for its RSS link"
    )
    [dead] = await admin.ask("/feed_add http://127.0.0.1:1/rss")
    assert dead.text == "❌ Feed not added: cannot connect to 127.0.0.1:1: connection refused"
    [listing] = await admin.ask("/feeds")
    assert listing.text.startswith("No feeds yet.")


async def test_feed_commands_are_for_admins_only(
    app: BotApplication, user: Chat, feed_server: FeedServer
) -> None:
    url = feed_server.fixture("/rss.xml", "rss20.xml")
    for command in (
        "/feeds",
        f"/feed_add {url}",
        "/feed_remove 1",
        "/feed_tags 1 a",
        "/feeds_export",
    ):
        [reply] = await user.ask(command)
        assert reply.text == "Sorry, only the bot's admins can do that."
    [upload] = await user.upload("feeds.opml", (FIXTURES / "nested.opml").read_text())
    assert upload.text == "Sorry, only the bot's admins can do that."
    assert feed_server.requests == []


async def test_opml_in_and_out(app: BotApplication, admin: Chat, feed_server: FeedServer) -> None:
    one = feed_server.fixture("/one.xml", "rss20.xml")
    two = feed_server.fixture("/two.json", "jsonfeed.json")
    document = (
        f'<opml version="2.0"><body><outline text="World"><outline xmlUrl="{one}"/>'
        f'<outline xmlUrl="{two}" text="Journal"/></outline>'
        f'<outline xmlUrl="{feed_server.url("/missing.xml")}"/></body></opml>'
    )
    working, result = await admin.upload("subscriptions.opml", document, expect=2)
    assert working.text == (
        "📥 3 feeds from that file stored; they are being fetched in the background, and a "
        "summary follows when that is done. /feeds works meanwhile."
    )
    assert result.text.splitlines() == [
        "📥 OPML import done: 2 added, 0 already there, 1 failed",
        f"• {feed_server.url('/missing.xml')}: HTTP 404 Not Found",
    ]
    _, again = await admin.upload("subscriptions.opml", document, expect=2)
    assert again.text.splitlines()[0] == (
        "📥 OPML import done: 0 added, 2 already there, 1 failed"
    )
    [present] = await admin.upload(
        "again.opml", f'<opml version="2.0"><body><outline xmlUrl="{one}"/></body></opml>'
    )
    assert present.text == "📥 OPML import done: 0 added, 1 already there, 0 failed"
    [exported] = await admin.ask("/feeds_export")
    assert exported.file_name == "newsbot-feeds.opml"
    assert exported.text.startswith("Your feeds as OPML.")
    assert exported.file is not None
    assert f'xmlUrl="{one}"' in exported.file
    assert 'text="Journal"' in exported.file
    assert 'category="World"' in exported.file


async def test_a_file_that_is_not_opml_gets_one_clear_error(
    app: BotApplication, admin: Chat
) -> None:
    [reply] = await admin.upload("feeds.opml", "<html><body>hello</body></html>")
    assert (
        reply.text
        == "❌ Not imported: that file is not OPML (the root element is <html>, not <opml>)."
    )
    [bomb] = await admin.upload("feeds.opml", (FIXTURES / "billion-laughs.opml").read_text())
    assert (
        bomb.text
        == "❌ Not imported: that file is not OPML (it defines XML entities, which are refused)."
    )


async def test_a_followed_word_finds_feed_entries_and_search_finds_them(
    app: BotApplication, admin: Chat, user: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", wire(("t1", "Talks resume")))
    await admin.ask(f"/feed_add {url}")
    await user.ask("/follow ceasefire")
    feed_server.serve(
        "/wire.xml", wire(("t2", "Ceasefire holds in the south"), ("t1", "Talks resume"))
    )
    clock.advance(minutes=15)
    await tick(app)
    [digest] = await user.ask("/digest")
    assert digest.bold()[1:] == ["Ceasefire holds in the south"]
    [found] = await user.ask("/search talks")
    assert "Talks resume" in found.text


async def test_feed_add_refuses_loopback_in_any_spelling_and_names_the_setting(
    settings: Settings, clock: FakeClock, emu: EmulatorClient, feed_server: FeedServer
) -> None:
    """FEED_ALLOW_PRIVATE off (the default): full-width digits and ideographic full stops
    were read as a name by the old check, and fetched from loopback by aiohttp."""
    url = feed_server.serve("/feed.xml", wire(("t1", "Internal memo")))
    wide = url.replace("127.0.0.1", "１２７.０.０.１")
    dots = url.replace("127.0.0.1", "127。0。0。1")
    async with running_bot(settings, clock=clock, feeds=True):
        admin = Chat(emu, ADMIN_ID, "Ada")
        for typed in (wide, dots, url):
            [reply] = await admin.ask(f"/feed_add {typed}")
            assert reply.text == (
                "❌ Feed not added: refused: 127.0.0.1 is a loopback address "
                "(FEED_ALLOW_PRIVATE=true allows it, for tests)"
            )
        [legacy] = await admin.ask(f"/feed_add http://2130706433:{feed_server.port}/feed.xml")
        assert legacy.text == (
            "❌ Feed not added: refused: 2130706433 means 127.0.0.1, a loopback address "
            "(FEED_ALLOW_PRIVATE=true allows it, for tests)"
        )
        [choice] = await admin.ask("/language")
        await admin.press(choice, "Українська")
        [refused] = await admin.ask(f"/feed_add {dots}")
        [listing] = await admin.ask("/feeds")
    assert feed_server.requests == []
    assert refused.text == (
        "❌ Стрічку не додано: відхилено: 127.0.0.1 — адреса loopback (цієї ж машини) "
        "(FEED_ALLOW_PRIVATE=true дозволяє її, для тестів)"
    )
    assert listing.text.startswith("Стрічок ще немає.")


def outlines(*urls: str) -> str:
    body = "".join(f'<outline xmlUrl="{url}"/>' for url in urls)
    return f'<opml version="2.0"><body>{body}</body></opml>'


async def test_an_opml_import_never_holds_the_admin_or_the_host(
    app: BotApplication, admin: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    """24 feeds on one slow host. Before, the import ran inside the admin's chat: their
    next /feeds waited for every fetch (35 s at 1.5 s each), and the host's own feed
    waited behind all 24 in its one-fetch-at-a-time line. The host here is as slow as
    the test says: each of its import feeds answers only when released."""
    await feed_server.listen_on("127.0.0.2")
    regular = feed_server.serve("/regular.xml", wire(("r1", "Regular news")))
    regular = regular.replace("127.0.0.1", "127.0.0.2")
    await admin.ask(f"/feed_add {regular}")
    clock.advance(minutes=15)  # the host's own feed is due (the tick runs when we say)
    gates = [asyncio.Event() for _ in range(24)]
    slow = [
        feed_server.url(f"/slow{n}.xml", "127.0.0.2")
        for n in range(24)
        if feed_server.serve(f"/slow{n}.xml", wire((f"s{n}", f"Slow {n}")), hold=gates[n])
    ]
    missing = feed_server.url("/missing.xml")
    document = outlines(*slow, missing, regular, "ftp://x.example/feed")
    [stored] = await admin.upload("careless.opml", document)
    await feed_server.until(lambda: feed_server.held == ["/slow0.xml"])
    # The admin's chat is free while the slow host holds the import's first fetch.
    [listing] = await admin.ask("/feeds")
    assert stored.text.startswith("📥 25 feeds from that file stored;")
    assert listing.text.startswith("Feeds (26), page 1 of 6")
    assert "⏳ not polled yet" in listing.text
    assert feed_server.held == ["/slow0.xml"]
    # The host's own feed is polled: it waits for the one fetch in progress, not all 24.
    polling = asyncio.create_task(tick(app))

    def regular_polled_or_held(n: int) -> bool:
        return feed_server.arrived.count("/regular.xml") == 2 or feed_server.held == [
            f"/slow{n}.xml"
        ]

    released = 0
    while feed_server.arrived.count("/regular.xml") < 2:  # the first was /feed_add's
        gates[released].set()
        released += 1
        await feed_server.until(partial(regular_polled_or_held, released))
    await polling
    assert released <= 2, feed_server.arrived
    for gate in gates:
        gate.set()
    [summary] = await admin.read()
    assert summary.text.splitlines() == [
        "📥 OPML import done: 24 added, 1 already there, 2 failed",
        f"• {missing}: HTTP 404 Not Found",
        "• ftp://x.example/feed: only http and https URLs are polled, not ftp:",
    ]
    [after] = await admin.ask("/feeds")
    assert after.text.startswith("Feeds (25), page 1 of 5")  # the 404 was removed again
    assert "not polled yet" not in after.text


async def test_a_feed_of_thousands_of_entries_says_what_was_dropped_and_why(
    app: BotApplication, admin: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    """Before: "500 entries found, 500 new articles … 1 entry skipped (no title and no
    text)", while 1,500 entries (9,500 of a 10,000-entry feed in the issue) were dropped
    as older than the newest 500."""
    items = "".join(
        f"<item><title>Entry {n}</title><guid>e{n}</guid>"
        f"<pubDate>Sat, 28 Nov 2026 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
        " +0000</pubDate></item>"
        for n in range(2_000)
    )
    url = feed_server.serve(
        "/big.xml", f'<rss version="2.0"><channel><title>Big Wire</title>{items}</channel></rss>'
    )
    [added] = await admin.ask(f"/feed_add {url}")
    assert added.text.splitlines() == [
        "✅ Feed 1 added: Big Wire",
        "2,000 entries found, 500 new articles.",
        "1,500 older entries dropped: only the newest 500 of a feed are read.",
        "Tags: none (entry categories only)",
    ]
    [listing] = await admin.ask("/feeds")
    assert listing.text.endswith(
        "Added in 24 h: 500\n1,500 older entries dropped: only the newest 500 of a feed are read."
    )
    [choice] = await admin.ask("/language")
    await admin.press(choice, "Українська")
    [ukrainian] = await admin.ask("/feeds")
    assert ukrainian.text.endswith(
        "Відкинуто 1\xa0500 старіших записів: зі стрічки читаються лише 500 найновіших."
    )
