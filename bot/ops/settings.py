"""Checks of the production settings (WEBHOOK_*, METRICS_LISTEN, LOG_FORMAT, ALERT_*),
called from `bot.config`'s validators. Pure: no telegram, no database."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

# Telegram's rule for secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_NAMES = {"localhost"}
LOG_FORMATS = ("text", "json")


class Listen(NamedTuple):
    """An address to listen on."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self}"


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(value: str, *, default_host: str = "127.0.0.1") -> Listen:
    """``HOST:PORT``, ``[IPv6]:PORT`` or a bare ``PORT`` (on ``default_host``)."""
    text = value.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = default_host, text
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT or PORT, e.g. 127.0.0.1:8443; got {value!r}")
    return Listen(host, int(port))


def check_webhook_url(value: str) -> str:
    """Empty (polling), or the public HTTPS URL Telegram posts updates to. Plain HTTP is
    accepted on loopback only: that is the emulator, which the tests and the demo use."""
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.fragment or url.endswith("#"):
        raise ValueError(
            f"a #fragment is never sent to the server, so the path it seems to name cannot "
            f"be served; use a path, e.g. https://bot.example.org/telegram; got {value!r}"
        )
    if "%2f" in parts.path.lower() or "%5c" in parts.path.lower():
        raise ValueError(
            f"an escaped / or \\ (%2F, %5C) in the path is served as a plain one by some "
            f"proxies and not by others; use a path without it; got {value!r}"
        )
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise ValueError(
        f"expected the public https:// URL Telegram sends updates to, e.g. "
        f"https://bot.example.org/telegram (http:// only on loopback); got {value!r}"
    )


def webhook_path(url: str) -> str:
    """The path the webhook is served at: the URL's (a reverse proxy passes it on), its
    %-escapes decoded, as the server matches a request's path."""
    return unquote(urlsplit(url).path) or "/"


def check_secret(value: str) -> str:
    if value and not _SECRET.fullmatch(value):
        raise ValueError(
            "expected 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for "
            "secret_token), e.g. from `openssl rand -hex 32`"
        )
    return value


def check_log_format(value: str) -> str:
    form = value.strip().lower()
    if form not in LOG_FORMATS:
        raise ValueError(f"expected text or json; got {value!r}")
    return form


def check_alert_chat(value: str | None) -> str | None:
    """Unset (None): the admins' private chats; empty: no alerts; else a chat id."""
    if value is None:
        return None
    text = value.strip()
    if text and not re.fullmatch(r"-?[0-9]{1,20}", text):
        raise ValueError(
            f"expected a numeric chat id (e.g. -1001234567890), or empty for no alerts; "
            f"got {value!r}"
        )
    return text
