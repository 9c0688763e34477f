"""The feed guard: which addresses feeds may reach. Every URL is checked as the HTTP
client will connect to it (after yarl's normalization), on every hop, and every name
resolved and socket opened is checked again, so no spelling of a private address
(decimal, octal, Unicode digits, NAT64, 6to4, IPv4-compatible) reaches one."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.i18n import N_, Msg, Problem

if TYPE_CHECKING:
    from aiohappyeyeballs import AddrInfoType


MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK = N_("a loopback address")

_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",  # shared (CGNAT)
        "fc00::/7", "fec0::/10",  # unique local, and the old site-local
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the IPv4 is the tail
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use translation (RFC 8215)
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible, ::127.0.0.1
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT's IPv4-translated
# Characters a host name may have once yarl has made it ASCII (IDNA): letters, digits, "-"
# and "." (and "_", which DNS tolerates). Anything else (a "%" of percent-encoding) is
# refused rather than handed to a resolver that might read it some other way.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# What inet_aton may read as a number: decimal, octal (leading 0) or hex (0x) parts.
_NUMERIC = re.compile(r"[0-9a-fx.]+")
_NUMBER_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


class FetchError(Problem):
    """A fetch failed; str() is a one-line reason for the admin (in English; see
    `bot.i18n.Problem`)."""


class Refused(OSError):
    """An address feeds may not reach, met while resolving or connecting."""

    def __init__(self, problem: FetchError) -> None:
        super().__init__(str(problem))
        self.problem = problem


# ---------------------------------------------------------------------- addresses


def parse_address(host: str) -> IPAddress | None:
    """The address ``host`` is as a C resolver reads it, or None for a name: an IPv6
    literal (a zone id allowed), or an IPv4 one in any spelling ``inet_aton`` accepts,
    ``127.0.0.1`` as much as ``2130706433``, ``0177.0.0.1``, ``127.1`` or ``0x7f.1``."""
    host = host.strip("[]")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(unquote(host))
        except ValueError:
            return None
    if not _NUMERIC.fullmatch(host.lower()):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped (``::ffff:127.0.0.1``),
    IPv4-compatible (``::127.0.0.1``), IPv4-translated, NAT64 (``64:ff9b::127.0.0.1``)
    and 6to4 (``2002:7f00:1::``); None for any other."""
    if ip.is_loopback or ip.is_unspecified:  # ::1 and :: are in ::/96 too
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in (_NAT64, _COMPATIBLE, _TRANSLATED)):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# The first that applies names an address feeds may not be fetched from.
_KINDS: tuple[tuple[Callable[[IPAddress], bool], Msg], ...] = (
    (lambda ip: ip.is_loopback, LOOPBACK),
    (lambda ip: ip.is_unspecified, N_("the unspecified address, which reaches this machine")),
    (lambda ip: ip.is_link_local, N_("a link-local address (cloud metadata is served there)")),
    (lambda ip: ip.is_multicast, N_("a multicast address")),
    (lambda ip: any(ip in net for net in _PRIVATE), N_("a private address")),
    (
        lambda ip: ip in _NAT64_LOCAL or ip.is_reserved or not ip.is_global,
        N_("a reserved address, not a public one"),
    ),
)


def refusal_kind(ip: IPAddress) -> Msg | None:
    """What kind of address ``ip`` is when feeds may not be fetched from it (the words
    for "refused: … is {kind}"); None when it is public. An IPv6 address that stands for
    an IPv4 one is what that IPv4 address is."""
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)) is not None:
        return refusal_kind(inner)
    return next((kind for applies, kind in _KINDS if applies(ip)), None)


def _refusal(ip: IPAddress, exempt: frozenset[str]) -> Msg | None:
    return None if str(ip) in exempt else refusal_kind(ip)


def is_public(address: str, exempt: frozenset[str] = frozenset()) -> bool:
    """May a socket connect to ``address`` (as a resolver or a socket reads it)?"""
    ip = parse_address(address)
    return ip is not None and _refusal(ip, exempt) is None


def _refused(shown: str, kind: Msg, meant: IPAddress | None = None) -> FetchError:
    """ "refused: 127.0.0.1 is a loopback address (…)"; with ``meant``, the address another
    spelling stands for: "refused: 2130706433 means 127.0.0.1, a loopback address (…)"."""
    if isinstance(meant, ipaddress.IPv6Address):
        meant = embedded_ipv4(meant) or meant  # ::ffff:7f00:1 means 127.0.0.1
    if meant is None or str(meant) == shown:
        return FetchError(
            N_("refused: {address} is {kind} (FEED_ALLOW_PRIVATE=true allows it, for tests)"),
            address=shown,
            kind=kind,
        )
    return FetchError(
        N_(
            "refused: {host} means {address}, {kind} "
            "(FEED_ALLOW_PRIVATE=true allows it, for tests)"
        ),
        host=shown,
        address=str(meant),
        kind=kind,
    )


