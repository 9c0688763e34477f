"""Deliver: a delivery pass of 2,000 digests against the emulator in its own process,
with Telegram's limits on (README benchmark #2) and off (#3, beside bare httpx and
aiohttp clients sending the same requests); and the send path alone, off limits: the
same digests composed beforehand, then sent and recorded by a pass that resumes them
(#29), beside a bare aiohttp client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
import uvloop
from sqlalchemy import update

from bench.compose import compose_all
from bench.harness import (
    TOKEN,
    EmulatorProcess,
    delivery_population,
    emit,
    settings_for,
    telegram_limits,
)
from bot.delivery.broadcast import FREE_PER_SECOND, connections_for, in_flight_for
from bot.delivery.deliverer import PassReport
from bot.telegram.app import build_application, opened
from bot.telegram.http import JSON_BODY
from emulator.client import EmulatorClient
from storage.db import create_engine, create_sessionmaker
from storage.models import Digest


async def deliver(url: str, api: str, **rates: Any) -> tuple[PassReport, float, float]:
    """One delivery pass: its report, wall seconds and this process's CPU seconds."""
    # Not validated: the uncapped run asks for more than Telegram's 1,000 a second.
    settings = settings_for(url, api, digest_max_items=3).model_copy(update=rates)
    app = build_application(settings, handlers=False, delivery=False)
    async with opened(app):
        started, cpu = time.perf_counter(), time.process_time()
        report = await app.bot_data.deliverer.run_pass()
        return report, time.perf_counter() - started, time.process_time() - cpu


async def arrival_rate(client: EmulatorClient, chats: Iterable[int]) -> tuple[int, float]:
    stamps = []
    for chat in chats:
        stamps += [e["at"] for e in await client.events(chat) if e["kind"] == "message"]
    stamps.sort()
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return len(stamps), (len(stamps) - 1) / span if span else 0.0


def run_deliver_capped(url: str, digests: int) -> None:
    """Telegram's limits on: 30 msg/s, 1/s per private chat, 20 a minute per group; one
    chat in ten is a group (issue 15)."""
    chats = uvloop.run(delivery_population(url, digests, every_nth_group=10))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url)
            bot_id = int(TOKEN.split(":", maxsplit=1)[0])
            for chat in (c for c in chats if c < 0):
                await client.create_chat(chat, "group", f"Group {-chat}")
                await client.set_member(chat, bot_id, "member")
            await telegram_limits(client)
            report, seconds, _ = await deliver(url, emulator.url)
            messages, rate = await arrival_rate(client, chats)
            stats = await client.stats()
            await client.aclose()
            emit(
                "deliver_capped",
                f"{messages:,} messages in {seconds:.1f} s; sustained {rate:.2f} msg/s = "
                f"{rate / 30:.1%} of the 30 msg/s cap; 429s received: {stats.get('429', 0)}; "
                f"{sum(1 for c in chats if c < 0):,} of the chats are groups",
                messages=messages,
                seconds=round(seconds, 2),
                sustained_per_second=round(rate, 2),
                share_of_cap=round(rate / 30, 4),
                received_429=stats.get("429", 0),
                group_chats=sum(1 for c in chats if c < 0),
                sent=report.sent,
            )

        uvloop.run(go())


def send_message_body(chat: int, body: str) -> bytes:
    """sendMessage as the bot posts it (bot/telegram/http.py): a JSON body."""
    return json.dumps(
        {
            "chat_id": chat,
            "text": body,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        },
        ensure_ascii=False,
    ).encode()


async def sent_texts(client: EmulatorClient, chats: Iterable[int]) -> list[tuple[int, str]]:
    """The HTML of every message the bot sent to ``chats``, with its chat."""
    return [
        (chat, e["html"])
        for chat in chats
        for e in await client.events(chat)
        if e["kind"] == "message"
    ]


async def timed(posts: list[Awaitable[None]]) -> tuple[float, float]:
    """(requests a second, this process's CPU seconds for them all)."""
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*posts)
    return len(posts) / (time.perf_counter() - started), time.process_time() - cpu


async def bare_httpx(
    api: str, texts: list[tuple[int, str]], concurrency: int
) -> tuple[float, float]:
    """The same sendMessage requests from a bare httpx client (PTB's default stack)."""
    limit = asyncio.Semaphore(concurrency)
    url = f"{api}/bot{TOKEN}/sendMessage"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:

        async def post(chat: int, body: str) -> None:
            async with limit:
                response = await http.post(
                    url, content=send_message_body(chat, body), headers=JSON_BODY
                )
                response.raise_for_status()

        return await timed([post(chat, body) for chat, body in texts])


async def bare_aiohttp(
    api: str, texts: list[tuple[int, str]], concurrency: int
) -> tuple[float, float]:
    """The same requests from a bare aiohttp client, the HTTP stack the bot sends with."""
    limit = asyncio.Semaphore(concurrency)
    url = f"{api}/bot{TOKEN}/sendMessage"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(chat: int, body: str) -> None:
            async with (
                limit,
                http.post(url, data=send_message_body(chat, body), headers=JSON_BODY) as response,
            ):
                response.raise_for_status()
                await response.read()

        return await timed([post(chat, body) for chat, body in texts])


