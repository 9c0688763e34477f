"""Fetching feeds from a local news site: conditional GET, redirects, limits. What is
refused, and how, is in test_feed_guard.py."""

from __future__ import annotations

import asyncio

import pytest

from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult
from bot.feeds.guard import FetchError
from tests.auxil.feedserver import LAST_MODIFIED, FeedServer, Route

LOCAL = FetchLimits(timeout=2.0, max_bytes=64 * 1024, concurrency=4, allow_private=True)


async def fetch(url: str, limits: FetchLimits = LOCAL) -> FetchResult:
    async with Fetcher(limits) as fetcher:
        return await fetcher.fetch(url)


async def failure(url: str, limits: FetchLimits = LOCAL) -> str:
    async with Fetcher(limits) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    return str(caught.value)


async def test_a_feed_is_fetched_with_its_validators_and_a_named_user_agent(
    feed_server: FeedServer,
) -> None:
    url = feed_server.fixture("/rss.xml", "rss20.xml")
    async with Fetcher(LOCAL) as fetcher:
        first = await fetcher.fetch(url)
        again = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
        by_date = await fetcher.fetch(url, last_modified=first.last_modified)
    assert first.content.startswith(b'<?xml version="1.0"')
    assert first.content_type == "application/rss+xml"
    assert first.etag is not None
    assert first.last_modified == LAST_MODIFIED
    assert (first.not_modified, again.not_modified, by_date.not_modified) == (False, True, True)
    assert again.content == b""
    assert feed_server.answered("/rss.xml") == [200, 304, 304]
    seen = feed_server.requests[1].headers
    assert seen["If-None-Match"] == first.etag
    assert seen["User-Agent"].startswith("newsbot/")
    assert "gzip" in seen["Accept-Encoding"]


async def test_gzip_is_decompressed(feed_server: FeedServer) -> None:
    body = b"<rss>" + b"x" * 10_000 + b"</rss>"
    url = feed_server.serve("/gz.xml", body, gzip=True)
    result = await fetch(url)
    assert result.content == body


async def test_a_permanent_redirect_moves_the_feed_and_a_temporary_one_does_not(
    feed_server: FeedServer,
) -> None:
    final = feed_server.fixture("/new.xml", "rss20.xml")
    moved = feed_server.redirect("/old.xml", "/new.xml", 301)
    via_308 = feed_server.redirect("/old308.xml", final, 308)
    temporary = feed_server.redirect("/tmp.xml", "/new.xml", 302)
    mixed = feed_server.redirect("/mixed.xml", "/tmp.xml", 301)
    results = [await fetch(url) for url in (moved, via_308, temporary, mixed)]
    assert [r.url for r in results] == [final] * 4
    assert [r.moved_to for r in results] == [final, final, None, None]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
    ],
)
async def test_http_errors_are_named(feed_server: FeedServer, status: int, reason: str) -> None:
    url = feed_server.serve(f"/{status}.xml", "error", status=status)
    assert await failure(url) == reason


async def test_redirect_loops_and_chains_stop(feed_server: FeedServer) -> None:
    feed_server.redirect("/a", "/b")
    loop = feed_server.redirect("/b", "/a")
    for hop in range(7):
        feed_server.redirect(f"/c{hop}", f"/c{hop + 1}", 302)
    assert (await failure(loop)).startswith("redirect loop: ")
    assert await failure(feed_server.url("/c0")) == "too many redirects (more than 5)"
    feed_server.routes["/nowhere"] = Route(status=301)
    assert await failure(feed_server.url("/nowhere")) == "HTTP 301 redirect without a Location"


async def test_a_slow_server_times_out(feed_server: FeedServer) -> None:
    url = feed_server.fixture("/slow.xml", "rss20.xml", delay=5)
    quick = FetchLimits(timeout=0.2, allow_private=True)
    assert await failure(url, quick) == "timed out after 0.2 s"


@pytest.mark.parametrize(
    "options",
    [
        {"body": b"x" * 100_000},  # Content-Length says so up front
        {"stream": 10_000_000},  # chunked, no length: counted while reading
        {"body": b"\0" * 20_000_000, "gzip": True},  # 20 KB that inflate to 20 MB
    ],
    ids=["declared", "chunked", "gzip-bomb"],
)
async def test_an_oversized_response_is_refused(
    feed_server: FeedServer, options: dict[str, object]
) -> None:
    body = options.pop("body", b"")
    url = feed_server.serve("/big.xml", body, **options)  # type: ignore[arg-type]
    assert await failure(url) == "the response is larger than 65,536 bytes"


async def test_a_closed_port_is_named(feed_server: FeedServer) -> None:
    reason = await failure("http://127.0.0.1:1/feed.xml")
    assert reason == "cannot connect to 127.0.0.1:1: connection refused"


async def test_one_fetch_at_a_time_per_host_and_a_cap_overall(feed_server: FeedServer) -> None:
    for n in range(6):
        feed_server.fixture(f"/f{n}.xml", "rss20.xml", delay=0.05)
    async with Fetcher(LOCAL) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url(f"/f{n}.xml")) for n in range(6))
        )
    assert all(r.content for r in results)
    assert feed_server.max_in_flight == 1  # one host: 127.0.0.1


async def test_fetches_to_different_hosts_overlap_up_to_the_cap(feed_server: FeedServer) -> None:
    await feed_server.listen_on("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
    for n in range(5):
        feed_server.fixture(f"/h{n}.xml", "rss20.xml", delay=0.2)
    hosts = [f"127.0.0.{n + 1}" for n in range(5)]
    capped = FetchLimits(timeout=5, concurrency=3, allow_private=True)
    async with Fetcher(capped) as fetcher:
        await asyncio.gather(
            *(fetcher.fetch(feed_server.url(f"/h{n}.xml", host)) for n, host in enumerate(hosts))
        )
    assert feed_server.max_in_flight == 3
