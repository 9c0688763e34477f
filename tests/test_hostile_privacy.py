"""Hostile use of /privacy, /mydata and /forget through the emulator, on both backends: a
confirmation pressed twice or after a second /forget, a cancel after the delete, a forged
confirmation for a chat the presser administers, chats with HTML, RTL and Cyrillic titles."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import translator
from bot.telegram import buttons
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient
from storage.models import Digest
from tests.auxil.clock import FakeClock
from tests.auxil.data import USER_ID
from tests.auxil.ledger import ledger_pairs
from tests.auxil.running import running_bot
from tests.test_privacy import BOSS, MEMBER, a_reader, stored, subscriber_id, team
from tests.test_privacy_delivery import (
    PARTS,
    READER,
    a_long_digest,
    first_with_buttons,
    parts_received,
    the_edit,
)

EN = translator("en")
TITLE = '<b>Команда</b> & "friends" \u200fשלום\u200e <a href="tg://x">x</a>'


async def test_forget_asked_twice_then_both_confirmed_deletes_once(
    user: Chat, seeded: BotApplication
) -> None:
    await a_reader(user)
    [first] = await user.ask("/forget")
    [second] = await user.ask("/forget")
    [done] = await user.press(first, "Delete everything")
    assert done.text.startswith("✅ Deleted everything")
    await user.client.press(USER_ID, second.message_id, second.button("Delete")["callback_data"])
    assert (await user.answers(2))[-1] == EN._(texts.FORGET_ALREADY)
    # Cancel under the first question, after the delete: nothing comes back.
    await user.client.press(USER_ID, first.message_id, first.button("Cancel")["callback_data"])
    await user.answers(3)
    assert await stored(seeded, USER_ID) == 0
    [reply] = await user.ask("/help")
    assert "/privacy" in reply.text


async def test_a_confirmation_forged_for_a_group_in_a_private_chat_deletes_nothing(
    emu: EmulatorClient,
    emulator: Emulator,
    user: Chat,
    seeded: BotApplication,
    clock: FakeClock,
) -> None:
    """The group's own administrator forges its confirmation under their private chat's
    question: a button acts for the chat it was shown in, never another."""
    group = await team(emu, emulator, -1002, "Team")
    await group.say(BOSS, "/subscribe negotiations")
    boss = Chat(emu, BOSS)
    await boss.ask("/subscribe economy")
    [question] = await boss.ask("/forget")
    theirs = await subscriber_id(seeded, -1002)
    assert theirs is not None
    forged = buttons.encode(buttons.ConfirmForget(int(clock().timestamp()), theirs))
    await emu.press(BOSS, question.message_id, forged)
    assert await boss.answers(1) == [EN._(texts.FORGET_FORGED)]
    assert await stored(seeded, -1002) > 0
    assert await stored(seeded, BOSS) > 0
    # and the member cannot cancel the administrator's question either, nor delete by it
    [asked] = await group.say(BOSS, "/forget")
    await emu.group_press(-1002, MEMBER, asked.message_id, asked.button("Delete")["callback_data"])
    await emu.group_press(-1002, MEMBER, asked.message_id, asked.button("Cancel")["callback_data"])
    said = await group.answers(2)
    assert said[0] == EN._(texts.DATA_ADMINS_ONLY_NOTICE)
    assert await stored(seeded, -1002) > 0


async def test_titles_in_html_rtl_and_cyrillic_are_shown_as_written(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    group = await team(emu, emulator, -1003, TITLE)
    await group.say(BOSS, "/subscribe negotiations")
    [document] = await group.say(BOSS, "/mydata")
    data = json.loads(document.file or "")
    assert data["chat"]["title"] == TITLE
    [question] = await group.say(BOSS, "/forget")
    assert TITLE in question.text
    [done] = await group.press(BOSS, question, "Delete")
    assert done.text.startswith(f"✅ Deleted everything I stored about {TITLE}: 1 tag,")
    assert await stored(seeded, -1003) == 0


async def test_a_chat_forgotten_mid_digest_that_writes_again_is_a_new_chat_with_no_ledger(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    """The reader confirms /forget while their digest is going out, then subscribes again
    before the pass ends: the pass must not attach the rest of the old digest (its
    messages or ledger rows) to the new chat."""
    paced = settings.model_copy(update={"rate_limit_per_chat_seconds": 0.3})
    async with running_bot(paced, clock=clock) as app:
        await a_long_digest(app, clock, READER)
        reader = Chat(emu, READER)
        passing = asyncio.create_task(app.bot_data.deliverer.run_pass())
        await emu.events(READER, count=2, wait=10, kinds="message")
        question = await first_with_buttons(reader, await reader.ask("/forget"))
        await emu.press(READER, question.message_id, question.button("Delete")["callback_data"])
        await the_edit(reader)
        at_confirmation = await parts_received(emu, READER)
        await emu.send_text(READER, "/subscribe economy")
        await passing
        after = await parts_received(emu, READER)
        async with app.bot_data.sessions() as session:
            ledger = len(await ledger_pairs(session))
            digests = await session.scalar(select(func.count()).select_from(Digest))
    assert after <= at_confirmation + 1 < PARTS
    assert (ledger, digests) == (0, 0)


@pytest.mark.parametrize(
    "url",
    ["https://", "https://a b/privacy", "http://x/<p>", 'https://x.org/?q="x"', "ftp://x.org/p"],
)
def test_a_privacy_policy_url_telegram_cannot_link_is_refused_at_start(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(privacy_policy_url=url)
    assert str(raised.value).startswith("PRIVACY_POLICY_URL: "), str(raised.value)


async def test_privacy_with_an_operator_contact_in_html(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    odd = settings.model_copy(
        update={
            "operator_contact": '<b>Ops</b> & "team" <ops@example.org>',
            "privacy_policy_url": "https://example.org/privacy?a=1&b=<2>",
        }
    )
    async with running_bot(odd, clock=clock):
        [reply] = await Chat(emu, 6262).ask("/privacy")
    assert 'Who runs this bot: <b>Ops</b> & "team" <ops@example.org>' in reply.text
