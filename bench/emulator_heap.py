"""The emulator's heap against Python's garbage collector (README, "The 429s of rows 31
and 32"): a million digest messages sent straight into the emulator's `World`, with and
without freezing what it holds every so many messages (as the emulator's own process
does every 2 s), and the collector's full collections timed.

Each run is a child process, ``python -m bench.emulator_heap MESSAGES FREEZE_EVERY``
(0: never), so that its collections and its peak RSS are its own.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bench.harness import child, child_main, emit
from emulator.world import World

HTML = (
    "<b>Headline of a story here</b>\nSummary line of the article, about a hundred "
    'characters long, more or less. <a href="https://example.com/a/123">Read</a>'
)
ENTITIES = [
    {"type": "bold", "offset": 0, "length": 26},
    {"type": "text_link", "offset": 100, "length": 4, "url": "https://example.com/a/123"},
]


async def fill(messages: str, freeze_every: str) -> dict[str, Any]:
    """Send MESSAGES digest messages, one a chat, into a World; freeze its heap every
    FREEZE_EVERY messages (0: never). The full collections' count, total and longest."""
    count, every = int(messages), int(freeze_every)
    pauses: list[float] = []
    started = 0.0

    def note(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - started)

    gc.callbacks.append(note)
    world = World(1, "newsbot_bench_bot")
    began = time.perf_counter()
    for n in range(count):
        message = world.bot_message(10_000 + n, None) | {"text": HTML, "entities": ENTITIES}
        world.sent(message, {"html": HTML})
        if every and n % every == 0:
            gc.freeze()
    gc.callbacks.remove(note)
    return {
        "messages": count,
        "freeze_every": every,
        "seconds": time.perf_counter() - began,
        "full_collections": len(pauses),
        "collections_seconds": sum(pauses),
        "longest_pause_seconds": max(pauses, default=0.0),
    }


def run_emulator_heap(messages: int) -> None:
    for every in (0, 10_000):
        result = child("emulator_heap", str(messages), str(every))
        how = f"frozen every {every:,} messages" if every else "never frozen"
        emit(
            "emulator_heap",
            f"{messages:,} messages into the emulator's World, {how}: "
            f"{result['full_collections']} full collections, "
            f"{result['collections_seconds']:.2f} s in all, the longest "
            f"{result['longest_pause_seconds']:.2f} s; peak RSS {result['peak_rss_mb']:,.0f} MB",
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
        )


if __name__ == "__main__":
    child_main(fill, "messages", "freeze_every")