def _check_host(raw_host: str, *, allow_private: bool, exempt: frozenset[str]) -> None:
    """Raises `FetchError` unless a socket may be opened for ``raw_host``: the host exactly
    as aiohttp will connect to it (yarl's ``raw_host``)."""
    shown = raw_host[:100]
    host = raw_host.lower()
    if ":" not in host:
        host = host.rstrip(".")  # "localhost." and "127.0.0.1." are those hosts
    ip = parse_address(host)
    if ip is None:
        if ":" in host or not _HOST_NAME.fullmatch(host):
            raise FetchError(N_("not a valid host name: {host}"), host=shown)
        if _NUMBER_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
            # Ends in a number, yet no address: "999.1.1.1", "1.2.3.4.5".
            raise FetchError(N_("not a valid IPv4 address: {host}"), host=shown)
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise _refused(shown, LOOPBACK)
        return
    kind = _refusal(ip, exempt)
    if kind is not None and not allow_private:
        raise _refused(shown if isinstance(ip, ipaddress.IPv4Address) else str(ip), kind, ip)
    if isinstance(ip, ipaddress.IPv4Address) and str(ip) != raw_host:
        # 2130706433, 0x7f.1, 127.1, 8.8.8.8.: what one resolver reads as an address,
        # another reads as a name (and aiohttp refuses them since 3.14).
        raise FetchError(
            N_("{host} is not the usual way to write the address {address}; write {address}"),
            host=shown,
            address=str(ip),
        )


def target(url: str, *, allow_private: bool = False, exempt: frozenset[str] = frozenset()) -> URL:
    """``url`` as the object aiohttp will request, once checked: raises `FetchError`
    saying why feeds may not be fetched from it."""
    if not url:
        raise FetchError(N_("no URL given"))
    if len(url) > MAX_URL_LENGTH:
        raise FetchError(N_("the URL is longer than 2,048 characters"))
    if any(ch.isspace() for ch in url):
        raise FetchError(N_("the URL contains spaces"))
    try:
        scheme = urlsplit(url).scheme
    except ValueError as error:  # an unclosed "[" of an IPv6 address
        raise FetchError(N_("not a valid URL: {error}"), error=str(error)) from None
    if scheme.lower() not in ("http", "https"):
        if not scheme:
            raise FetchError(
                N_("only http and https URLs are polled, not a URL without http:// or https://")
            )
        raise FetchError(N_("only http and https URLs are polled, not {scheme}:"), scheme=scheme)
    try:
        parsed = URL(url)
        port = parsed.port
        parsed.host  # noqa: B018 - decoding an IDNA name can fail too ("xn--")
    except (ValueError, UnicodeError) as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise FetchError(N_("not a valid URL: {error}"), error=reason) from None
    if not parsed.raw_host:
        raise FetchError(N_("the URL has no host name"))
    if port == 0:
        raise FetchError(N_("the URL's port is 0"))
    _check_host(parsed.raw_host, allow_private=allow_private, exempt=exempt)
    return parsed


def check_url(
    url: str, *, allow_private: bool = False, exempt: frozenset[str] = frozenset()
) -> str:
    """``url`` if feeds may be fetched from it, in the form it is stored in; raises
    `FetchError` saying why not."""
    checked = target(url, allow_private=allow_private, exempt=exempt)
    parts = urlsplit(url)
    # The host as the client reads it, so that one feed is not added twice under two
    # spellings: IDNA folds full-width letters and digits and other dots (ｅｘａｍｐｌｅ.com
    # is example.com), and scheme and host are case-insensitive (HTTP://Example.COM/rss
    # is http://example.com/rss). A host typed in ASCII stays ASCII (xn--80ak6aa92e.com
    # is not shown as the look-alike it encodes); the path is kept as given.
    typed = parts.netloc.rpartition("@")[2]
    host = (checked.raw_host if typed.isascii() else checked.host) or ""
    netloc = f"[{checked.raw_host}]" if ":" in host else host
    if checked.explicit_port is not None:
        netloc += f":{checked.explicit_port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


class GuardedResolver(AbstractResolver):
    """The default resolver, with every address feeds may not reach dropped."""

    def __init__(self, exempt: frozenset[str] = frozenset()) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._exempt = exempt

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [result for result in found if is_public(result["host"], self._exempt)]
        if not allowed:
            shown = ", ".join(sorted({r["host"] for r in found})[:3])
            raise Refused(
                FetchError(
                    N_(
                        "refused: {host} resolves to {addresses}, not a public address "
                        "(FEED_ALLOW_PRIVATE=true allows it, for tests)"
                    ),
                    host=host,
                    addresses=shown,
                )
            )
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class SocketGuard:
    """Makes the socket for each address aiohttp is about to connect to, if it is public:
    the last check, which sees the address itself however aiohttp came by it (an IP
    literal never passes through the resolver)."""

    def __init__(self, exempt: frozenset[str] = frozenset()) -> None:
        self._exempt = exempt

    def __call__(self, addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        ip = parse_address(address)
        if ip is None:  # a name here would be resolved by connect(), unchecked
            raise Refused(FetchError(N_("not a valid host name: {host}"), host=address[:100]))
        problem = _refusal(ip, self._exempt)
        if problem is not None:
            raise Refused(_refused(address, problem, ip))
        return socket.socket(family=family, type=kind, proto=proto)
