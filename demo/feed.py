"""A small RSS feed served on loopback, so that `make demo` shows a live feed offline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from aiohttp import web

FEED_PATH = "/demo-newsroom.xml"
FEED_TAGS = "Demo newsroom"

# Written for this demo; (title, categories, body).
ENTRIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "Talks resume in Geneva after a two-week pause",
        ("negotiations", "Europe"),
        "<p>Delegations met again on Monday morning in Geneva. Both sides said the agenda "
        "was unchanged.</p><p>A joint statement is expected by Friday.</p>",
    ),
    (
        "Grain corridor: ships leave port under a new inspection regime",
        ("economy", "Black Sea"),
        "<p>Twelve vessels left port overnight, the first under the new regime. "
        "Inspections now take place at sea.</p>",
    ),
    (
        "Parliament passes the energy budget on a second reading",
        ("economy", "energy"),
        "<p>The budget passed with a majority of 31 votes. The opposition promised "
        "amendments at the third reading.</p>",
    ),
    (
        "Prisoner exchange agreed, mediators say",
        ("negotiations", "humanitarian"),
        "<p>Mediators announced an exchange of 150 prisoners on each side. "
        "The date has not been made public.</p>",
    ),
    (
        "Storm warning for the coast this weekend",
        ("weather",),
        "<p>Forecasters expect gusts of up to 90 km/h on Saturday. Ferries may not run.</p>",
    ),
)


def feed_document(now: datetime) -> bytes:
    """RSS 2.0 with the entries an hour apart, the newest an hour old."""
    items = []
    for number, (title, categories, body) in enumerate(ENTRIES, start=1):
        published = format_datetime(now - timedelta(hours=number), usegmt=True)
        tags = "".join(f"<category>{escape(c)}</category>" for c in categories)
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://newsroom.example/{number}</link>"
            f'<guid isPermaLink="false">demo-{number}</guid>'
            f"<pubDate>{published}</pubDate>{tags}"
            f"<description>{escape(body)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Demo Newsroom</title><link>https://newsroom.example/</link>"
        "<description>A feed served by make demo</description>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


class DemoFeed:
    """The feed at ``url`` once started; answers a conditional GET with 304."""

    def __init__(self) -> None:
        self.document = feed_document(datetime.now(UTC))
        self.etag = '"' + hashlib.sha256(self.document).hexdigest()[:16] + '"'
        app = web.Application()
        app.router.add_get(FEED_PATH, self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        self.url = ""

    async def _serve(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304)
        return web.Response(
            body=self.document,
            content_type="application/rss+xml",
            headers={"ETag": self.etag},
        )

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{FEED_PATH}"

    async def stop(self) -> None:
        await self.runner.cleanup()
