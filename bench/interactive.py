"""Interactive: inject -> reply at the emulator with the compose population loaded,
`/digest` and `/subscribe` (README benchmarks #5, #16), and `/digest` while a delivery
pass of the whole population runs at Telegram's pace (#8)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import uvloop

from bench.harness import (
    EmulatorProcess,
    emit_latencies,
    populate,
    reply_latency,
    sample_chats,
    settings_for,
)
from bench.population import Size
from bot.telegram.app import build_application, running
from emulator.client import EmulatorClient


def run_interactive(url: str, samples: int, subscribers: int) -> None:
    """Reply latency of /digest and /subscribe with the compose population loaded."""
    with EmulatorProcess() as emulator:

        async def go() -> None:
            settings = settings_for(url, emulator.url)
            client = EmulatorClient(emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5):
                # A chat of its own for every sample: two replies to one chat within a
                # second are paced on purpose, and that wait is not the bot's work.
                chats = sample_chats(subscribers, 2 * samples + 1)
                # Warm-up: the first write after the compose run checkpoints its WAL.
                await reply_latency(client, chats[-1], "/digest")
                digest = [await reply_latency(client, c, "/digest") for c in chats[:samples]]
                subscribe = [
                    await reply_latency(client, c, f"/subscribe topic {1 + c % 250:03d}")
                    for c in chats[samples : 2 * samples]
                ]
            await client.aclose()
            emit_latencies("interactive_digest", "/digest", digest)
            emit_latencies("interactive_subscribe", "/subscribe", subscribe)

        uvloop.run(go())


def run_digest_during_delivery(url: str, size: Size, samples: int) -> None:
    """/digest while a delivery pass of the whole population runs at Telegram's pace."""
    uvloop.run(populate(url, size, datetime.now(UTC)))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            await client.set_limits(enabled=True)
            settings = settings_for(url, emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5) as app:
                delivery = asyncio.create_task(app.bot_data.deliverer.run_pass())
                # Sending is underway once the first claimed subscriber has their digest.
                await client.events(1_000_001, count=1, wait=600)
                digest = [
                    await reply_latency(client, chat, "/digest")
                    for chat in sample_chats(size.subscribers, samples)
                ]
                sent = (await client.stats()).get("messages", 0)
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivery
            stats = await client.stats()
            await client.aclose()
            emit_latencies(
                "digest_during_delivery",
                f"/digest while a delivery pass of {size.subscribers:,} due subscribers runs",
                digest,
                messages_during=sent,
                received_429=stats.get("429", 0),
            )

        uvloop.run(go())
