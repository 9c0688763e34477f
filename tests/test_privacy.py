"""/privacy, /mydata and /forget end to end: the real Application against the emulator,
on SQLite and PostgreSQL, in English and Ukrainian; each refusal (a group's member, a
stale, expired or forged confirmation) has its own answer."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.config import Settings
from bot.i18n import translator
from bot.telegram import buttons
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient, Group
from emulator.html import parse_html
from storage import repo
from storage.models import Subscriber, Tag
from tests.auxil.clock import FakeClock
from tests.auxil.data import USER_ID
from tests.auxil.running import running_bot

EN, UK = translator("en"), translator("uk")
BOSS, MEMBER = 3001, 3002
TEAM = -1001


def plain(html: str) -> str:
    return parse_html(html)[0]


async def stored(app: BotApplication, chat_id: int) -> int:
    async with app.bot_data.sessions() as session:
        return await repo.count_stored(session, chat_id)


async def subscriber_id(app: BotApplication, chat_id: int) -> int | None:
    async with app.bot_data.sessions() as session:
        return await session.scalar(select(Subscriber.id).where(Subscriber.chat_id == chat_id))


async def a_reader(user: Chat) -> None:
    """Subscriptions, words and a digest: a ledger and an outbox row."""
    await user.ask("/subscribe negotiations, nosuchtagyet")
    await user.ask('/follow grain "peace talks"')
    await user.ask("/mute football")
    [digest, *_] = await user.ask("/digest")
    assert "digest" in digest.text.lower()


async def test_privacy_says_what_is_kept_how_long_and_that_no_contact_is_given(
    user: Chat, app: BotApplication
) -> None:
    [reply] = await user.ask("/privacy")
    assert "digests: 30 days after they were made" in reply.text
    assert "the list of articles sent: 8 days" in reply.text
    assert "forgotten after 30 days" in reply.text
    assert "has not given a contact (OPERATOR_CONTACT is not set)" in reply.text
    assert "/mydata" in reply.text and "/forget" in reply.text
    [help_text] = await user.ask("/help")
    assert "/privacy" in help_text.text
    commands = [c.command for c in await app.bot.get_my_commands()]
    assert {"privacy", "mydata", "forget"} <= set(commands)
    assert await stored(app, USER_ID) == 0  # reading the policy stores nothing


async def test_privacy_names_the_operator_and_the_policy_in_ukrainian(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    configured = settings.model_copy(
        update={
            "operator_contact": "@newsbot_owner",
            "privacy_policy_url": "https://example.org/privacy",
            "forget_blocked_days": 14,
        }
    )
    async with running_bot(configured, clock=clock):
        chat = Chat(emu, 4242)
        await chat.speak("uk")
        [reply] = await chat.ask("/privacy")
    assert reply.text.startswith("🔒 Приватність")
    assert "@newsbot_owner" in reply.text
    assert "https://example.org/privacy" in reply.links()
    assert "забуваю через 14 днів" in reply.text


async def test_mydata_sends_everything_stored_as_one_json_document(
    user: Chat, seeded: BotApplication
) -> None:
    await a_reader(user)
    [document] = await user.ask("/mydata")
    assert document.file_name == f"newsbot-data-{USER_ID}.json"
    assert document.text == f"📄 Everything I store about chat {USER_ID}."
    assert document.file is not None
    data = json.loads(document.file)
    assert data["format"] == "newsbot-data/1"
    assert data["chat_id"] == USER_ID
    assert data["chat"]["timezone"] == "UTC" and data["chat"]["language"] == "en"
    assert sorted(data["subscriptions"]) == ["negotiations", "nosuchtagyet"]
    assert {(w["word"], w["kind"]) for w in data["words"]} == {
        ("grain", "follow"),
        ("peace talks", "follow"),
        ("football", "mute"),
    }
    assert data["ledger"], "the digest's articles"
    first = data["ledger"][0]
    assert set(first) == {"article_id", "title", "link", "sent_at"}
    [digest] = data["digests"]
    assert digest["status"] == "sent"
    assert digest["messages"] == []  # a digest's text is kept only until it is sent
    assert data["links"] == []


async def test_mydata_and_forget_for_a_chat_with_nothing_stored_say_so(
    user: Chat, app: BotApplication
) -> None:
    nothing = EN._(texts.NOTHING_STORED)
    assert [m.text for m in await user.ask("/mydata")] == [nothing]
    assert [m.text for m in await user.ask("/forget")] == [nothing]
    assert await stored(app, USER_ID) == 0


async def test_forget_asks_then_deletes_every_row_and_a_new_message_is_a_new_chat(
    user: Chat, seeded: BotApplication
) -> None:
    app = seeded
    await a_reader(user)
    assert await stored(app, USER_ID) > 5
    [question] = await user.ask("/forget")
    assert question.button_texts == ["🗑 Delete everything", "Cancel"]
    assert await stored(app, USER_ID) > 5  # asking deletes nothing
    [done] = await user.press(question, "Delete everything")
    assert done.edited
    assert done.text.startswith(f"✅ Deleted everything I stored about chat {USER_ID}: 2 tags,")
    assert "3 words" in done.text and "1 digest," in done.text
    assert await stored(app, USER_ID) == 0
    async with app.bot_data.sessions() as session:  # the tag only this chat used is gone
        waiting = await session.scalar(select(func.count()).where(Tag.key == "nosuchtagyet"))
    assert waiting == 0
    # The confirmation again: nothing is left, and it says so.
    await user.client.press(
        USER_ID, question.message_id, question.button("Delete")["callback_data"]
    )
    assert (await user.answers(2))[-1] == EN._(texts.FORGET_ALREADY)
    # Writing again starts a new chat, with the defaults.
    [subscriptions] = await user.ask("/subscriptions")
    assert subscriptions.text == plain(EN._(texts.NO_SUBSCRIPTIONS))
    assert await stored(app, USER_ID) == 1  # its row, with the defaults, and nothing else


async def test_forget_cancelled_deletes_nothing(user: Chat, seeded: BotApplication) -> None:
    await a_reader(user)
    rows = await stored(seeded, USER_ID)
    [question] = await user.ask("/forget")
    [cancelled] = await user.press(question, "Cancel")
    assert cancelled.text == EN._(texts.FORGET_CANCELLED)
    assert await stored(seeded, USER_ID) == rows


async def test_an_expired_or_forged_confirmation_deletes_nothing_and_says_why(
    emu: EmulatorClient, user: Chat, seeded: BotApplication, clock: FakeClock
) -> None:
    await a_reader(user)
    rows = await stored(seeded, USER_ID)
    [question] = await user.ask("/forget")
    clock.advance(minutes=11)
    await emu.press(USER_ID, question.message_id, question.button("Delete")["callback_data"])
    assert await user.answers(1) == [EN._(texts.FORGET_EXPIRED)]
    # Forged: another chat's row named by hand, and a confirmation from the future.
    other = Chat(emu, 5151)
    await other.ask("/subscribe economy")
    theirs = await subscriber_id(seeded, 5151)
    mine = await subscriber_id(seeded, USER_ID)
    assert theirs is not None and mine is not None
    now = int(clock().timestamp())
    for forged in (buttons.ConfirmForget(now, theirs), buttons.ConfirmForget(now + 3600, mine)):
        await emu.press(USER_ID, question.message_id, buttons.encode(forged))
    said = await user.answers(3)
    assert said[1:] == [EN._(texts.FORGET_FORGED)] * 2
    assert await stored(seeded, USER_ID) == rows
    assert await stored(seeded, 5151) > 0


async def test_forget_in_ukrainian(emu: EmulatorClient, seeded: BotApplication) -> None:
    chat = Chat(emu, 6161)
    await chat.speak("uk")
    await chat.ask("/subscribe negotiations")
    [question] = await chat.ask("/forget")
    assert question.button_texts == ["🗑 Видалити все", "Скасувати"]
    [done] = await chat.press(question, "Видалити все")
    assert done.text.startswith("✅ Видалено все, що я зберігав про чат 6161: 1 тег,")
    assert await stored(seeded, 6161) == 0


async def team(
    emu: EmulatorClient, emulator: Emulator, chat_id: int = TEAM, title: str = "Team"
) -> Group:
    """A supergroup BOSS created and MEMBER joined, with the bot added by BOSS."""
    await emu.create_chat(chat_id, "supergroup", title)
    await emu.set_member(chat_id, BOSS, "creator")
    await emu.set_member(chat_id, MEMBER, "member")
    await emu.set_member(chat_id, emulator.state.bot_user["id"], "member", by_user_id=BOSS)
    group = Group(emu, chat_id)
    await group.read()  # hello
    return group


async def test_in_a_group_only_administrators_export_or_delete(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    group = await team(emu, emulator)
    await group.say(BOSS, "/subscribe negotiations")
    refused = EN._(texts.DATA_ADMINS_ONLY)
    assert [m.text for m in await group.say(MEMBER, "/mydata")] == [plain(refused)]
    assert [m.text for m in await group.say(MEMBER, "/forget")] == [plain(refused)]
    [document] = await group.say(BOSS, "/mydata")
    assert document.file_name == f"newsbot-data-{TEAM}.json"
    assert json.loads(document.file or "")["subscriptions"] == ["negotiations"]
    [question] = await group.say(BOSS, "/forget")
    assert "Team" in question.text
    # A member presses the administrator's confirmation: refused, nothing deleted.
    data = question.button("Delete")["callback_data"]
    await emu.group_press(TEAM, MEMBER, question.message_id, data)
    assert await group.answers(1) == [EN._(texts.DATA_ADMINS_ONLY_NOTICE)]
    assert await stored(seeded, TEAM) > 0
    [done] = await group.press(BOSS, question, "Delete")
    assert done.text.startswith("✅ Deleted everything I stored about Team: 1 tag,")
    assert await stored(seeded, TEAM) == 0


async def test_a_linked_channel_is_exported_to_the_person_and_forgotten_with_its_links(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    channel = -1009
    await emu.create_chat(channel, "channel", "Daily News", username="dailynews")
    await emu.set_member(channel, BOSS, "creator")
    bot_id = emulator.state.bot_user["id"]
    await emu.set_member(channel, bot_id, "administrator", can_post_messages=True, by_user_id=BOSS)
    boss = Chat(emu, BOSS)
    await boss.ask("/channel @dailynews")
    await boss.ask("/subscribe negotiations")
    [document] = await boss.ask("/mydata")  # in the private chat, about the channel
    data = json.loads(document.file or "")
    assert data["chat_id"] == channel
    assert [link["user_id"] for link in data["links"]] == [BOSS]
    [question] = await boss.ask("/forget")
    [done] = await boss.press(question, "Delete")
    assert "Daily News" in done.text and "1 link" in done.text
    assert await stored(seeded, channel) == 0
    # The person's next command acts for their own chat again, not for a ghost channel.
    await boss.ask("/subscribe economy")
    assert await stored(seeded, channel) == 0
    assert await subscriber_id(seeded, BOSS) is not None


async def test_logs_at_info_carry_no_message_text_and_no_names(
    emu: EmulatorClient,
    emulator: Emulator,
    seeded: BotApplication,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Chat ids are fine; what people wrote, their names and chats' titles are not."""
    caplog.set_level(logging.INFO)
    secret = "Zyxwvut"
    person = Chat(emu, 7311, first_name=f"Ann{secret}Name")
    for said in (
        f"hello {secret}Text",
        f"/timezone {secret}Zone",
        f"/subscribe {secret}Tag",
        f"/follow {secret}word",
        f"/search {secret}query",
        f"/frequency {secret}often",
        f"/delete {secret}",
        "/mydata",
    ):
        await person.ask(said)
    await emu.create_chat(-1077, "supergroup", f"Team {secret}Title")
    await emu.set_member(-1077, BOSS, "creator")
    await emu.set_member(-1077, emulator.state.bot_user["id"], "member", by_user_id=BOSS)
    group = Group(emu, -1077)
    await group.read()
    await group.say(BOSS, f"/subscribe {secret}GroupTag")
    [question] = await person.ask("/forget")
    await person.press(question, "Delete")
    logged = [record.getMessage() for record in caplog.records]
    assert logged, "the bot logged something to check"
    assert [line for line in logged if secret.casefold() in line.casefold()] == []
