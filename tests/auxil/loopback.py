"""HTTP clients of the tests that speak to the emulator on loopback, sharing one TLS
context (emulator.client.loopback_tls) instead of loading the CA bundle each."""

from __future__ import annotations

from telegram.request import HTTPXRequest

from emulator.client import loopback_tls


def loopback_request() -> HTTPXRequest:
    """python-telegram-bot's own default request, for a bare `Bot` on the emulator."""
    return HTTPXRequest(httpx_kwargs={"verify": loopback_tls()})
