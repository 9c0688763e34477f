"""Groups, supergroups with topics and channels in the emulator, read back by
python-telegram-bot itself: what it parses here, it parses from Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import (
    Bot,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter

from emulator import Emulator, EmulatorClient, Group
from tests.auxil.loopback import loopback_request

GROUP = -100
SUPERGROUP = -1001000
CHANNEL = -1002000
OWNER = 11
ANN = 12


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    async with Bot(
        emulator.token, base_url=f"{emulator.url}/bot", request=loopback_request()
    ) as bot:
        yield bot


@pytest.fixture
def bot_id(emulator: Emulator) -> int:
    return int(emulator.state.bot_user["id"])


async def updates(bot: Bot) -> list[Update]:
    """The updates waiting for the bot, confirmed so that the next call sees only newer."""
    found = list(await bot.get_updates(timeout=0))
    if found:
        await bot.get_updates(offset=found[-1].update_id + 1, timeout=0)
    return found


async def joined(emu: EmulatorClient, chat_id: int, bot_id: int, status: str = "member") -> None:
    await emu.set_member(chat_id, OWNER, "creator")
    await emu.set_member(chat_id, bot_id, status, can_post_messages=True)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("creator", ChatMemberOwner),
        ("administrator", ChatMemberAdministrator),
        ("member", ChatMemberMember),
        ("restricted", ChatMemberRestricted),
        ("left", ChatMemberLeft),
        ("kicked", ChatMemberBanned),
    ],
)
async def test_get_chat_member_parses_for_every_status(
    emu: EmulatorClient, bot: Bot, status: str, kind: type
) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers", forum=True)
    await emu.set_member(SUPERGROUP, ANN, status, is_anonymous=True)
    member = await bot.get_chat_member(SUPERGROUP, ANN)
    assert type(member) is kind
    assert member.status == status
    assert member.user.id == ANN


async def test_get_chat_member_nobody_channel_admins_and_unknown_chats(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(CHANNEL, "channel", "News", username="NewsChannel")
    assert isinstance(await bot.get_chat_member(CHANNEL, ANN), ChatMemberLeft)
    await emu.set_member(CHANNEL, bot_id, "administrator", can_post_messages=True)
    admin = await bot.get_chat_member("@newschannel", bot_id)
    assert isinstance(admin, ChatMemberAdministrator)
    assert admin.can_post_messages is True
    assert admin.user.is_bot
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat_member(-42, ANN)


async def test_get_chat_by_username_any_case(emu: EmulatorClient, bot: Bot) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers", username="Readers", forum=True)
    chat = await bot.get_chat("@READERS")
    assert isinstance(chat, ChatFullInfo)
    assert (chat.id, chat.type, chat.title, chat.username) == (
        SUPERGROUP,
        "supergroup",
        "Readers",
        "Readers",
    )
    assert chat.is_forum is True
    private = await bot.get_chat(ANN)
    assert private.type == "private"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat("@nobody_here")


async def test_bot_must_belong_to_a_group_to_write(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(GROUP, "group", "Friends")
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await bot.send_message(GROUP, "hello")
    await emu.set_member(GROUP, bot_id, "member")
    sent = await bot.send_message(GROUP, "hello")
    assert sent.chat.type == "group"
    assert sent.chat.title == "Friends"
    await emu.set_member(GROUP, bot_id, "kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(GROUP, "again")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.edit_message_text("edited", GROUP, sent.message_id)


async def test_channel_needs_an_administrator_who_may_post(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(CHANNEL, "channel", "News")
    with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
        await bot.send_message(CHANNEL, "post")
    await emu.set_member(CHANNEL, bot_id, "administrator")
    with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "post")
    await emu.set_member(CHANNEL, bot_id, "administrator", can_post_messages=True)
    post = await bot.send_message(CHANNEL, "post")
    assert post.sender_chat is not None
    assert post.sender_chat.id == CHANNEL
    assert post.from_user is None


async def test_my_chat_member_update_when_the_bot_is_added(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers")
    await emu.set_member(SUPERGROUP, OWNER, "creator")
    await emu.set_member(SUPERGROUP, ANN, "administrator")
    await emu.set_member(SUPERGROUP, bot_id, "member")
    await emu.set_member(SUPERGROUP, bot_id, "administrator", by_user_id=ANN)
    added, promoted = [u.my_chat_member for u in await updates(bot)]
    assert added is not None
    assert promoted is not None
    assert added.chat.id == SUPERGROUP
    assert added.from_user.id == OWNER  # the creator, as nobody was named
    assert isinstance(added.old_chat_member, ChatMemberLeft)
    assert isinstance(added.new_chat_member, ChatMemberMember)
    assert added.new_chat_member.user.id == bot_id
    assert promoted.from_user.id == ANN
    assert isinstance(promoted.old_chat_member, ChatMemberMember)
    assert isinstance(promoted.new_chat_member, ChatMemberAdministrator)


async def test_group_messages_plain_and_from_an_anonymous_admin(
    emu: EmulatorClient, bot: Bot
) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers", forum=True)
    await emu.set_language(ANN, "de")
    await emu.group_text(SUPERGROUP, ANN, "/digest@newsbot_demo_bot", thread_id=5)
    await emu.group_text(SUPERGROUP, OWNER, "/settings", anonymous=True)
    plain, anonymous = [u.message for u in await updates(bot)]
    assert plain is not None
    assert anonymous is not None
    assert plain.chat.id == SUPERGROUP
    assert plain.from_user is not None
    assert (plain.from_user.id, plain.from_user.language_code) == (ANN, "de")
    assert plain.message_thread_id == 5
    assert plain.is_topic_message is True
    assert plain.text == "/digest@newsbot_demo_bot"
    assert plain.entities[0].type == "bot_command"
    assert plain.entities[0].length == len(plain.text)
    assert plain.sender_chat is None
    assert anonymous.from_user is not None
    assert anonymous.from_user.username == "GroupAnonymousBot"
    assert anonymous.from_user.id == 1087968824
    assert anonymous.sender_chat is not None
    assert anonymous.sender_chat.id == SUPERGROUP
    assert anonymous.message_thread_id is None


async def test_channels_take_no_group_messages(emu: EmulatorClient) -> None:
    await emu.create_chat(CHANNEL, "channel", "News")
    with pytest.raises(httpx.HTTPStatusError, match="is a channel"):
        await emu.group_text(CHANNEL, ANN, "hi")


async def test_topics_route_messages_and_deleted_ones_refuse(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers", forum=True)
    await joined(emu, SUPERGROUP, bot_id)
    await emu.create_topic(SUPERGROUP, 7, "Tech")
    group = Group(emu, SUPERGROUP)
    in_topic = await bot.send_message(SUPERGROUP, "tech news", message_thread_id=7)
    assert in_topic.message_thread_id == 7
    await bot.send_message(SUPERGROUP, "general", message_thread_id=1)
    await bot.send_message(SUPERGROUP, "no topic named")
    read = await group.read(3)
    assert [(m.text, m.thread_id) for m in read] == [
        ("tech news", 7),
        ("general", 1),
        ("no topic named", None),
    ]
    await emu.delete_topic(SUPERGROUP, 7)
    with pytest.raises(BadRequest, match="Topic_deleted"):
        await bot.send_message(SUPERGROUP, "tech news", message_thread_id=7)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_document(SUPERGROUP, b"x", filename="a.txt", message_thread_id=8)


async def test_a_closed_topic_refuses_the_bot_unless_it_manages_topics(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(SUPERGROUP, "supergroup", "Readers", forum=True)
    await joined(emu, SUPERGROUP, bot_id, "administrator")
    await emu.create_topic(SUPERGROUP, 7, "Tech")
    posted = await bot.send_message(SUPERGROUP, "before", message_thread_id=7)
    await emu.close_topic(SUPERGROUP, 7)
    with pytest.raises(BadRequest, match="Topic_closed"):
        await bot.send_message(SUPERGROUP, "tech news", message_thread_id=7)
    edited = await bot.edit_message_text("edited", SUPERGROUP, posted.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "edited"  # its own message stays editable
    await bot.send_message(SUPERGROUP, "general")  # other topics are open
    await emu.close_topic(SUPERGROUP, 1)
    with pytest.raises(BadRequest, match="Topic_closed"):
        await bot.send_message(SUPERGROUP, "general")
    with pytest.raises(httpx.HTTPStatusError, match="TOPIC_NOT_MODIFIED"):
        await emu.close_topic(SUPERGROUP, 1)
    await emu.set_member(SUPERGROUP, bot_id, "administrator", can_manage_topics=True)
    assert (await bot.send_message(SUPERGROUP, "managed", message_thread_id=7)).text
    await emu.set_member(SUPERGROUP, bot_id, "administrator")
    await emu.close_topic(SUPERGROUP, 7, closed=False)
    reopened = await bot.send_message(SUPERGROUP, "again", message_thread_id=7)
    assert reopened.message_thread_id == 7


async def test_migrated_group_refuses_its_old_id(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(GROUP, "group", "Friends")
    await joined(emu, GROUP, bot_id)
    await updates(bot)
    await emu.migrate_group(GROUP, SUPERGROUP, by_user_id=OWNER)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "hello")
    assert caught.value.new_chat_id == SUPERGROUP
    with pytest.raises(ChatMigrated):
        await bot.send_document(GROUP, b"x", filename="a.txt")
    moved = await bot.send_message(SUPERGROUP, "hello")
    assert moved.chat.type == "supergroup"
    assert moved.chat.title == "Friends"
    assert isinstance(await bot.get_chat_member(SUPERGROUP, OWNER), ChatMemberOwner)
    farewell, welcome = [u.message for u in await updates(bot)]
    assert farewell is not None
    assert welcome is not None
    assert (farewell.chat.id, farewell.migrate_to_chat_id) == (GROUP, SUPERGROUP)
    assert (welcome.chat.id, welcome.migrate_from_chat_id) == (SUPERGROUP, GROUP)
    assert farewell.from_user is not None
    assert farewell.from_user.id == OWNER


async def test_forwarded_channel_post(emu: EmulatorClient, bot: Bot) -> None:
    await emu.create_chat(CHANNEL, "channel", "News", username="news")
    await emu.forward_channel_post(ANN, CHANNEL)
    (update,) = await updates(bot)
    message = update.message
    assert message is not None
    assert message.chat.type == "private"
    assert message.chat.id == ANN
    origin = message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert origin.chat.id == CHANNEL
    assert origin.chat.username == "news"
    assert origin.message_id >= 1
    assert message.api_kwargs["forward_from_chat"]["id"] == CHANNEL
    assert message.api_kwargs["forward_from_message_id"] == origin.message_id


async def test_group_helper_presses_and_reads_answers(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    await emu.create_chat(GROUP, "group", "Friends")
    await joined(emu, GROUP, bot_id)
    await updates(bot)
    group = Group(emu, GROUP)
    assert await group.say(ANN, "hi", expect=0) == []
    (said,) = await updates(bot)
    assert said.message is not None
    assert said.message.text == "hi"
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    await bot.send_message(GROUP, "Agree?", reply_markup=buttons)
    (asked,) = await group.read()
    assert asked.button_texts == ["Yes"]
    assert await group.press(ANN, asked, "Yes", expect=0) == []
    (pressed,) = await updates(bot)
    query = pressed.callback_query
    assert query is not None
    assert query.data == "y"
    assert query.from_user.id == ANN
    assert query.message is not None
    assert query.message.chat.id == GROUP
    await bot.answer_callback_query(query.id, "Noted")
    assert await group.answers() == ["Noted"]


async def test_a_press_in_a_group_comes_in_every_shape_a_private_one_does(
    emu: EmulatorClient, bot: Bot, bot_id: int
) -> None:
    """One press for both kinds of chat: a game's button, or one that carries nothing."""
    await emu.create_chat(GROUP, "group", "Friends")
    await joined(emu, GROUP, bot_id)
    sent = await bot.send_message(GROUP, "Play?")
    await updates(bot)
    await emu.press_shape(ANN, chat_id=GROUP, message_id=sent.message_id, game_short_name="g")
    await emu.press_shape(ANN, chat_id=GROUP, message_id=sent.message_id)
    game, empty = [update.callback_query for update in await updates(bot)]
    assert game is not None
    assert empty is not None
    assert (game.game_short_name, game.data) == ("g", None)
    assert (empty.game_short_name, empty.data) == (None, None)
    assert empty.message is not None
    assert empty.message.chat.id == GROUP
    assert empty.from_user.id == ANN


async def test_group_window_answers_429(emu: EmulatorClient, bot: Bot, bot_id: int) -> None:
    for chat_id in (GROUP, -101):
        await emu.create_chat(chat_id, "group", "Friends")
        await joined(emu, chat_id, bot_id)
    await emu.set_limits(
        enabled=True,
        per_group_per_window=3,
        group_window_seconds=1.0,
        per_second=1000,
        burst=1000,
        per_chat_per_second=1000,
        per_chat_burst=1000,
    )
    for n in range(3):
        await bot.send_message(GROUP, f"message {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "one too many")
    assert caught.value.retry_after == timedelta(seconds=1)
    await bot.send_message(-101, "another group has its own window")
    await bot.send_message(ANN, "private chats are not counted")
    assert (await emu.stats())["429"] == 1
