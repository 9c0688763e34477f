"""`newsbot feeds …` and `newsbot poll`: what an admin at a shell sees. Run in-process
(`bot.ops.cli.main` in a thread, as the console script calls it), the feeds on a local site."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.auxil.cli import base_environment, finish_newsbot, newsbot_here
from tests.auxil.feedserver import FIXTURES, FeedServer

Shell = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Shell:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "FEED_ALLOW_PRIVATE": "true",
        "FEED_TIMEOUT_SECONDS": "2",
    }

    async def run(*args: str) -> tuple[int, str, str]:
        return await newsbot_here(
            *args, env=env, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
        )

    return run


async def test_add_list_poll_remove(shell: Shell, feed_server: FeedServer) -> None:
    url = feed_server.fixture("/rss.xml", "rss20.xml")
    assert await shell("feeds", "add", url, "--tags", "harbour, Local") == (
        0,
        f"feed 1 added: Harbour & Hill Gazette ({url}): 2 entries, 2 new\n",
        "",
    )
    code, out, err = await shell("feeds", "add", url)
    assert (code, err) == (1, f"{url}: not added: that feed is already there, as #1\n")
    code, out, _ = await shell("feeds", "list")
    [row] = out.splitlines()
    assert row.split("\t")[:4] == ["1", "Harbour & Hill Gazette", url, "harbour, Local"]
    assert row.split("\t")[5:] == ["ok", "2 in 24 h"]
    assert await shell("poll") == (0, "no feed is due\n", "")
    assert await shell("poll", "--all") == (0, f"feed 1 {url}: not modified\n", "")
    assert await shell("feeds", "remove", "1") == (
        0, "feed 1 removed; its articles stay\n", "",
    )  # fmt: skip
    assert await shell("feeds", "remove", "1") == (1, "", "there is no feed 1\n")
    assert await shell("feeds", "list") == (0, "", "no feeds\n")


async def test_poll_prints_a_line_per_feed_and_fails_when_one_does(
    shell: Shell, feed_server: FeedServer
) -> None:
    good = feed_server.fixture("/good.xml", "atom.xml")
    bad = feed_server.fixture("/bad.xml", "rss20.xml")
    await shell("feeds", "add", good)
    await shell("feeds", "add", bad)
    feed_server.fixture("/bad.xml", "invalid.xml")
    feed_server.fixture("/good.json", "jsonfeed.json")
    feed_server.redirect("/good.xml", "/good.json", 308)
    code, out, err = await shell("poll", "--all")
    assert (code, err) == (1, "")
    assert sorted(out.splitlines()) == [
        f"feed 1 {feed_server.url('/good.json')}: 3 entries, 3 added, 0 updated; "
        "moved permanently, address updated",
        f"feed 2 {bad}: failed (1 time in a row): not a usable feed: invalid XML at line 5: "
        "mismatched tag",
    ]


async def test_opml_import_and_export(
    shell: Shell, feed_server: FeedServer, tmp_path: Path
) -> None:
    one = feed_server.fixture("/one.xml", "rss20.xml")
    document = tmp_path / "subs.opml"
    document.write_text(
        f'<opml version="2.0"><body><outline xmlUrl="{one}" text="One" category="a,b"/>'
        f'<outline xmlUrl="{feed_server.url("/gone.xml")}"/></body></opml>',
        encoding="utf-8",
    )
    code, out, err = await shell("feeds", "import", str(document))
    assert (code, out) == (1, "1 added, 0 already there, 1 failed\n")
    assert err == f"{feed_server.url('/gone.xml')}: HTTP 404 Not Found\n"
    assert await shell("feeds", "export", str(tmp_path / "out.opml")) == (0, "", "")
    exported = (tmp_path / "out.opml").read_text(encoding="utf-8")
    assert f'text="One" title="One" xmlUrl="{one}" category="a,b"' in exported
    code, out, _ = await shell("feeds", "export")
    assert out == exported
    code, out, err = await shell("feeds", "import", str(FIXTURES / "page.html"))
    assert (code, err) == (1, f"{FIXTURES / 'page.html'}: not OPML: invalid XML at line 3\n")
    code, _, err = await shell("feeds", "import", str(tmp_path / "missing.opml"))
    assert (code, err) == (
        2,
        f"{tmp_path / 'missing.opml'}: cannot read: No such file or directory\n",
    )


async def test_bad_arguments_are_named(shell: Shell) -> None:
    code, _, err = await shell("feeds", "add", "ftp://x.example/feed")
    assert (code, err) == (
        1, "ftp://x.example/feed: not added: only http and https URLs are polled, not ftp:\n",
    )  # fmt: skip
    code, _, err = await shell("feeds", "add", "http://127.0.0.1:1/x", "--tags", "a" * 60)
    assert code == 1
    assert "is longer than 50 characters" in err


async def test_the_console_script_polls_as_a_process(
    shell: Shell, feed_server: FeedServer, tmp_path: Path
) -> None:
    """For cron: the real process, its exit code and its one line per feed."""
    url = feed_server.fixture("/rss.xml", "rss20.xml")
    assert (await shell("feeds", "add", url))[0] == 0
    env = base_environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", FEED_ALLOW_PRIVATE="true"
    )
    assert await finish_newsbot("poll", "--all", env=env, cwd=tmp_path) == (
        0, f"feed 1 {url}: not modified\n", "",
    )  # fmt: skip


def many(count: int) -> str:
    """RSS with ``count`` items, a minute apart, the newest first."""
    start = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    items = "".join(
        f"<item><title>Entry {n}</title><guid>e{n}</guid>"
        f"<pubDate>{format_datetime(start - timedelta(minutes=n), usegmt=True)}</pubDate></item>"
        for n in range(count)
    )
    return f'<rss version="2.0"><channel><title>Big Wire</title>{items}</channel></rss>'


async def test_add_and_poll_say_what_was_dropped_and_where_a_feed_moved(
    shell: Shell, feed_server: FeedServer
) -> None:
    """Before: `feeds add` said nothing of the 500 entries beyond the newest 500, and
    `poll` called them "1 skipped (500 older entries beyond 500)"."""
    big = feed_server.serve("/big.xml", many(1_000), validators=False)
    why = "(only the newest 500 of a feed are read)"
    assert await shell("feeds", "add", big) == (
        0,
        f"feed 1 added: Big Wire ({big}): 1000 entries, 500 new; "
        f"500 older entries dropped {why}\n",
        "",
    )
    feed_server.serve("/big.xml", many(1_001), validators=False)
    assert await shell("poll", "--all") == (
        0,
        f"feed 1 {big}: 1001 entries, 0 added, 0 updated, 501 older entries dropped {why}\n",
        "",
    )
    # A permanent redirect to the address another feed has: both stay, and poll says so.
    small = feed_server.fixture("/small.xml", "rss20.xml")
    await shell("feeds", "add", small)
    feed_server.redirect("/big.xml", "/small.xml", 301)
    code, out, _ = await shell("poll", "--all")
    assert code == 0
    assert f"feed 1 {big}: " in out
    assert out.splitlines()[0].endswith(
        f"; moved permanently to {small}, which feed 2 already has: address kept "
        "(remove one of the two)"
    )
