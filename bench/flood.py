"""Floods and the throttle: another chat's `/help` while one chat sends 60 messages at
once (README benchmark #7), another user's `/help` while one user's 3,000 inline
queries wait (#19, #20), and the throttle's settings against the fastest human session
(#21, bench/session.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import uvloop

from bench import session
from bench.harness import (
    EmulatorProcess,
    delivery_population,
    emit,
    emit_latencies,
    populate,
    reply_latency,
    settings_for,
)
from bench.population import WORDS, Size
from bot.config import Settings
from bot.telegram.app import build_application, running
from emulator.client import EmulatorClient

FLOOD = 60


def run_flood(url: str, samples: int) -> None:
    """Another chat's /help while one chat sends FLOOD messages at once."""
    uvloop.run(delivery_population(url, 100))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            settings = settings_for(url, emulator.url)  # Telegram's pacing, as in production
            async with running(build_application(settings, delivery=False), poll_timeout=5):
                flooder = 7
                await asyncio.gather(
                    *(client.send_text(flooder, f"/help {n}") for n in range(FLOOD))
                )

                # Samples spread over the flood, a new chat every 0.25 s, so that every one
                # of them is answered while the flooder's replies are still being paced.
                async def sample(n: int) -> float:
                    await asyncio.sleep(n * 0.25)
                    return await reply_latency(client, 8 + n, "/help")

                others = list(await asyncio.gather(*(sample(n) for n in range(samples))))
            replies = sum(1 for e in await client.events(flooder) if e["kind"] == "message")
            await client.aclose()
            emit_latencies(
                "flood_other_chat_help",
                f"another chat's /help while one chat sent {FLOOD} messages at once",
                others,
                flood=FLOOD,
                replies_to_flooder=replies,
            )

        uvloop.run(go())


INLINE_FLOOD = 3_000


def run_inline_flood(url: str, size: Size, samples: int) -> None:
    """Another user's /help while one user's INLINE_FLOOD inline queries wait for the bot:
    a few search words over and over, as a script sends them (or a client, a query per
    keystroke). The flood is in the emulator's queue before the bot starts polling, so
    that the figure is the bot's work on it, not the emulator's speed at taking it."""
    uvloop.run(populate(url, size, datetime.now(UTC)))
    with EmulatorProcess() as emulator:

        async def go() -> None:
            client = EmulatorClient(emulator.url, timeout=300)
            flooder = 7
            queries = [" ".join(WORDS[n % 7 : n % 7 + 1 + n % 2]) for n in range(INLINE_FLOOD)]

            async def inject(part: list[str]) -> None:
                for query in part:
                    await client.inline_query(flooder, query)

            await asyncio.gather(*(inject(queries[n::20]) for n in range(20)))
            settings = settings_for(url, emulator.url)
            async with running(build_application(settings, delivery=False), poll_timeout=5):

                async def sample(n: int) -> float:
                    await asyncio.sleep(n * 0.25)
                    return await reply_latency(client, 8 + n, "/help")

                others = list(await asyncio.gather(*(sample(n) for n in range(samples))))
            answers = len(await client.events(flooder, kinds="inline_answer"))
            await client.aclose()
            emit_latencies(
                "inline_flood_other_user_help",
                f"another user's /help while one user's {INLINE_FLOOD:,} inline queries wait "
                f"({answers:,} of them answered)",
                others,
                flood=INLINE_FLOOD,
                inline_answers=answers,
            )

        uvloop.run(go())


def run_throttle_session() -> None:
    """The throttle's settings against the fastest session a person was measured to have
    (bench/session.py): the smallest burst that admits it at a few rates."""
    defaults = Settings(_env_file=None)
    needed = {rate: session.needed_burst(rate) for rate in (0.5, 1.0, 2.0, 3.0)}
    emit(
        "throttle_session",
        f"the fastest human session ({len(session.SESSION)} actions in "
        f"{session.times()[-1]:.1f} s) needs a burst of "
        + ", ".join(f"{burst} at {rate:g}/s" for rate, burst in needed.items())
        + f"; the defaults are {defaults.throttle_burst} at {defaults.throttle_per_second:g}/s",
        actions=len(session.SESSION),
        seconds=round(session.times()[-1], 2),
        needed_burst={str(rate): burst for rate, burst in needed.items()},
        default_burst=defaults.throttle_burst,
        default_per_second=defaults.throttle_per_second,
    )
