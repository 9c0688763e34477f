"""Fetching feeds over HTTP as a good citizen, and safely.

Conditional GET (ETag, Last-Modified), gzip, redirects followed one hop at a time (so
that each hop is checked, and a permanent move is known), a timeout and a size limit,
a User-Agent naming the bot, a cap on fetches at once and one fetch at a time per host.

Only http and https; loopback, private, link-local and reserved addresses are refused
unless allowed, at three points, so that no address reaches a socket unchecked:

1. each hop's URL is parsed by yarl, the very object aiohttp then requests, so its host
   is read after the same normalization (IDNA folds full-width digits and ideographic
   full stops into ``127.0.0.1``); an address in any spelling a C resolver accepts
   (``2130706433``, ``0177.0.0.1``, ``127.1``, ``0x7f.1``: whatever ``inet_aton``
   takes), and an IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64,
   6to4), is judged by the address it means;
2. a name is resolved by `GuardedResolver`, which drops every address feeds may not
   reach, so neither a redirect nor a DNS answer can lead there;
3. every socket is made by `SocketGuard`, which refuses an address that is not
   public, whatever the client library did before (aiohttp connects to an IP literal
   without asking the resolver, and before 3.14 took the legacy spellings for literals).

Every failure is a `FetchError` whose text says what happened.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import aiohttp
from yarl import URL

from bot.feeds.guard import (
    FetchError,
    GuardedResolver,
    Refused,
    SocketGuard,
    check_url,
    target,
)
from bot.i18n import N_
from util import KeyedLocks

if TYPE_CHECKING:
    pass

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


# What a refused address is, for "refused: {address} is {kind} (…)".


@cache  # reading the installed version scans the environment's packages: 3.5 ms
def _user_agent() -> str:
    try:
        release = version("newsbot")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        release = "dev"
    return f"newsbot/{release} (Telegram news digest bot; feed reader)"


class HttpStatusError(FetchError):
    """The server answered with a status that is no feed, no 304 and no redirect."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(N_("{status}"), status=line)
        self.status = status

    @property
    def lasting(self) -> bool:
        """A client error (404, 410, 403…) that fetching again soon will not mend; a
        server error, a timeout (408) or a rate limit (429) may pass."""
        return 400 <= self.status < 500 and self.status not in (408, 425, 429)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # final URL after redirects
    moved_to: str | None  # set when every redirect on the way was permanent
    not_modified: bool  # 304
    content: bytes  # b"" when not modified
    content_type: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    concurrency: int = 10
    allow_private: bool = False
    user_agent: str = ""
    # Addresses treated as public although they are not: a test's stand-in for a public
    # site (one loopback address) beside the private ones it must not reach.
    exempt: frozenset[str] = frozenset()


def connector(limits: FetchLimits) -> aiohttp.TCPConnector:
    """The connection pool feeds are fetched through: unless private addresses are
    allowed, every name is resolved by `GuardedResolver` and every socket made by
    `SocketGuard`."""
    guarded = not limits.allow_private
    return aiohttp.TCPConnector(
        limit=limits.concurrency,
        resolver=GuardedResolver(limits.exempt) if guarded else None,
        socket_factory=SocketGuard(limits.exempt) if guarded else None,
        ttl_dns_cache=300,
    )


