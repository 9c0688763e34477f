"""A Bot API emulator: a real HTTP server that answers the way Telegram does.

A test and demo tool, not part of the bot: it imports nothing from ``bot`` or
``storage``. The bot talks to it over HTTP exactly as it talks to Telegram.
"""

from emulator.client import BotMessage, Chat, EmulatorClient, Group
from emulator.server import Emulator

__all__ = ["BotMessage", "Chat", "Emulator", "EmulatorClient", "Group"]
