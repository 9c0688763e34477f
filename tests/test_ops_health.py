"""/healthz, /readyz, /metrics and `newsbot healthcheck` against the emulator and a real
database; the metrics scraped during a delivery pass paced by Telegram's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.ops.health import BotApiProbe, check_database
from bot.ops.service import Served
from bot.telegram.context import BotApplication
from emulator import Emulator, EmulatorClient
from storage.db import create_engine, upgrade
from tests.auxil import snapshot
from tests.auxil.cli import Here, bot_environment
from tests.auxil.clock import FakeClock
from tests.auxil.delivery import add_due_subscribers
from tests.auxil.loopback import loopback_request
from tests.auxil.running import free_port, served_app
from tests.auxil.snapshot import Rows

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


def _samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def ops_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "metrics_listen": f"127.0.0.1:{free_port()}",
            "delivery_interval_seconds": 0.3,
            "paid_broadcast": False,  # Telegram's free limits, and their 429s
        }
    )


@pytest.fixture
async def served(
    ops_settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[BotApplication, Served]]:
    async with served_app(ops_settings, clock, delivery=True) as both:
        yield both


async def test_health_readiness_and_the_start_up_words(
    served: tuple[BotApplication, Served], ops_settings: Settings
) -> None:
    app, ops = served
    base = f"http://{ops_settings.metrics_listen}"
    assert ops.describe() == (f"updates by long polling; /healthz, /readyz, /metrics on {base}")
    assert await _get(f"{base}/healthz") == (200, "ok\n")
    status, body = await _get(f"{base}/readyz")
    assert status == 200, body
    assert body.splitlines()[:2] == [
        "ok database: answers, newest schema",
        "ok bot_api: getMe answered 0 s ago",
    ]
    # No delivery job runs in this app: within two intervals readiness says so.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while status == 200:
        assert loop.time() < deadline
        await asyncio.sleep(0.1)
        status, body = await _get(f"{base}/readyz")
    assert status == 503
    assert body.splitlines()[-1].startswith("FAIL delivery: no delivery pass since start")
    await app.bot_data.deliverer.run_pass()
    assert (await _get(f"{base}/readyz"))[0] == 200


async def test_metrics_during_a_paced_delivery_pass_match_what_telegram_saw(
    served: tuple[BotApplication, Served],
    ops_settings: Settings,
    emulator: Emulator,
    emu: EmulatorClient,
    clock: FakeClock,
    seed_rows: Rows,
) -> None:
    app, _ = served
    url = f"http://{ops_settings.metrics_listen}/metrics"
    async with app.bot_data.sessions.begin() as session:
        await snapshot.put(session, seed_rows)
    await add_due_subscribers(app.bot_data.sessions, clock, range(5000, 5015), "technology")
    # Tighter than Telegram, so that a 429 comes however fast the database composes.
    await emu.set_limits(enabled=True, per_second=10, burst=5, per_chat_burst=2)
    before = _samples((await _get(url))[1])
    stats_before = await emu.stats()
    delivery = asyncio.create_task(app.bot_data.deliverer.run_pass())
    while (await emu.stats()).get("messages", 0) - stats_before.get("messages", 0) < 5:
        assert not delivery.done(), await delivery
        await asyncio.sleep(0.02)
    during = _samples((await _get(url))[1])
    sent_during = _value(during, "newsbot_messages_total", method="sendMessage", outcome="sent")
    assert sent_during > _value(
        before, "newsbot_messages_total", method="sendMessage", outcome="sent"
    )
    report = await delivery
    after = _samples((await _get(url))[1])
    stats = await emu.stats()

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert report.sent == 15
    sent = delta("newsbot_messages_total", method="sendMessage", outcome="sent")
    refused = delta("newsbot_messages_total", method="sendMessage", outcome="429")
    assert sent == stats.get("messages", 0) - stats_before.get("messages", 0) == 15
    assert refused == stats.get("429", 0) - stats_before.get("429", 0)
    assert refused >= 1, "Telegram's limits were on: some message met a 429"
    assert delta("newsbot_retry_after_seconds_total") >= refused
    assert delta("newsbot_digests_total", result="sent") == 15
    assert delta("newsbot_digests_composed_total") == 15
    assert delta("newsbot_delivery_pass_seconds_count") == 1


async def test_the_probe_tells_a_stale_bot_api(emulator: Emulator) -> None:
    from telegram import Bot

    now = [100.0]
    async with Bot(
        emulator.token, base_url=f"{emulator.url}/bot", request=loopback_request()
    ) as bot:
        probe = BotApiProbe(bot, every=60, clock=lambda: now[0])
        assert probe.check().ok
        now[0] += 181
        check = probe.check()
        assert not check.ok
        assert check.detail == "no getMe answer for over 180 s"


async def test_the_database_check_names_an_old_schema_and_a_dead_server(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0009")
        check = await check_database(engine)
        assert not check.ok
        assert check.detail.startswith("the database schema is at 0009")
    finally:
        await engine.dispose()
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        check = await check_database(dead)
        assert (check.ok, check.detail.split(":")[0]) == (False, "does not answer")
    finally:
        await dead.dispose()


def _env(emulator: Emulator, url: str, **more: str) -> dict[str, str]:
    return bot_environment(
        url,
        emulator,
        **more,
    )


async def test_healthcheck_command(
    emulator: Emulator, db_url: str, tmp_path: Path, here: Here
) -> None:
    env = _env(emulator, db_url)
    code, out, _ = await asyncio.to_thread(here, "healthcheck", env=env, cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[0].startswith("FAIL database: ")
    assert await asyncio.to_thread(here, "db", "upgrade", env=env, cwd=tmp_path) == (
        0,
        "database is at the latest schema\n",
        "",
    )
    code, out, _ = await asyncio.to_thread(here, "healthcheck", env=env, cwd=tmp_path)
    assert (code, out.splitlines()) == (
        0,
        [
            "ok database: answers, newest schema",
            "ok bot_api: getMe answered: @newsbot_demo_bot",
            "ok process: not asked: it serves no /readyz (METRICS_LISTEN is off)",
        ],
    )
    port = free_port()
    env = _env(emulator, db_url, METRICS_LISTEN=str(port))
    code, out, _ = await asyncio.to_thread(here, "healthcheck", env=env, cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[-1].startswith(
        f"FAIL process: http://127.0.0.1:{port}/readyz does not answer"
    )
    code, out, _ = await asyncio.to_thread(
        here, "healthcheck", "--pre-start", env=env, cwd=tmp_path
    )
    assert (code, len(out.splitlines())) == (0, 2)
