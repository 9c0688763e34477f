"""Concurrency between chats, order within a chat, and the flood throttle: a token
bucket per person (per member in a group, for what is addressed to the bot)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from telegram import Chat as TgChat
from telegram import Message, MessageEntity, User

from bench.session import (
    LANGUAGE,
    NEXT,
    PREVIOUS,
    REMOVE,
    SESSION,
    TOGGLE,
    needed_burst,
    times,
)
from bot import texts
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import translator
from bot.telegram.context import BotApplication
from bot.telegram.updates import Throttle, Verdict, addressed_to_bot
from emulator import Emulator, EmulatorClient, Group
from emulator.client import BotMessage, Chat
from storage import repo
from storage.models import Subscription
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot

EN, UK = translator("en"), translator("uk")
SLOW_DOWN = EN._(texts.SLOW_DOWN)
BOT, BOSS, MEMBER, OTHER = 123456, 3001, 3002, 3003
TEAM = -1001


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def throttled(app: BotApplication, burst: int, rate: float) -> Ticks:
    """The running bot's throttle, at these settings, on a clock the test moves."""
    ticks = Ticks()
    app.update_processor.throttle = Throttle(burst, rate, clock=ticks)  # type: ignore[attr-defined]
    return ticks


# ---------------------------------------------------------------- the bucket


def test_throttle_admits_a_burst_then_its_rate_and_notifies_once() -> None:
    ticks = Ticks()
    throttle = Throttle(burst=3, rate=0.5, clock=ticks)
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ADMIT] * 3
    assert [throttle.check(1) for _ in range(3)] == [Verdict.NOTIFY, Verdict.DROP, Verdict.DROP]
    assert throttle.check(2) is Verdict.ADMIT  # another person is not affected
    ticks.now = 1.0
    assert throttle.check(1) is Verdict.DROP  # half a token
    ticks.now = 2.0
    assert throttle.check(1) is Verdict.ADMIT  # one token refilled
    assert throttle.check(1) is Verdict.NOTIFY  # a new flood gets its own single notice
    ticks.now = 100.0
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ADMIT] * 3
    # Presses are answered each time: they leave the one notice to a message after them.
    assert throttle.check(1, answered=True) is Verdict.DROP
    assert throttle.check(1) is Verdict.NOTIFY


def test_throttle_memory_is_bounded_over_many_senders() -> None:
    throttle = Throttle(burst=2, rate=1, max_keys=100, clock=Ticks())
    for sender in range(10_000):
        throttle.check(sender)
    assert len(throttle) == 100


def test_the_fastest_human_session_fits_the_default_bucket_with_room() -> None:
    """The measurement behind THROTTLE_BURST and THROTTLE_PER_SECOND (README)."""
    defaults = load_settings(_env_file=None)
    assert (len(SESSION), round(times()[-1], 2)) == (64, 19.35)
    assert needed_burst(defaults.throttle_per_second) == 45
    assert defaults.throttle_burst >= 1.3 * needed_burst(defaults.throttle_per_second)
    assert needed_burst(2.0) == 26


def test_the_old_throttle_setting_is_refused_by_name() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, throttle_window_seconds="10")
    assert str(caught.value).startswith("THROTTLE_WINDOW_SECONDS: no longer used")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, throttle_burst="0", throttle_per_second="fast")
    assert str(caught.value).splitlines() == [
        "THROTTLE_BURST: Input should be greater than or equal to 1",
        "THROTTLE_PER_SECOND: Input should be a valid number, unable to parse string as a number",
    ]


def group_message(text: str, **extra: object) -> Message:
    """A message in a supergroup, with its command and mention entities as Telegram sends."""
    entities = []
    if text.startswith("/"):
        entities.append(
            MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split(maxsplit=1)[0]))
        )
    if "@newsbot_demo_bot" in text and not text.startswith("/"):
        entities.append(MessageEntity(MessageEntity.MENTION, text.index("@"), 17))
    return Message(
        1,
        datetime(2026, 3, 2, tzinfo=UTC),
        TgChat(TEAM, TgChat.SUPERGROUP),
        from_user=User(MEMBER, "Ann", False),
        text=text,
        entities=entities,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "addressed"),
    [
        ("/help", True),
        ("/help@newsbot_demo_bot", True),
        ("/help@NewsBot_Demo_Bot", True),
        ("/help@otherbot", False),
        ("good morning", False),
        ("thanks @newsbot_demo_bot", True),
        ("see /help", False),  # a command not at the start is not one
    ],
)
def test_what_is_addressed_to_the_bot_in_a_group(text: str, addressed: bool) -> None:
    assert addressed_to_bot(group_message(text), BOT, "newsbot_demo_bot") is addressed


