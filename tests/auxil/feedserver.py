"""A news site on loopback: serves feeds (and faults) the way real servers do, over HTTP.

Tests set what each path answers (`serve`, `fixture`, `redirect`) and read what was asked
(`requests`, `max_in_flight`). Validators (ETag, Last-Modified) come with every 200, and
a conditional GET that matches them gets 304. A route with a ``hold`` is a server that is
slow for exactly as long as the test says: it answers once the event is set, and
`until` waits for what the server sees (a request held, a path asked), never a clock.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
LAST_MODIFIED = "Fri, 27 Nov 2026 10:00:00 GMT"
_TYPES = {
    ".xml": "application/rss+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml",
}


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml"
    status: int = 200
    delay: float = 0.0  # seconds before the answer starts: a slow server
    validators: bool = True  # ETag and Last-Modified, and 304 when they match
    gzip: bool = False
    location: str | None = None  # for redirects
    stream: int = 0  # send this many bytes, chunked, with no Content-Length
    content_length: int | None = None  # claim this Content-Length (a lying server)
    hold: asyncio.Event | None = None  # answer only once this is set
    fail_first: int = 0  # answer this many requests 503 first: a busy server


@dataclass(frozen=True)
class Seen:
    path: str
    host: str
    headers: dict[str, str]
    status: int


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0
    held: list[str] = field(default_factory=list)  # paths waiting on their hold now
    arrived: list[str] = field(default_factory=list)  # every path asked, in order
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes | str, **options: object) -> str:
        """Answer ``path`` with ``body``; returns its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def fixture(self, path: str, name: str, **options: object) -> str:
        file = FIXTURES / name
        options.setdefault("content_type", _TYPES.get(file.suffix, "application/octet-stream"))
        return self.serve(path, file.read_bytes(), **options)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        self.routes[path] = Route(status=status, location=to, validators=False)
        return self.url(path)

    def answered(self, path: str) -> list[int]:
        """The statuses ``path`` was answered with, in order."""
        return [seen.status for seen in self.requests if seen.path == path]

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition`` (on what the server has seen) holds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def _changes(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get(request.path)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.arrived.append(request.path)
        try:
            if route is not None and route.hold is not None:
                self.held.append(request.path)
                await self._changes()
                try:
                    await route.hold.wait()
                finally:
                    self.held.remove(request.path)
            response = await self._answer(request, route)
        finally:
            self.in_flight -= 1
        await self._changes()
        return response

    async def _answer(self, request: web.Request, route: Route | None) -> web.StreamResponse:
        def seen(status: int) -> None:
            self.requests.append(Seen(request.path, request.host, dict(request.headers), status))

        if route is None:
            seen(404)
            return web.Response(status=404, text="Not Found")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.fail_first:
            route.fail_first -= 1
            seen(503)
            return web.Response(status=503, text="Busy")
        if route.location is not None:
            seen(route.status)
            return web.Response(status=route.status, headers={"Location": route.location})
        headers: dict[str, str] = {}
        if route.validators and route.status == 200:
            etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            if request.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in request.headers
                and request.headers.get("If-Modified-Since") == LAST_MODIFIED
            ):
                seen(304)
                return web.Response(status=304, headers=headers)
        seen(route.status)
        if route.stream:
            return await self._stream(request, route)
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.content_length is not None:
            headers["Content-Length"] = str(route.content_length)
        return web.Response(
            status=route.status, body=body, headers={"Content-Type": route.content_type, **headers}
        )

    @staticmethod
    async def _stream(request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": route.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        sent = 0
        try:
            while sent < route.stream:
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass  # the client stopped reading: what the size limit is for
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        # A slow route is still sleeping when a test ends: do not wait for it.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.1
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def listen_on(self, *hosts: str) -> None:
        """Answer on more loopback addresses (127.0.0.2 …), on the same port: other hosts."""
        for host in hosts:
            await web.TCPSite(self._runner, host, self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