async def composed_beforehand(url: str) -> int:
    """Compose every due digest into the outbox, unsent, with its lease run out: the
    next pass only sends and records them, as it resumes a dead process's digests."""
    engine = create_engine(url)
    try:
        sessions = create_sessionmaker(engine)
        composed = 0
        async for batch in compose_all(sessions, settings_for(url, digest_max_items=3).digest):
            composed += len(batch.outbound)
        async with engine.begin() as connection:
            await connection.execute(
                update(Digest).values(lease_until=datetime.now(UTC) - timedelta(minutes=1))
            )
        return composed
    finally:
        await engine.dispose()


async def resume_all(url: str, api: str, **rates: Any) -> tuple[int, float, float]:
    """Passes until one sends nothing (a pass resumes at most STALE_BATCH digests at its
    start): the messages sent, wall seconds and this process's CPU seconds."""
    settings = settings_for(url, api, digest_max_items=3).model_copy(update=rates)
    app = build_application(settings, handlers=False, delivery=False)
    async with opened(app):
        sent = 0
        started, cpu = time.perf_counter(), time.process_time()
        while passed := (await app.bot_data.deliverer.run_pass()).sent:
            sent += passed
        return sent, time.perf_counter() - started, time.process_time() - cpu


# No pacing, and the connections and digests in flight of Telegram's free rate (the
# defaults at 29 a second; unset, they would follow the rate): the bare clients use
# the same connections.
UNCAPPED: dict[str, Any] = {
    "rate_limit_per_second": 1_000_000,
    "rate_limit_per_chat_seconds": 0,
    "telegram_connections": connections_for(FREE_PER_SECOND),
    "delivery_concurrency": in_flight_for(connections_for(FREE_PER_SECOND)),
}


def run_send_path(url: str, digests: int) -> None:
    """The send path alone: a pass that sends and records digests composed beforehand,
    against a bare aiohttp client sending the same requests, in the same run."""
    chats = uvloop.run(delivery_population(url, digests))
    composed = uvloop.run(composed_beforehand(url))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url)
            sent, seconds, cpu = await resume_all(url, emulator.url, **UNCAPPED)
            texts = await sent_texts(client, chats)
            rate = len(texts) / seconds
            connections = UNCAPPED["telegram_connections"]
            stack, stack_cpu = await bare_aiohttp(emulator.url, texts, connections)
            per_1000 = 1000 / len(texts)
            await client.aclose()
            emit(
                "send_path_uncapped",
                f"{len(texts):,} messages of {composed:,} digests composed beforehand, sent "
                f"and recorded in {seconds:.1f} s = {rate:,.0f} msg/s; bare aiohttp client "
                f"{stack:,.0f} msg/s (ratio {rate / stack:.2f}); CPU per 1,000 messages: the "
                f"bot {cpu * per_1000:.2f} s (send, record), bare aiohttp "
                f"{stack_cpu * per_1000:.2f} s",
                messages=len(texts),
                digests=composed,
                per_second=round(rate),
                aiohttp_per_second=round(stack),
                aiohttp_ratio=round(rate / stack, 3),
                cpu_seconds_per_1000=round(cpu * per_1000, 3),
                aiohttp_cpu_seconds_per_1000=round(stack_cpu * per_1000, 3),
                sent=sent,
            )

        uvloop.run(go())


def run_deliver_uncapped(url: str, digests: int) -> None:
    uvloop.run(delivery_population(url, digests))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url)
            report, seconds, cpu = await deliver(url, emulator.url, **UNCAPPED)
            texts = await sent_texts(client, range(1_000_001, 1_000_001 + digests))
            ptb_rate = len(texts) / seconds
            connections = UNCAPPED["telegram_connections"]
            ceiling, httpx_cpu = await bare_httpx(emulator.url, texts, connections)
            stack, aiohttp_cpu = await bare_aiohttp(emulator.url, texts, connections)
            per_1000 = 1000 / len(texts)
            await client.aclose()
            emit(
                "deliver_uncapped",
                f"{len(texts):,} messages in {seconds:.1f} s = {ptb_rate:,.0f} msg/s through "
                f"python-telegram-bot (compose, send, record); bare httpx client "
                f"{ceiling:,.0f} msg/s (ratio {ptb_rate / ceiling:.2f}); bare aiohttp client "
                f"{stack:,.0f} msg/s (ratio {ptb_rate / stack:.2f}); CPU per 1,000 messages: "
                f"the bot {cpu * per_1000:.2f} s (compose, send, record), bare aiohttp "
                f"{aiohttp_cpu * per_1000:.2f} s",
                messages=len(texts),
                per_second=round(ptb_rate),
                httpx_per_second=round(ceiling),
                ratio=round(ptb_rate / ceiling, 3),
                aiohttp_per_second=round(stack),
                aiohttp_ratio=round(ptb_rate / stack, 3),
                cpu_seconds_per_1000=round(cpu * per_1000, 3),
                httpx_cpu_seconds_per_1000=round(httpx_cpu * per_1000, 3),
                aiohttp_cpu_seconds_per_1000=round(aiohttp_cpu * per_1000, 3),
                aiohttp_cpu_ratio=round(aiohttp_cpu / cpu, 3),
                sent=report.sent,
            )

        uvloop.run(go())
