"""The feed guard: every spelling of a loopback, private or reserved address is refused,
by the URL check (as the HTTP client reads the host), on a redirect's hop, and at the
socket, whatever the client library would do with it. Each spelling is tried against a
real server on loopback with FEED_ALLOW_PRIVATE off, so a miss is a fetch that worked."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from bot.feeds.fetch import Fetcher, FetchLimits, connector
from bot.feeds.guard import FetchError, GuardedResolver, SocketGuard, check_url
from tests.auxil.feedserver import FeedServer

HINT = " (FEED_ALLOW_PRIVATE=true allows it, for tests)"
LOOPBACK = "a loopback address" + HINT
SECRET = "<rss version='2.0'><channel><title>internal</title></channel></rss>"

# Hosts that reach 127.0.0.1 (a C resolver, or yarl's IDNA, reads them so), and what the
# refusal says. {n} is the last part of the address: 1 here, 2 for the redirect test.
SPELLINGS = [
    ("127.0.0.{n}", "refused: 127.0.0.{n} is " + LOOPBACK),
    ("１２７.０.０.{wide}", "refused: 127.0.0.{n} is " + LOOPBACK),  # full-width digits
    ("127。0。0。{n}", "refused: 127.0.0.{n} is " + LOOPBACK),  # ideographic full stops
    ("127．0．0．{n}", "refused: 127.0.0.{n} is " + LOOPBACK),  # full-width full stops
    ("127｡0｡0｡{n}", "refused: 127.0.0.{n} is " + LOOPBACK),  # halfwidth ideographic
    ("①②⑦.0.0.{n}", "refused: 127.0.0.{n} is " + LOOPBACK),  # circled digits (NFKC)
    ("public.example@127.0.0.{n}", "refused: 127.0.0.{n} is " + LOOPBACK),  # userinfo
    ("user:pw@１２７.０.０.{wide}", "refused: 127.0.0.{n} is " + LOOPBACK),
    ("{decimal}", "refused: {decimal} means 127.0.0.{n}, " + LOOPBACK),  # 2130706433
    ("0177.0.0.{n}", "refused: 0177.0.0.{n} means 127.0.0.{n}, " + LOOPBACK),  # octal
    ("{octal}", "refused: {octal} means 127.0.0.{n}, " + LOOPBACK),  # 017700000001
    ("127.{n}", "refused: 127.{n} means 127.0.0.{n}, " + LOOPBACK),  # short forms
    ("127.0.{n}", "refused: 127.0.{n} means 127.0.0.{n}, " + LOOPBACK),
    ("0x7f.{n}", "refused: 0x7f.{n} means 127.0.0.{n}, " + LOOPBACK),  # hex
    ("0X7F.0.0.{n}", "refused: 0x7f.0.0.{n} means 127.0.0.{n}, " + LOOPBACK),  # upper case
    ("0x7f00000{n}", "refused: 0x7f00000{n} means 127.0.0.{n}, " + LOOPBACK),
    ("０x7f.{wide}", "refused: 0x7f.{n} means 127.0.0.{n}, " + LOOPBACK),  # full-width 0
    ("127.000.000.00{n}", "refused: 127.000.000.00{n} means 127.0.0.{n}, " + LOOPBACK),
    ("127.0.0.{n}.", "refused: 127.0.0.{n}. means 127.0.0.{n}, " + LOOPBACK),  # trailing dot
    ("127。0。0。{n}。", "refused: 127.0.0.{n}. means 127.0.0.{n}, " + LOOPBACK),
    ("[::ffff:127.0.0.{n}]", "refused: ::ffff:7f00:{n} means 127.0.0.{n}, " + LOOPBACK),
    ("[::FFFF:7F00:{n}]", "refused: ::ffff:7f00:{n} means 127.0.0.{n}, " + LOOPBACK),
    ("[::127.0.0.{n}]", "refused: ::7f00:{n} means 127.0.0.{n}, " + LOOPBACK),  # compatible
    ("[64:ff9b::127.0.0.{n}]", "refused: 64:ff9b::7f00:{n} means 127.0.0.{n}, " + LOOPBACK),
    ("[2002:7f00:{n}::]", "refused: 2002:7f00:{n}:: means 127.0.0.{n}, " + LOOPBACK),  # 6to4
    ("[::ffff:0:7f00:{n}]", "refused: ::ffff:0:7f00:{n} means 127.0.0.{n}, " + LOOPBACK),
]
# Hosts that are loopback whatever the address: names, IPv6, the unspecified address.
LOOPBACK_HOSTS = [
    ("localhost", "refused: localhost is " + LOOPBACK),
    ("LOCALHOST", "refused: localhost is " + LOOPBACK),
    ("localhost.", "refused: localhost. is " + LOOPBACK),
    ("ＬＯＣＡＬＨＯＳＴ", "refused: localhost is " + LOOPBACK),
    ("feeds.localhost", "refused: feeds.localhost is " + LOOPBACK),
    ("[::1]", "refused: ::1 is " + LOOPBACK),
    ("[0:0:0:0:0:0:0:1]", "refused: ::1 is " + LOOPBACK),
    ("[::1%25lo]", "refused: ::1%lo is " + LOOPBACK),  # a zone id
    ("0", "refused: 0 means 0.0.0.0, the unspecified address, which reaches this machine"),
    ("0.0.0.0", "refused: 0.0.0.0 is the unspecified address, which reaches this machine"),
    ("[::]", "refused: :: is the unspecified address, which reaches this machine"),
]
# Other addresses feeds may not reach (nothing listens there: the check comes first).
PRIVATE = "a private address" + HINT
LINK_LOCAL = "a link-local address (cloud metadata is served there)" + HINT
RESERVED = "a reserved address, not a public one" + HINT
OTHER_HOSTS = [
    ("10.1.2.3", "refused: 10.1.2.3 is " + PRIVATE),
    ("012.1.2.3", "refused: 012.1.2.3 means 10.1.2.3, " + PRIVATE),
    ("167772161", "refused: 167772161 means 10.0.0.1, " + PRIVATE),
    ("172.16.0.1", "refused: 172.16.0.1 is " + PRIVATE),
    ("192.168.0.1", "refused: 192.168.0.1 is " + PRIVATE),
    ("100.64.0.1", "refused: 100.64.0.1 is " + PRIVATE),  # carrier-grade NAT
    ("[fd12:3456::1]", "refused: fd12:3456::1 is " + PRIVATE),
    ("[fd00:ec2::254]", "refused: fd00:ec2::254 is " + PRIVATE),  # AWS metadata, IPv6
    ("[::ffff:192.168.0.1]", "refused: ::ffff:c0a8:1 means 192.168.0.1, " + PRIVATE),
    ("[64:ff9b::10.0.0.1]", "refused: 64:ff9b::a00:1 means 10.0.0.1, " + PRIVATE),
    ("[2002:a00:1::1]", "refused: 2002:a00:1::1 means 10.0.0.1, " + PRIVATE),
    ("169.254.169.254", "refused: 169.254.169.254 is " + LINK_LOCAL),
    ("2852039166", "refused: 2852039166 means 169.254.169.254, " + LINK_LOCAL),
    ("0xa9.0xfe.0xa9.0xfe", "refused: 0xa9.0xfe.0xa9.0xfe means 169.254.169.254, " + LINK_LOCAL),
    ("[::ffff:a9fe:a9fe]", "refused: ::ffff:a9fe:a9fe means 169.254.169.254, " + LINK_LOCAL),
    ("[fe80::1%25eth0]", "refused: fe80::1%eth0 is " + LINK_LOCAL),
    ("224.0.0.1", "refused: 224.0.0.1 is a multicast address" + HINT),
    ("[ff02::1]", "refused: ff02::1 is a multicast address" + HINT),
    ("240.0.0.1", "refused: 240.0.0.1 is " + RESERVED),
    ("255.255.255.255", "refused: 255.255.255.255 is " + RESERVED),
    ("192.0.2.1", "refused: 192.0.2.1 is " + RESERVED),  # documentation
    ("198.18.0.1", "refused: 198.18.0.1 is " + RESERVED),  # benchmarking
    ("[2001:db8::1]", "refused: 2001:db8::1 is " + RESERVED),
    ("[64:ff9b:1::7f00:1]", "refused: 64:ff9b:1::7f00:1 is " + RESERVED),  # local-use NAT64
    ("[2001:0:4136:e378::1]", "refused: 2001:0:4136:e378::1 is " + RESERVED),  # Teredo
]
# Hosts no client may read one way and a resolver another, refused whatever the setting.
MALFORMED = [
    ("%31%32%37.0.0.1", "not a valid host name: %31%32%37.0.0.1"),  # percent-encoded
    ("127.0.0.1%2e", "not a valid host name: 127.0.0.1%2e"),
    ("999.1.1.1", "not a valid IPv4 address: 999.1.1.1"),
    ("1.2.3.4.5", "not a valid IPv4 address: 1.2.3.4.5"),
    ("0x.1", "not a valid IPv4 address: 0x.1"),
    ("127.0.0.1\\@public.example", "not a valid URL: Invalid URL: backslash"),
    ("public.example\\@127.0.0.1", "not a valid URL: Invalid URL: backslash"),
    ("1\u200b27.0.0.1", "not a valid URL: Host "),  # a zero-width space
    ("134744072", "134744072 is not the usual way to write the address 8.8.8.8; write 8.8.8.8"),
    ("8.8.8.8.", "8.8.8.8. is not the usual way to write the address 8.8.8.8; write 8.8.8.8"),
    ("010.8.8.8", "010.8.8.8 is not the usual way to write the address 8.8.8.8; write 8.8.8.8"),
]


def spelled(template: str, n: int) -> str:
    return template.format(
        n=n, wide=chr(0xFF10 + n), decimal=0x7F000000 + n, octal=f"0{0x7F000000 + n:o}"
    )


def spellings(n: int) -> list[tuple[str, str]]:
    return [(spelled(host, n), spelled(reason, n)) for host, reason in SPELLINGS]


@pytest.mark.parametrize(
    ("host", "reason"), [*spellings(1), *LOOPBACK_HOSTS, *OTHER_HOSTS, *MALFORMED]
)
def test_every_spelling_of_an_address_feeds_may_not_reach_is_refused(
    host: str, reason: str
) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(f"http://{host}:8080/feed.xml")
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "no URL given"),
        ("ftp://example.com/feed", "only http and https URLs are polled, not ftp:"),
        ("file:///etc/passwd", "only http and https URLs are polled, not file:"),
        ("javascript:alert(1)", "only http and https URLs are polled, not javascript:"),
        ("gopher://127.0.0.1:70/", "only http and https URLs are polled, not gopher:"),
        ("example.com/rss", "only http and https URLs are polled, not a URL without http"),
        ("http://", "the URL has no host name"),
        ("http://exa mple.com/", "the URL contains spaces"),
        ("http://example.com:99999/", "not a valid URL: Port out of range"),
        ("http://example.com:0/", "the URL's port is 0"),
        ("http://[::1]x/", "not a valid URL"),
        ("http://[::1/", "not a valid URL: Invalid IPv6 URL"),
        ("http://127.0.0.1:80:80/", "not a valid URL"),
        ("http://xn--/", "not a valid URL"),
        ("http://" + "a" * 2050 + ".com/", "the URL is longer than 2,048 characters"),
    ],
)
def test_urls_that_are_not_feeds_are_refused(url: str, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
        ("HTTPS://Example.COM/Feed.xml", "https://example.com/Feed.xml"),  # the path as given
        ("http://ｅｘａｍｐｌｅ.com/rss", "http://example.com/rss"),  # as the client reads it
        ("http://example。com:8080/rss", "http://example.com:8080/rss"),
        ("http://user:PW@Example.com/rss", "http://user:PW@example.com/rss"),
        ("http://8.8.8.8/rss", "http://8.8.8.8/rss"),
        ("http://[2606:4700:4700::1111]/rss", "http://[2606:4700:4700::1111]/rss"),
        ("http://[64:ff9b::8.8.8.8]/rss", "http://[64:ff9b::808:808]/rss"),  # NAT64, public
        ("http://пример.укр/rss", "http://пример.укр/rss"),
        ("http://xn--80ak6aa92e.com/", "http://xn--80ak6aa92e.com/"),  # not as аррӏе.com
        ("http://example.com:８０/rss", "http://example.com:80/rss"),
    ],
)
def test_public_urls_are_kept_in_the_form_the_client_reads(url: str, stored: str) -> None:
    assert check_url(url) == stored


def test_private_addresses_are_allowed_when_the_setting_says_so() -> None:
    assert check_url("http://１２７.０.０.１:8080/f", allow_private=True) == (
        "http://127.0.0.1:8080/f"
    )
    assert check_url("http://localhost/f", allow_private=True) == "http://localhost/f"
    # A legacy spelling is refused even then: clients disagree about what it is.
    with pytest.raises(FetchError, match=r"not the usual way to write the address 127\.0\.0\.1"):
        check_url("http://2130706433/f", allow_private=True)


async def failure(limits: FetchLimits, url: str) -> str:
    async with Fetcher(limits) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    return str(caught.value)


GUARDED = FetchLimits(timeout=2.0, allow_private=False)


@pytest.mark.parametrize(("host", "reason"), [*spellings(1), *LOOPBACK_HOSTS])
async def test_a_feed_on_loopback_is_never_fetched_in_any_spelling(
    feed_server: FeedServer, host: str, reason: str
) -> None:
    """The feed server is up on 127.0.0.1: a spelling the guard missed would fetch it."""
    url = f"http://{host}:{feed_server.port}/feed.xml"
    feed_server.serve("/feed.xml", SECRET)
    assert (await failure(GUARDED, url)).startswith(reason)
    assert feed_server.requests == []


@pytest.mark.parametrize(("host", "reason"), spellings(2))
async def test_a_public_feed_redirecting_to_loopback_is_refused_on_the_hop(
    feed_server: FeedServer, host: str, reason: str
) -> None:
    """127.0.0.1 stands for a public site (exempt), 127.0.0.2 for the internal network."""
    await feed_server.listen_on("127.0.0.2")
    feed_server.serve("/internal.xml", SECRET)
    public = FetchLimits(timeout=2.0, exempt=frozenset({"127.0.0.1"}))
    feed_server.redirect("/moved.xml", f"http://{host}:{feed_server.port}/internal.xml")
    assert (await failure(public, feed_server.url("/moved.xml"))).startswith(reason)
    assert feed_server.answered("/internal.xml") == []
    # The same redirect to the "public" address is followed: the refusal was the guard's.
    feed_server.redirect("/moved.xml", feed_server.url("/internal.xml"))
    async with Fetcher(public) as fetcher:
        fetched = await fetcher.fetch(feed_server.url("/moved.xml"))
    assert fetched.content == SECRET.encode()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "refused: 127.0.0.1 is " + LOOPBACK),
        ("[::ffff:127.0.0.1]", "refused: ::ffff:7f00:1 means 127.0.0.1, " + LOOPBACK),
        ("[64:ff9b::7f00:1]", "refused: 64:ff9b::7f00:1 means 127.0.0.1, " + LOOPBACK),
        ("[::1]", "refused: ::1 is " + LOOPBACK),
        ("localhost", "refused: localhost resolves to 127.0.0.1, not a public address" + HINT),
        # aiohttp before 3.14 took these for literals and connected: the socket refuses.
        ("2130706433", "refused: 2130706433 means 127.0.0.1, " + LOOPBACK),
        ("127.1", "refused: 127.1 means 127.0.0.1, " + LOOPBACK),
    ],
)
async def test_the_connection_itself_refuses_what_the_url_check_would(
    feed_server: FeedServer, host: str, reason: str
) -> None:
    """Past the URL check (a plain aiohttp session on the guarded connector), nothing
    that is not public reaches a socket: names through the resolver, literals at the
    socket. (aiohttp 3.14 refuses the legacy spellings before connecting, itself.)"""
    feed_server.serve("/feed.xml", SECRET)
    async with aiohttp.ClientSession(connector=connector(GUARDED)) as session:
        with pytest.raises(aiohttp.ClientError) as caught:
            await session.get(f"http://{host}:{feed_server.port}/feed.xml")
    assert feed_server.requests == []
    if isinstance(caught.value, aiohttp.ClientConnectorError):
        assert str(caught.value.os_error) == reason
    else:
        assert isinstance(caught.value, aiohttp.InvalidUrlClientError), caught.value


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2130706433", "refused: 2130706433 means 127.0.0.1, " + LOOPBACK),  # aiohttp < 3.14
        ("127.1", "refused: 127.1 means 127.0.0.1, " + LOOPBACK),
        ("10.0.0.1", "refused: 10.0.0.1 is " + PRIVATE),
        ("::ffff:127.0.0.1", "refused: ::ffff:127.0.0.1 means 127.0.0.1, " + LOOPBACK),
        ("localhost", "not a valid host name: localhost"),  # connect() would resolve it
    ],
)
def test_no_socket_is_made_for_an_address_that_is_not_public(address: str, reason: str) -> None:
    guard = SocketGuard()
    with pytest.raises(OSError, match=r"^(refused: |not a valid host name)") as caught:
        guard((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 80)))
    assert str(caught.value) == reason
    public = guard((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)))
    public.close()


async def test_a_name_that_resolves_to_loopback_is_refused_by_the_resolver() -> None:
    resolver = GuardedResolver()
    try:
        with pytest.raises(OSError, match=r"^refused: localhost resolves to") as caught:
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    assert str(caught.value) == (
        "refused: localhost resolves to 127.0.0.1, not a public address" + HINT
    )
