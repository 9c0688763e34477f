"""Any text after any command, and any button data, gets a real answer that Telegram takes.

The emulator refuses invalid HTML and messages over 4096 characters the way Telegram
does, so a reply that arrives is a reply that fits; it must also not be the apology for
an unexpected error. One Application serves every example; each example is a new chat,
so replies cannot mix and no chat reaches the flood throttle.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.context import BotApplication
from bot.texts import ADMIN_COMMANDS, COMMANDS
from emulator import EmulatorClient
from emulator.client import Chat
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot

GENERIC = "Sorry, something went wrong"
ADMINS = range(700_000, 702_000)
_chats = itertools.count(ADMINS.start)
COMMAND_NAMES = [name for name, _ in COMMANDS + ADMIN_COMMANDS]
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def bot(
    settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> AsyncIterator[BotApplication]:
    every_chat_admin = settings.model_copy(update={"admin_ids": frozenset(ADMINS)})
    async with running_bot(every_chat_admin, clock=clock) as app:
        await Chat(emu, next(_chats)).ask("/add\n" + ARTICLE)
        yield app


ARTICLE = "Science 2026-11-20T10:00:00+00:00\nDesk\nTitle <&>\n\nscience, Space\n\nBody. More.\n"


@EXAMPLES
@given(command=st.sampled_from(COMMAND_NAMES), text=st.text(max_size=300))
async def test_any_text_after_any_command(
    emu: EmulatorClient, bot: BotApplication, command: str, text: str
) -> None:
    chat = Chat(emu, next(_chats))
    [reply, *_] = await chat.ask(f"/{command} {text}")
    assert not reply.text.startswith(GENERIC)


@EXAMPLES
@given(text=st.text(min_size=1, max_size=300))
async def test_any_plain_text(emu: EmulatorClient, bot: BotApplication, text: str) -> None:
    chat = Chat(emu, next(_chats))
    [reply, *_] = await chat.ask(text)
    assert not reply.text.startswith(GENERIC)


@EXAMPLES
@given(
    data=st.one_of(
        st.text(min_size=1, max_size=64),
        st.from_regex(r"(t|p|u|sp|ss|us|d|k):-?[0-9]{1,12}(:(s|-?[0-9]{1,12}))?", fullmatch=True),
    )
)
async def test_any_button_data(emu: EmulatorClient, bot: BotApplication, data: str) -> None:
    chat = Chat(emu, next(_chats))
    [welcome] = await chat.ask("/start")
    await emu.press(chat.user_id, welcome.message_id, data)
    [answer] = await chat.answers(1)
    assert not answer.startswith(GENERIC)
    replies = await emu.events(chat.user_id, after=chat.cursor)
    assert not any(r["message"]["text"].startswith(GENERIC) for r in replies)