def test_a_reply_to_the_bots_message_is_addressed_to_it() -> None:
    def by(user: User) -> Message:
        return Message(7, datetime(2026, 3, 2, tzinfo=UTC), TgChat(TEAM, "supergroup"), user)

    mine, theirs = by(User(BOT, "Newsbot", True)), by(User(OTHER, "Bo", False))
    assert addressed_to_bot(group_message("and this?", reply_to_message=mine), BOT, "b")
    assert not addressed_to_bot(group_message("and this?", reply_to_message=theirs), BOT, "b")


# ---------------------------------------------------------------- chats


async def test_one_chats_updates_keep_their_order(
    emu: EmulatorClient, app: BotApplication
) -> None:
    first, second = Chat(emu, 501), Chat(emu, 502)
    for minute in range(15):
        await emu.send_text(first.user_id, f"/time 07:{minute:02d}")
        await emu.send_text(second.user_id, f"/time 19:{minute:02d}")
    for chat, hour in ((first, "07"), (second, "19")):
        replies = await chat.read(15)
        times = [line for r in replies for line in r.text.splitlines() if "Digest:" in line]
        assert times == [f"Digest: daily at {hour}:{m:02d}" for m in range(15)]


async def test_another_chat_is_answered_while_one_floods(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    paced = settings.model_copy(update={"rate_limit_per_chat_seconds": 0.05})
    async with running_bot(paced, clock=clock) as app:
        throttled(app, burst=20, rate=0.01)
        flooder, other = Chat(emu, 601), Chat(emu, 602)
        for _ in range(30):
            await emu.send_text(flooder.user_id, "/help")
        [help_reply] = await other.ask("/help")
        assert help_reply.text.startswith("Commands")
        so_far = await emu.events(flooder.user_id)
        assert len(so_far) < 20  # the flooder's paced replies were still coming
        replies = await flooder.read(21)
        assert [r.text.startswith("Commands") for r in replies] == [True] * 20 + [False]
        assert replies[-1].text.startswith(SLOW_DOWN)


async def test_a_flood_is_cut_with_one_notice_and_no_database_work(
    user: Chat, seeded: BotApplication
) -> None:
    throttled(seeded, burst=20, rate=0.01)
    async with seeded.bot_data.sessions() as session:
        names = sorted(t.name for t in await repo.tag_names(session))[:30]
    for name in names:
        await user.client.send_text(user.user_id, f"/subscribe {name}")
    replies = await user.read(21)
    assert [r.text for r in replies[:20]] == [f"✅ Subscribed to {n}" for n in names[:20]]
    assert replies[20].text.startswith(SLOW_DOWN)
    async with seeded.bot_data.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Subscription))
        subscriber = await repo.get_subscriber(session, user.user_id)
        assert subscriber is not None
        mine = await repo.subscribed_tags(session, subscriber.id)
    assert count == 20
    assert sorted(t.name for t in mine) == sorted(names[:20])


def _target(message: BotMessage, step_action: str, n: int) -> str:
    """The callback data a session step presses on the last message."""
    rows = [row for row in message.buttons if row]
    if step_action == NEXT:
        return message.button("Next")["callback_data"]  # type: ignore[no-any-return]
    if step_action == PREVIOUS:
        return message.button("Previous")["callback_data"]  # type: ignore[no-any-return]
    if step_action == TOGGLE:
        tags = [button for row in rows for button in row if ":p" not in button["text"]]
        return tags[n]["callback_data"]  # type: ignore[no-any-return]
    if step_action == REMOVE:
        return rows[0][0]["callback_data"]  # type: ignore[no-any-return]
    assert step_action == LANGUAGE
    other = next(b for row in rows for b in row if not b["text"].startswith("✅"))
    return other["callback_data"]  # type: ignore[no-any-return]


