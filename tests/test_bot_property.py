"""Any text after any command, and any button data, gets a real answer that Telegram takes.

The emulator refuses invalid HTML and messages over 4096 characters the way Telegram
does, so a reply that arrives is a reply that fits; it must also not be the apology for
an unexpected error. One Application serves every example; each example is a new chat,
so replies cannot mix and no chat reaches the flood throttle.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import texts
from bot.config import Settings
from bot.i18n import languages, translator
from bot.telegram import buttons
from bot.telegram.buttons import MAX_ID
from bot.telegram.context import BotApplication
from bot.texts import COMMANDS
from emulator import EmulatorClient
from emulator.client import Chat
from storage import repo
from tests.auxil.buttons import FIELDS, FOR_A_CHAT, callback_data
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot

GENERIC = "Sorry, something went wrong"
ADMINS = range(700_000, 702_000)
FIRST_CHAT = ADMINS.start  # the chat that adds the article; each example takes a new one
_chats = itertools.count(ADMINS.start + 1)
COMMAND_NAMES = [command.name for command in COMMANDS]
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
        first = Chat(emu, FIRST_CHAT)
        await first.ask("/add\n" + ARTICLE)
        await first.ask("/start")  # a subscriber row: "someone else's chat" in the tests below
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


# What a presser sees, by kind, when the button acts for their own chat (the answer under
# the button; "" is a silent answer, the message itself being redrawn). A kind added to
# bot.telegram.buttons without a line here fails the test: the list of kinds comes from there.
EN = translator("en")
INVALID = EN._(texts.BUTTON_INVALID)
SILENT = frozenset({""})
SUBSCRIBED = re.compile(r"(Subscribed to|Unsubscribed from) .+")
EXPECTED: dict[type[buttons.Button], Callable[[str], bool]] = {
    buttons.ToggleTag: lambda said: said == INVALID or bool(SUBSCRIBED.fullmatch(said)),
    buttons.TagsPage: SILENT.__contains__,
    buttons.Unsubscribe: lambda said: said == "" or said.startswith("Unsubscribed from "),
    buttons.SubscriptionsPage: SILENT.__contains__,
    buttons.SubscribeSuggested: lambda said: said == INVALID or said.startswith("Subscribed to "),
    buttons.UnsubscribeSuggested: lambda said: (
        said == INVALID or said.startswith("Unsubscribed from ")
    ),
    buttons.FeedsPage: SILENT.__contains__,
    buttons.ConfirmDelete: SILENT.__contains__,
    buttons.KeepArticle: SILENT.__contains__,
    buttons.Undelete: SILENT.__contains__,
    buttons.SearchPage: lambda said: said == EN._(texts.SEARCH_GONE),  # not a results message
    buttons.RemoveWord: SILENT.__contains__,  # they follow no words: nothing to remove
    buttons.WordsPage: SILENT.__contains__,
    buttons.SetLanguage: {
        texts.language_set(translator(code)) for code in languages()
    }.__contains__,
    buttons.SelectChat: {EN._(texts.BACK_TO_ME), INVALID}.__contains__,
    buttons.PostDigest: SILENT.__contains__,  # their own chat: their digest, or why none
    buttons.CancelDigest: SILENT.__contains__,
    buttons.DigestTags: SILENT.__contains__,  # the settings redrawn
    buttons.DigestLayout: SILENT.__contains__,
    # A confirmation drawn at any time: expired, from the future, or (rarely) good.
    buttons.ConfirmForget: {
        "",
        EN._(texts.FORGET_EXPIRED),
        EN._(texts.FORGET_FORGED),
    }.__contains__,
    buttons.CancelForget: SILENT.__contains__,
}
# Kinds whose refusals are their own, for another's chat and for one that is gone.
REFUSALS: dict[type[buttons.Button], tuple[str, str]] = {
    buttons.ConfirmForget: (texts.FORGET_FORGED, texts.FORGET_ALREADY),
}
OWN, SOMEONE_ELSES, GONE = "own", "someone else's", "gone"


def test_every_kind_of_button_has_an_expectation() -> None:
    assert set(EXPECTED) == set(buttons.KINDS)


@st.composite
def pressed(draw: st.DrawFn) -> tuple[type[buttons.Button], list[object], str]:
    """A button of any kind bot.telegram.buttons defines, its fields drawn as that kind's fields
    are; the chat it names: the presser's own, another person's, or none that exists."""
    kind = draw(st.sampled_from(list(buttons.KINDS)))
    _, spec = buttons.KINDS[kind]
    values = [draw(FIELDS[field]) for field in spec]
    whose = draw(st.sampled_from([OWN, SOMEONE_ELSES, GONE])) if kind in FOR_A_CHAT else OWN
    return kind, values, whose


@EXAMPLES
@given(press=pressed())
async def test_any_button_of_any_kind_for_any_chat(
    emu: EmulatorClient,
    bot: BotApplication,
    press: tuple[type[buttons.Button], list[object], str],
) -> None:
    kind, values, whose = press
    chat = Chat(emu, next(_chats))
    [welcome] = await chat.ask("/start")
    if kind in FOR_A_CHAT:
        async with bot.bot_data.sessions() as session:
            own = await repo.get_subscriber(session, chat.user_id)
            other = await repo.get_subscriber(session, FIRST_CHAT)
        assert own is not None
        assert other is not None
        values[-1] = {OWN: own.id, SOMEONE_ELSES: other.id, GONE: MAX_ID}[whose]
    data = buttons.encode(kind(*values))  # type: ignore[arg-type]
    await emu.press(chat.user_id, welcome.message_id, data)
    [said] = await chat.answers(1)
    if whose == OWN:
        assert EXPECTED[kind](said), f"{data}: {said!r}"
    else:
        forged, gone = REFUSALS.get(kind, (texts.BUTTON_INVALID, texts.CHAT_GONE_PRESS))
        assert said == EN._(forged if whose == SOMEONE_ELSES else gone)
    replies = await emu.events(chat.user_id, after=chat.cursor)
    assert not any(r["message"]["text"].startswith(GENERIC) for r in replies)


@EXAMPLES
@given(data=callback_data)
async def test_any_button_data(emu: EmulatorClient, bot: BotApplication, data: str) -> None:
    chat = Chat(emu, next(_chats))
    [welcome] = await chat.ask("/start")
    await emu.press(chat.user_id, welcome.message_id, data)
    [said] = await chat.answers(1)
    if buttons.decode(data) is None:
        expected = texts.BUTTON_INVALID if buttons.is_ours(data) else texts.FOREIGN_PRESS
        assert said == EN._(expected)
    else:
        assert not said.startswith(GENERIC)
    replies = await emu.events(chat.user_id, after=chat.cursor)
    assert not any(r["message"]["text"].startswith(GENERIC) for r in replies)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ({"data": ""}, texts.EMPTY_PRESS),
        ({}, texts.EMPTY_PRESS),  # neither data nor a game
        ({"data": '{"action":"like","id":7}'}, texts.FOREIGN_PRESS),  # another bot's format
        ({"data": "t:1:0"}, texts.BUTTON_INVALID),  # ours, from before buttons named a chat
        ({"game_short_name": "tetris"}, texts.GAME_PRESS),
        ({"inline_message_id": "AAEC", "data": "t:1:0:1"}, texts.INLINE_PRESS),
        ({"inline_message_id": "AAEC"}, texts.INLINE_PRESS),
    ],
)
async def test_every_shape_of_press_gets_its_own_answer(
    emu: EmulatorClient, bot: BotApplication, shape: dict[str, str], expected: str
) -> None:
    """Before, a press without data reached the toggle handler and raised, and a press
    under an inline-mode message raised and was never answered."""
    chat = Chat(emu, next(_chats))
    await chat.speak("uk")  # answered in the presser's language, with a chat or without
    [welcome] = await chat.ask("/start")
    where = {} if "inline_message_id" in shape else {"message_id": welcome.message_id}
    await emu.press_shape(chat.user_id, **where, **shape)  # type: ignore[arg-type]
    assert await chat.answers(1) == [translator("uk")._(expected)]
    replies = await emu.events(chat.user_id, after=chat.cursor)
    assert replies == []
