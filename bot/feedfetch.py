"""Fetching feeds over HTTP as a good citizen, and safely.

Conditional GET (ETag, Last-Modified), gzip, redirects followed one hop at a time (so
that each hop is checked, and a permanent move is known), a timeout and a size limit,
a User-Agent naming the bot, a cap on fetches at once and one fetch at a time per host.
Only http and https; loopback, private, link-local and reserved addresses are refused
unless allowed: checked on the URL's literal address and, at connection time, on every
address a name resolves to, so neither a redirect nor a DNS answer can reach them.
Every failure is a `FetchError` whose text says what happened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.i18n import N_, Problem

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


def _user_agent() -> str:
    try:
        release = version("newsbot")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        release = "dev"
    return f"newsbot/{release} (Telegram news digest bot; feed reader)"


class FetchError(Problem):
    """A fetch failed; str() is a one-line reason for the admin (in English; see
    `bot.i18n.Problem`)."""


class _Refused(OSError):
    """Every address the name resolves to is one feeds may not reach."""

    def __init__(self, host: str, addresses: str) -> None:
        super().__init__(f"refused: {host} resolves to {addresses}, not a public address")
        self.host = host
        self.addresses = addresses


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


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool = False) -> str:
    """``url`` if feeds may be fetched from it; raises `FetchError` saying why not."""
    if not url:
        raise FetchError(N_("no URL given"))
    if len(url) > 2048:
        raise FetchError(N_("the URL is longer than 2,048 characters"))
    if any(ch.isspace() for ch in url):
        raise FetchError(N_("the URL contains spaces"))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(N_("not a valid URL: {error}"), error=str(error)) from None
    if parts.scheme.lower() not in ("http", "https"):
        if not parts.scheme:
            raise FetchError(
                N_("only http and https URLs are polled, not a URL without http:// or https://")
            )
        raise FetchError(
            N_("only http and https URLs are polled, not {scheme}:"), scheme=parts.scheme
        )
    host = parts.hostname
    if not host:
        raise FetchError(N_("the URL has no host name"))
    if port == 0:
        raise FetchError(N_("the URL's port is 0"))
    literal = _literal_ip(host)
    if literal is not None and not allow_private and not is_public(literal):
        raise FetchError(
            N_("refused: {address} is a loopback, private or reserved address"), address=literal
        )
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise FetchError(N_("refused: {host} is a loopback address"), host=host)
    # Scheme and host are case-insensitive: HTTP://Example.COM/rss is the same feed as
    # http://example.com/rss, and must not be added twice. The path is kept as given.
    netloc = parts.netloc
    if "@" not in netloc:
        netloc = netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


class GuardedResolver(AbstractResolver):
    """The default resolver, with every address feeds may not reach dropped."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [result for result in found if is_public(result["host"])]
        if not allowed:
            shown = ", ".join(sorted({r["host"] for r in found})[:3])
            raise _Refused(host, shown)
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class Fetcher:
    """Fetches feeds; owns one aiohttp session, opened on first use."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.user_agent = limits.user_agent or _user_agent()
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.limits.concurrency,
                resolver=None if self.limits.allow_private else GuardedResolver(),
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.limits.timeout),
                headers={"User-Agent": self.user_agent, "Accept": _ACCEPT},
                auto_decompress=True,
            )
        return self._session

    @asynccontextmanager
    async def _host(self, host: str) -> AsyncIterator[None]:
        """One fetch at a time per host; the lock goes when nobody holds or waits."""
        lock, users = self._hosts.get(host, (asyncio.Lock(), 0))
        self._hosts[host] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._hosts[host]
            if users == 1:
                del self._hosts[host]
            else:
                self._hosts[host] = (lock, users - 1)

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, following redirects; raises `FetchError` only."""
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        seen = {url}
        permanent = True
        current = url
        async with self._slots:
            for _ in range(MAX_REDIRECTS + 1):
                check_url(current, allow_private=self.limits.allow_private)
                host = urlsplit(current).hostname or ""
                async with self._host(host):
                    outcome = await self._get(current, conditional)
                if isinstance(outcome, FetchResult):
                    moved = current if permanent and current != url else None
                    return FetchResult(
                        current, moved, outcome.not_modified, outcome.content,
                        outcome.content_type, outcome.etag, outcome.last_modified,
                    )  # fmt: skip
                status, location = outcome
                permanent = permanent and status in _PERMANENT
                current = urljoin(current, location)
                if current in seen:
                    raise FetchError(
                        N_("redirect loop: {url} redirects back to itself"), url=current
                    )
                seen.add(current)
        raise FetchError(N_("too many redirects (more than {limit})"), limit=MAX_REDIRECTS)

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult | tuple[int, str]:
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
                    raise FetchError(N_("{status}"), status=status)
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
        url: str, response: aiohttp.ClientResponse, content: bytes, *, not_modified: bool = False
    ) -> FetchResult:
        return FetchResult(
            url=url,
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
    if isinstance(cause, _Refused):
        return FetchError(
            N_("refused: {host} resolves to {addresses}, not a public address"),
            host=cause.host,
            addresses=cause.addresses,
        )
    host = f"{error.host}:{error.port}"
    if isinstance(error, aiohttp.ClientConnectorDNSError) or isinstance(cause, socket.gaierror):
        return FetchError(N_("DNS: no such host {host}"), host=error.host)
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return FetchError(N_("TLS certificate problem at {host}"), host=host)
    number = getattr(cause, "errno", None)
    # The operating system's words for it, as the logs have them.
    reason = os.strerror(number) if isinstance(number, int) else _first_line(cause or error)
    return FetchError(N_("cannot connect to {host}: {reason}"), host=host, reason=reason.lower())