async def test_the_fastest_human_session_loses_nothing(user: Chat, seeded: BotApplication) -> None:
    """bench/session.py's 64 commands and presses in 19.35 s, through the emulator at the
    default settings, the throttle's clock following the session's own times. Before,
    20 updates in 10 s per chat: 24 of them were dropped, the presses left spinning."""
    ticks = Ticks()
    seeded.update_processor.throttle.clock = ticks  # type: ignore[attr-defined]
    last: BotMessage | None = None
    answered = 0
    for step in SESSION:
        ticks.now += step.gap
        if step.action.startswith("/"):
            [last] = await user.ask(step.action)
            continue
        assert last is not None
        await user.client.press(user.user_id, last.message_id, _target(last, step.action, step.n))
        answered += 1
        said = (await user.answers(answered))[-1]
        assert said not in {EN._(texts.TOO_FAST), UK._(texts.TOO_FAST)}, step
        [last] = await user.read()  # the redrawn page
    async with seeded.bot_data.sessions() as session:
        subscriber = await repo.get_subscriber(session, user.user_id)
        assert subscriber is not None
        assert subscriber.digest_time.strftime("%H:%M") == "07:30"
        assert subscriber.language == "en"  # switched to Ukrainian and back
    events = await user.client.events(user.user_id)
    assert not any(e["message"]["text"].startswith(SLOW_DOWN) for e in events)


async def test_every_press_beyond_the_bucket_is_answered_too_fast(
    user: Chat, seeded: BotApplication
) -> None:
    await user.speak("uk")
    [tags] = await user.ask("/tags")
    throttled(seeded, burst=3, rate=0.01)
    data = tags.button("Далі")["callback_data"]
    for _ in range(8):
        await user.client.press(user.user_id, tags.message_id, data)
    said = await user.answers(8)  # a refusal is answered at once, before the admitted
    assert sorted(said) == [""] * 3 + [UK._(texts.TOO_FAST)] * 5  # no spinner left
    await user.client.send_text(user.user_id, "/help")
    await user.client.send_text(user.user_id, "/help")
    [edit, notice] = await user.read(2)  # one page redrawn (twice more: not modified)
    assert (edit.edited, notice.text) == (True, UK._(texts.SLOW_DOWN))


# ---------------------------------------------------------------- groups


async def supergroup(emu: EmulatorClient, emulator: Emulator) -> Group:
    """A supergroup where the bot is an administrator (so it gets every message)."""
    await emu.create_chat(TEAM, "supergroup", "Team")
    await emu.set_member(TEAM, BOSS, "creator")
    for member in (MEMBER, OTHER):
        await emu.set_member(TEAM, member, "member")
    await emu.set_member(TEAM, emulator.state.bot_user["id"], "administrator", by_user_id=BOSS)
    group = Group(emu, TEAM)
    await group.read()  # the welcome
    return group


async def test_group_chatter_is_never_throttled_nor_answered(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    """Before, 21 ordinary messages in a second made the bot post "You are sending
    messages faster…" into the group and drop the owner's /subscribe."""
    throttled(seeded, burst=20, rate=0.01)
    group = await supergroup(emu, emulator)
    quiet = group.cursor
    for n in range(40):
        await emu.group_text(TEAM, MEMBER if n % 2 else OTHER, f"chatter {n}")
    await emu.group_document(TEAM, MEMBER, "minutes.txt", "Minutes of the meeting")
    await emu.group_document(TEAM, OTHER, "photos.zip", "PK")
    [done] = await group.say(BOSS, "/subscribe negotiations")
    assert done.text == "✅ Subscribed to negotiations"
    said = [e["message"]["text"] for e in await emu.events(TEAM, after=quiet)]
    assert said == [done.text]  # nothing else: chatter gets no answer


async def test_a_flooding_member_is_throttled_alone(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    throttled(seeded, burst=5, rate=0.01)
    group = await supergroup(emu, emulator)
    for _ in range(9):
        await emu.group_text(TEAM, MEMBER, "/help")
    replies = await group.read(6)
    assert [r.text.startswith("Commands") for r in replies] == [True] * 5 + [False]
    assert replies[-1].text == SLOW_DOWN  # once, as a reply to that member's message
    [done] = await group.say(BOSS, "/subscribe negotiations")  # another member is served
    assert done.text == "✅ Subscribed to negotiations"
