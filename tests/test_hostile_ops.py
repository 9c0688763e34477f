"""Hostile conditions for the ops endpoints and settings: the database gone mid-run,
settings an admin gets wrong, backups and restores of the wrong file."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import ConfigError, Settings, load_settings
from bot.ops.service import Served, serving
from bot.telegram.app import build_application, running
from bot.telegram.context import BotApplication
from storage.db import create_engine
from tests.auxil.clock import FakeClock
from tests.auxil.running import free_port


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


@pytest.fixture
def ops_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_listen": f"127.0.0.1:{free_port()}"})


@pytest.fixture
async def served(
    ops_settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[BotApplication, Served]]:
    app = build_application(ops_settings, clock=clock, delivery=False, feeds=False)
    async with (
        running(app, polling=True, poll_timeout=1),
        serving(app, ops_settings, answers=True, delivery=False) as served,
    ):
        yield app, served


async def test_readyz_names_the_database_when_it_is_gone_mid_run(
    served: tuple[BotApplication, Served], ops_settings: Settings
) -> None:
    base = f"http://{ops_settings.metrics_listen}"
    status, body = await _get(f"{base}/readyz")
    assert status == 200, body
    url = ops_settings.database_url
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink()
    else:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()
    status, body = await _get(f"{base}/readyz")
    assert status == 503, body
    assert body.splitlines()[0].startswith("FAIL database: "), body
    assert await _get(f"{base}/healthz") == (200, "ok\n")


@pytest.mark.parametrize(
    ("url", "secret", "named"),
    [
        ("http://bot.example.org/tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https://bot.example.org/tg#x", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("https://bot.example.org/#/tg", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("https://bot.example.org/tg#", "abc", "WEBHOOK_URL: a #fragment is never sent"),
        ("ftp://bot.example.org/tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https:///tg", "abc", "WEBHOOK_URL: expected the public https:// URL"),
        ("https://bot.example.org/tg", "ab c", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", " abc", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "абв", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "a" * 257, "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "a=b", "WEBHOOK_SECRET: expected 1-256 characters"),
        ("https://bot.example.org/tg", "", "WEBHOOK_SECRET: required with WEBHOOK_URL"),
    ],
)
def test_a_wrong_webhook_setting_is_named(url: str, secret: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(webhook_url=url, webhook_secret=secret)
    assert str(raised.value).startswith(named), str(raised.value)
    assert secret not in str(raised.value) or not secret.strip()  # a secret is never echoed


async def test_metrics_on_every_address_is_served_with_a_warning(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    wide = settings.model_copy(update={"metrics_listen": f"0.0.0.0:{port}"})
    app = build_application(wide, clock=clock, delivery=False, feeds=False)
    with caplog.at_level(logging.WARNING, "bot.ops.service"):
        async with running(app, polling=False), serving(app, wide, answers=True, delivery=False):
            assert (await _get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
    assert [r.getMessage() for r in caplog.records if r.name == "bot.ops.service"] == [
        f"METRICS_LISTEN is 0.0.0.0:{port}, not loopback: /metrics and /readyz (which names "
        "the database's trouble) answer anyone who reaches this host; keep it behind a "
        "firewall, or listen on 127.0.0.1"
    ]


async def test_a_port_in_use_is_named_by_its_setting(
    settings: Settings, clock: FakeClock
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = settings.model_copy(update={"metrics_listen": f"127.0.0.1:{port}"})
        app = build_application(busy, clock=clock, delivery=False, feeds=False)
        async with running(app, polling=False):
            with pytest.raises(ConfigError) as raised:
                async with serving(app, busy, answers=True, delivery=False):
                    pytest.fail("served on a port in use")
    assert str(raised.value) == (
        f"METRICS_LISTEN: cannot listen on 127.0.0.1:{port}: address already in use"
    )
