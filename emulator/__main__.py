"""`newsbot-emulator`: the Bot API emulator on loopback, for trying the bot by hand."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence

import uvloop

from emulator.server import Emulator
from emulator.world import World

FREEZE_EVERY_SECONDS = 2.0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="newsbot-emulator",
        description=(
            "Serve the Telegram Bot API on 127.0.0.1 for a bot under test. Point the bot's "
            "TELEGRAM_API_URL at the printed URL; any well-formed TELEGRAM_BOT_TOKEN works. "
            "Play its users with `newsbot-demo --attach URL`, or by hand through the "
            "control API under URL/_emu/ (README.md, 'The Bot API emulator')."
        ),
    )
    root.add_argument(
        "--port", type=int, default=8081, help="TCP port to listen on (default 8081; 0 = any)"
    )
    root.add_argument(
        "--token",
        default=None,
        help="accept only this bot token (default: the first well-formed token a bot brings)",
    )
    return root


def count_pauses(world: World) -> Callable[[str, dict[str, int]], None]:
    """The longest pause of the garbage collector, in ms, into the counters
    (``gc_pause_max_ms``): a pause holds every request, as a slow Telegram would.
    Returns the callback it gave the collector."""
    started = 0.0

    def note(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        pause = round((time.perf_counter() - started) * 1000)
        counters = world.counters
        counters["gc_pause_max_ms"] = max(counters["gc_pause_max_ms"], pause)

    gc.callbacks.append(note)
    return note


async def keep_heap_frozen() -> None:
    """What the emulator keeps (every message, every chat's log) only grows, and each
    full collection of the garbage collector walked all of it: at a million messages,
    seconds in which no request was served, so the bot's sends timed out and were sent
    again. Every few seconds what has survived is frozen, and a collection walks only
    what came since."""
    while True:
        await asyncio.sleep(FREEZE_EVERY_SECONDS)
        gc.collect()
        gc.freeze()


async def serve(port: int, token: str | None) -> None:
    emulator = Emulator(token, port=port) if token else Emulator(port=port, adopt_token=True)
    url = await emulator.start()
    count_pauses(emulator.state)
    freezer = asyncio.create_task(keep_heap_frozen())
    accepted = "only the given token" if token else "any well-formed bot token"
    print(
        f"Bot API emulator at {url}, accepting {accepted}.\n"
        f"Set TELEGRAM_API_URL={url} for the bot; chat with it through "
        f"`newsbot-demo --attach {url}`, or drive it by hand with {url}/_emu/… (README: "
        "The Bot API emulator). Ctrl-C stops it.",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    freezer.cancel()
    await emulator.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        uvloop.run(serve(args.port, args.token))
    except OSError as error:
        print(
            f"newsbot-emulator: cannot listen on port {args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