class Fetcher:
    """Fetches feeds; owns one aiohttp session, opened on first use."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.user_agent = limits.user_agent or _user_agent()
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._hosts: KeyedLocks[str] = KeyedLocks()  # one fetch at a time per host

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=connector(self.limits),
                timeout=aiohttp.ClientTimeout(total=self.limits.timeout),
                headers={"User-Agent": self.user_agent, "Accept": _ACCEPT},
                auto_decompress=True,
            )
        return self._session

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, following redirects; raises `FetchError` only."""
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        allow_private, exempt = self.limits.allow_private, self.limits.exempt
        seen = {url}
        permanent = True
        current = url
        async with self._slots:
            for _ in range(MAX_REDIRECTS + 1):
                # Checked on every hop, as the object aiohttp requests: what is checked
                # is what is connected to.
                request = target(current, allow_private=allow_private, exempt=exempt)
                async with self._hosts(request.raw_host or ""):
                    outcome = await self._get(request, conditional)
                if isinstance(outcome, FetchResult):
                    moved = current if permanent and current != url else None
                    return FetchResult(
                        current, moved, outcome.not_modified, outcome.content,
                        outcome.content_type, outcome.etag, outcome.last_modified,
                    )  # fmt: skip
                status, location = outcome
                permanent = permanent and status in _PERMANENT
                current = check_url(
                    urljoin(current, location), allow_private=allow_private, exempt=exempt
                )
                if current in seen:
                    raise FetchError(
                        N_("redirect loop: {url} redirects back to itself"), url=current
                    )
                seen.add(current)
        raise FetchError(N_("too many redirects (more than {limit})"), limit=MAX_REDIRECTS)

    async def _get(self, url: URL, headers: dict[str, str]) -> FetchResult | tuple[int, str]:
        """One request: the result, or (status, location) of a redirect."""
        session = self._open()
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchError(
                            N_("HTTP {status} redirect without a Location"),
                            status=response.status,
                        )
                    return response.status, location
                if response.status == 304:
                    return self._result(url, response, b"", not_modified=True)
                if response.status != 200:
                    # The status line as the server sent it: it says all there is.
                    status = f"HTTP {response.status} {response.reason or ''}".rstrip()
                    raise HttpStatusError(response.status, status)
                return self._result(url, response, await self._read(response))
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(
                N_("timed out after {seconds} s"), seconds=f"{self.limits.timeout:g}"
            ) from None
        except aiohttp.ClientConnectorError as error:
            raise _connect_problem(error) from None
        except aiohttp.TooManyRedirects:  # pragma: no cover - redirects are followed here
            raise FetchError(N_("too many redirects")) from None
        except aiohttp.ClientPayloadError as error:
            raise FetchError(
                N_("the response body is broken: {error}"), error=_first_line(error)
            ) from None
        except aiohttp.InvalidURL:
            raise FetchError(N_("not a valid URL")) from None
        except aiohttp.ClientResponseError as error:
            raise FetchError(N_("invalid HTTP response: {error}"), error=error.message) from None
        except (aiohttp.ClientError, OSError, ValueError) as error:
            raise FetchError(N_("cannot fetch: {error}"), error=_first_line(error)) from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.limits.max_bytes
        too_big = _too_big(limit)
        declared = response.content_length
        if (
            declared is not None
            and declared > limit
            and "gzip" not in (response.headers.get("Content-Encoding") or "")
        ):
            raise too_big
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise too_big
        return bytes(body)

    @staticmethod
    def _result(
        url: URL, response: aiohttp.ClientResponse, content: bytes, *, not_modified: bool = False
    ) -> FetchResult:
        return FetchResult(
            url=str(url),
            moved_to=None,
            not_modified=not_modified,
            content=content,
            content_type=response.headers.get("Content-Type"),
            etag=(response.headers.get("ETag") or None),
            last_modified=(response.headers.get("Last-Modified") or None),
        )


def _too_big(limit: int) -> FetchError:
    megabytes = limit / (1024 * 1024)
    if megabytes >= 1:
        return FetchError(N_("the response is larger than {size} MB"), size=f"{megabytes:g}")
    return FetchError(N_("the response is larger than {size:,} bytes"), size=limit)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _connect_problem(error: aiohttp.ClientConnectorError) -> FetchError:
    cause: Any = error.os_error
    if isinstance(cause, Refused):
        return cause.problem
    host = f"{error.host}:{error.port}"
    if isinstance(error, aiohttp.ClientConnectorDNSError) or isinstance(cause, socket.gaierror):
        return FetchError(N_("DNS: no such host {host}"), host=error.host)
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return FetchError(N_("TLS certificate problem at {host}"), host=host)
    number = getattr(cause, "errno", None)
    # The operating system's words for it, as the logs have them.
    reason = os.strerror(number) if isinstance(number, int) else _first_line(cause or error)
    return FetchError(N_("cannot connect to {host}: {reason}"), host=host, reason=reason.lower())
