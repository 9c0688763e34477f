"""Until a python-telegram-bot Application has handled everything the emulator gave it.

What the bot does with an update that gets no reply (a my_chat_member, a migration) is
only seen in its database: a test, or the demo, waits here before looking.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application

from emulator.server import Emulator

# Handled when the bot has been idle on this many checks this far apart: an update passes
# from the application's queue to its handler within a loop iteration or two.
SETTLED_CHECKS = 3
SETTLE_STEP = 0.02


def busy(app: Application[Any, Any, Any, Any, Any, Any], emulator: Emulator) -> bool:
    """Is the bot still at work on what was sent: an update not yet taken from the
    emulator, waiting in the application's queue, or being handled?"""
    return bool(
        emulator.state.updates
        or not app.update_queue.empty()
        or app.update_processor.current_concurrent_updates
    )


async def settled(
    app: Application[Any, Any, Any, Any, Any, Any], emulator: Emulator, timeout: float = 10.0
) -> bool:
    """Wait until the bot has handled everything it was sent; False if it was still busy
    after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    calm = 0
    deadline = loop.time() + timeout
    while calm < SETTLED_CHECKS:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(SETTLE_STEP)
        calm = 0 if busy(app, emulator) else calm + 1
    return True
