"""Groups, forum topics and channels end to end: the real Application against the
emulator's groups. Who may change a group's digest, where it goes, linking a channel,
removal and re-adding, migration to a supergroup, and pacing per group."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from bot import texts
from bot.config import Settings
from bot.i18n import translator
from bot.telegram.context import BotApplication
from bot.texts import digest as digest_texts
from bot.words.search import store_articles
from emulator import Chat, Emulator, EmulatorClient, Group
from emulator.html import parse_html
from emulator.settle import settled
from storage.models import ChatType, Subscriber, Subscription
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEED_TITLE, article
from tests.auxil.running import running_bot

EN = translator("en")
UK = translator("uk")
BOSS, MEMBER = 3001, 3002
TEAM, FORUM, NEWS = -1001, -1002, -1003

# A group's or a channel's digest is everyone's there (and the seeds have four stories).
GROUP_HEADER = digest_texts.digest_header(EN, 4, 0, group=True, weekly=False)


def plain(html: str) -> str:
    return parse_html(html)[0]


async def row(app: BotApplication, chat_id: int) -> Subscriber | None:
    async with app.bot_data.sessions() as session:
        return await session.scalar(select(Subscriber).where(Subscriber.chat_id == chat_id))


async def subscriptions_of(app: BotApplication, chat_id: int) -> int:
    async with app.bot_data.sessions() as session:
        query = (
            select(func.count())
            .select_from(Subscription)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscriber.chat_id == chat_id)
        )
        return int(await session.scalar(query) or 0)


async def team(emu: EmulatorClient, emulator: Emulator, kind: str = "group") -> Group:
    """A group with an owner and a member, and the bot added: it says hello."""
    await emu.create_chat(TEAM, kind, "Team")
    await emu.set_member(TEAM, BOSS, "creator")
    await emu.set_member(TEAM, MEMBER, "member")
    await emu.set_member(TEAM, emulator.state.bot_user["id"], "member", by_user_id=BOSS)
    group = Group(emu, TEAM)
    [hello] = await group.read()
    assert hello.text == plain(EN._(texts.GROUP_WELCOME))
    return group


async def test_only_a_groups_administrators_change_its_digest(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    group = await team(emu, emulator)
    await emu.set_language(BOSS, "uk")  # the group speaks DEFAULT_LANGUAGE, not theirs
    [refused] = await group.say(MEMBER, "/subscribe negotiations")
    assert refused.text == EN._(texts.GROUP_ADMINS_ONLY)
    assert await subscriptions_of(seeded, TEAM) == 0
    [done] = await group.say(BOSS, "/subscribe negotiations")
    assert done.text == "✅ Subscribed to negotiations"
    [listed] = await group.say(MEMBER, "/subscriptions")
    assert "• negotiations" in listed.text
    [digest] = await group.say(MEMBER, "/digest")
    assert digest.text.startswith(GROUP_HEADER)
    assert all(row[0]["url"].startswith("https://t.me/") for row in digest.buttons)
    assert SEED_TITLE in digest.text
    [settings] = await group.say(MEMBER, "/settings")
    assert settings.text == EN._(texts.GROUP_ADMINS_ONLY)
    [anonymous] = await group.say(0, "/time 09:15", anonymous=True)
    assert anonymous.text.startswith("Saved.")
    assert "Settings of Team" in anonymous.text
    stored = await row(seeded, TEAM)
    assert stored is not None
    assert (stored.chat_type, stored.title, stored.language) == (ChatType.GROUP, "Team", "en")
    assert stored.digest_time.strftime("%H:%M") == "09:15"


async def test_a_members_button_press_is_refused_and_changes_nothing(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    group = await team(emu, emulator)
    [welcome] = await group.say(BOSS, "/start")
    await group.press(MEMBER, welcome, "technology (10)", expect=0)
    assert await group.answers() == [EN._(texts.GROUP_ADMINS_ONLY_NOTICE)]
    assert await subscriptions_of(seeded, TEAM) == 0
    [edited] = await group.press(BOSS, welcome, "technology (10)")
    assert edited.button_texts[0] == "✅ technology (10)"
    assert await subscriptions_of(seeded, TEAM) == 1


async def test_other_bots_commands_and_chatter_get_no_answer_in_a_group(
    emu: EmulatorClient, emulator: Emulator, app: BotApplication
) -> None:
    group = await team(emu, emulator)
    await emu.group_text(TEAM, MEMBER, "/subscribe@otherbot negotiations")
    await emu.group_text(TEAM, MEMBER, "/nosuchcommand")
    await emu.group_text(TEAM, MEMBER, "good morning")
    # A group's updates are handled in order: the first answer is to /help.
    [first] = await group.say(MEMBER, "/help")
    assert first.text == plain(texts.help_text(EN, False))


async def forum_with_topic(emu: EmulatorClient, emulator: Emulator) -> Group:
    """A forum supergroup where the bot is an administrator (who may not manage topics),
    with topic 5, "News"."""
    await emu.create_chat(FORUM, "supergroup", "Forum", forum=True)
    await emu.set_member(FORUM, BOSS, "creator")
    await emu.set_member(FORUM, MEMBER, "member")
    await emu.set_member(FORUM, emulator.state.bot_user["id"], "administrator")
    await emu.create_topic(FORUM, 5, "News")
    forum = Group(emu, FORUM)
    [hello] = await forum.read()
    assert hello.thread_id is None
    return forum


async def next_digest(app: BotApplication, clock: FakeClock, day: int, title: str) -> None:
    """A new article on negotiations, and the digest time of ``day`` March comes."""
    async with app.bot_data.sessions.begin() as session:
        await store_articles(session, [article(title, "negotiations")], now=clock())
    clock.set(datetime(2026, 3, day, 8, 0, 10, tzinfo=UTC))
    await app.bot_data.deliverer.run_pass()


@pytest.mark.parametrize("refusal", ["closed", "deleted", "unknown"])
async def test_a_closed_or_deleted_topic_sends_digests_to_general_and_says_so_once(
    emu: EmulatorClient,
    emulator: Emulator,
    seeded: BotApplication,
    clock: FakeClock,
    refusal: str,
) -> None:
    """Telegram answers TOPIC_CLOSED, TOPIC_DELETED or "message thread not found"; each
    moves the digests to General, with one notice there. Before, only the last did (and
    silently): a closed topic failed the group's digest every day."""
    forum = await forum_with_topic(emu, emulator)
    [done] = await forum.say(BOSS, "/subscribe negotiations", thread_id=5)
    assert done.thread_id == 5  # the reply stays in the topic
    [settings] = await forum.say(BOSS, "/settings", thread_id=5)
    assert "Digests go to: topic 5" in settings.text
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    await seeded.bot_data.deliverer.run_pass()
    [digest] = await forum.read()
    assert (digest.thread_id, digest.text.splitlines()[0]) == (5, GROUP_HEADER)
    if refusal == "closed":
        await emu.close_topic(FORUM, 5)
    elif refusal == "deleted":
        await emu.delete_topic(FORUM, 5)
    else:  # a topic id Telegram never knew (say, a row from before a restore)
        async with seeded.bot_data.sessions.begin() as session:
            await session.execute(
                update(Subscriber).where(Subscriber.chat_id == FORUM).values(thread_id=77)
            )
    shown = 77 if refusal == "unknown" else 5
    await next_digest(seeded, clock, 3, "Talks resume")
    notice, moved = await forum.read(2)
    assert (notice.thread_id, moved.thread_id) == (None, None)  # General
    assert notice.text == plain(texts.topic_fallback(EN, shown, closed=refusal == "closed"))
    assert "Talks resume" in moved.text
    stored = await row(seeded, FORUM)
    assert stored is not None
    assert stored.thread_id is None
    await next_digest(seeded, clock, 4, "Talks end")
    [later] = await forum.read()  # told once: the next digest comes without a notice
    assert (later.thread_id, "Talks end" in later.text) == (None, True)
    if refusal == "closed":  # reopened, an administrator's command there chooses it again
        await emu.close_topic(FORUM, 5, closed=False)
        [again] = await forum.say(BOSS, "/settings", thread_id=5)
        assert "Digests go to: topic 5" in again.text
        await next_digest(seeded, clock, 5, "Talks restart")
        [back] = await forum.read()
        assert (back.thread_id, "Talks restart" in back.text) == (5, True)


async def test_a_reply_refused_in_a_closed_topic_is_explained_in_general(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    forum = await forum_with_topic(emu, emulator)
    await forum.say(BOSS, "/subscribe negotiations", thread_id=5)
    await emu.close_topic(FORUM, 5)
    # Administrators may still write in a closed topic; the bot may not answer there.
    [explained] = await forum.say(BOSS, "/settings", thread_id=5)
    assert explained.thread_id is None
    assert explained.text == plain(texts.topic_reply_refused(EN, 5, closed=True, moved=True))
    stored = await row(seeded, FORUM)
    assert stored is not None
    assert stored.thread_id is None  # the closed topic is no longer the destination
    [member] = await forum.say(MEMBER, "/subscriptions", thread_id=5)
    assert member.text == plain(texts.topic_reply_refused(EN, 5, closed=True, moved=False))


async def test_a_channel_is_linked_by_its_administrator_and_gets_its_digest(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication, clock: FakeClock
) -> None:
    bot_id = emulator.state.bot_user["id"]
    await emu.create_chat(NEWS, "channel", "Daily News", username="dailynews")
    await emu.set_member(NEWS, BOSS, "creator")
    boss, member = Chat(emu, BOSS), Chat(emu, MEMBER)
    [not_yet] = await boss.ask("/channel @dailynews")
    assert not_yet.text == plain(texts.of_chat(EN, texts.BOT_NOT_CHANNEL_ADMIN, "Daily News"))
    await emu.set_member(NEWS, bot_id, "administrator", can_post_messages=True, by_user_id=BOSS)
    [refused] = await member.ask("/channel @DailyNews")
    assert refused.text == plain(texts.of_chat(EN, texts.USER_NOT_CHANNEL_ADMIN, "Daily News"))
    [unknown] = await boss.ask("/channel @nosuchchannel")
    assert unknown.text == plain(texts.channel_not_found(EN, "@nosuchchannel"))
    [linked] = await boss.ask("/channel @DailyNews")
    assert linked.text == plain(texts.of_chat(EN, texts.CHANNEL_LINKED, "Daily News"))
    [done] = await boss.ask("/subscribe negotiations")
    assert done.text == "📢 For Daily News:\n✅ Subscribed to negotiations"
    assert await subscriptions_of(seeded, NEWS) == 1
    assert await subscriptions_of(seeded, BOSS) == 0
    [settings] = await boss.ask("/settings")
    assert settings.text.startswith("Settings of Daily News")
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    await seeded.bot_data.deliverer.run_pass()
    [post] = await Group(emu, NEWS).read()
    assert post.text.splitlines()[0] == GROUP_HEADER
    # "Show all N reports" under a channel's post: a URL to the bot, which answers any
    # reader (here one who is no administrator) in their private chat.
    [button, _] = [row[0] for row in post.buttons]
    assert button["url"].startswith("https://t.me/newsbot_demo_bot?start=s")
    [listing] = await member.ask("/start " + button["url"].partition("?start=")[2])
    assert listing.text.startswith("📚 ") and ": 2 reports, earliest first" in listing.text
    [listing] = await boss.ask("/channels")
    assert listing.button_texts == ["Daily News", EN._(texts.OWN_CHAT_BUTTON)]
    await boss.press(listing, EN._(texts.OWN_CHAT_BUTTON), expect=0)
    assert await boss.answers() == [EN._(texts.BACK_TO_ME)]
    [own] = await boss.ask("/subscriptions")
    assert own.text == plain(EN._(texts.NO_SUBSCRIPTIONS))
    await emu.forward_channel_post(BOSS, NEWS)
    [again] = await boss.read()
    assert again.text == plain(texts.of_chat(EN, texts.CHANNEL_LINKED, "Daily News"))
    [back] = await boss.ask("/channel me")
    assert back.text == EN._(texts.BACK_TO_ME)


async def daily_news(emu: EmulatorClient, emulator: Emulator) -> Chat:
    """The channel Daily News, which the bot may post in; BOSS, its owner, linked it from
    a private chat where BOSS already follows "technology" for themself."""
    bot_id = emulator.state.bot_user["id"]
    await emu.create_chat(NEWS, "channel", "Daily News", username="dailynews")
    await emu.set_member(NEWS, BOSS, "creator")
    await emu.set_member(NEWS, bot_id, "administrator", can_post_messages=True, by_user_id=BOSS)
    boss = Chat(emu, BOSS)
    await boss.ask("/subscribe technology")
    await boss.ask("/channel @dailynews")
    return boss


async def language_of(app: BotApplication, chat_id: int) -> str:
    stored = await row(app, chat_id)
    assert stored is not None
    return stored.language


async def test_an_older_button_acts_for_the_chat_it_was_shown_for(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    """Before, a button acted for whichever chat was selected when it was pressed: the ✖
    of one's own /subscriptions, pressed after /channel, unsubscribed the channel."""
    boss = await daily_news(emu, emulator)
    await boss.ask("/channel me")
    [own_list] = await boss.ask("/subscriptions")
    [own_language] = await boss.ask("/language")
    await boss.ask("/channel @dailynews")
    [channel_list] = await boss.ask("/subscribe technology, negotiations", expect=1)
    [channel_list] = await boss.ask("/subscriptions")
    [redrawn] = await boss.press(own_list, "✖ technology")
    assert await boss.answers() == ["Unsubscribed from technology"]
    assert await subscriptions_of(seeded, BOSS) == 0
    assert await subscriptions_of(seeded, NEWS) == 2  # the selected channel kept its own
    await boss.press(own_language, "Українська")
    assert (await language_of(seeded, BOSS), await language_of(seeded, NEWS)) == ("uk", "en")
    assert not redrawn.text.startswith("📢")  # still one's own list
    assert channel_list.text.startswith("📢 For Daily News:\n")
    await boss.ask("/channel me")
    [channel_redrawn] = await boss.press(channel_list, "✖ negotiations")  # an older one too
    assert channel_redrawn.text.startswith("📢 Для Daily News:\n")  # their language is uk
    assert await subscriptions_of(seeded, NEWS) == 1
    # No longer the channel's administrator: its buttons refuse, and change nothing.
    await emu.set_member(NEWS, BOSS, "member")
    seeded.bot_data.admins.forget(NEWS)
    await emu.press(
        BOSS, channel_list.message_id, channel_list.button("technology")["callback_data"]
    )
    answers = await boss.answers(4)
    assert answers[-1] == UK._("You are no longer an administrator of {name}.", name="Daily News")
    assert await subscriptions_of(seeded, NEWS) == 1


async def test_a_button_naming_a_chat_that_is_not_the_pressers_is_refused(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    await daily_news(emu, emulator)
    channel = await row(seeded, NEWS)
    assert channel is not None
    member = Chat(emu, MEMBER)
    [own] = await member.ask("/tags")
    tag = own.buttons[0][0]["callback_data"].split(":")[1]
    await emu.press(MEMBER, own.message_id, f"t:{tag}:0:{channel.id}")  # forged
    await emu.press(MEMBER, own.message_id, f"t:{tag}:0:999999")  # no such chat
    assert await member.answers(2) == [
        EN._(texts.BUTTON_INVALID),
        EN._(texts.CHAT_GONE_PRESS),
    ]
    assert await subscriptions_of(seeded, NEWS) == 0
    group = await team(emu, emulator)
    [welcome] = await group.say(BOSS, "/start")
    await emu.group_press(TEAM, BOSS, welcome.message_id, f"t:{tag}:s:{channel.id}")
    assert await group.answers() == [EN._(texts.BUTTON_INVALID)]
    assert (await subscriptions_of(seeded, NEWS), await subscriptions_of(seeded, TEAM)) == (0, 0)


async def test_digest_acts_for_the_selected_channel_after_a_confirmation(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication
) -> None:
    """Before, /digest with a channel selected posted in the channel at once, without a
    word in private; with a subscription of one's own it sent one's own digest instead."""
    boss = await daily_news(emu, emulator)
    await boss.ask("/subscribe negotiations")
    channel = Group(emu, NEWS)
    [question] = await boss.ask("/digest")
    assert question.text == plain(texts.post_digest_question(EN, "Daily News"))
    assert question.button_texts == [EN._(texts.POST_DIGEST_BUTTON), EN._(texts.CANCEL_BUTTON)]
    [cancelled] = await boss.press(question, EN._(texts.CANCEL_BUTTON))
    assert cancelled.text == EN._(texts.DIGEST_NOT_POSTED)
    [question] = await boss.ask("/digest")
    [posted] = await boss.press(question, EN._(texts.POST_DIGEST_BUTTON))
    assert posted.text == plain(texts.digest_posted(EN, "Daily News", "sent"))
    [digest] = await channel.read()
    assert digest.text.splitlines()[0] == GROUP_HEADER
    assert SEED_TITLE in digest.text
    [again] = await boss.ask("/digest")
    [nothing] = await boss.press(again, EN._(texts.POST_DIGEST_BUTTON))
    assert nothing.text == plain(texts.nothing_new_for(EN, "Daily News"))
    assert await channel.read(0) == []
    await boss.ask("/channel me")
    [own] = await boss.ask("/digest")  # one's own digest, in private
    assert own.text.startswith("📰 Your digest: ")
    assert "technology" in own.text
    # Removed from the channel: the confirmation says so.
    await boss.ask("/channel @dailynews")
    [question] = await boss.ask("/digest")
    async with seeded.bot_data.sessions.begin() as session:
        await store_articles(
            session, [article("Talks resume", "negotiations")], now=seeded.bot_data.clock()
        )
    await emu.set_member(NEWS, emulator.state.bot_user["id"], "left")
    [gone] = await boss.press(question, EN._(texts.POST_DIGEST_BUTTON))
    assert gone.text == plain(texts.digest_posted(EN, "Daily News", "blocked"))


async def test_a_removed_bot_sends_nothing_until_it_is_added_again(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication, clock: FakeClock
) -> None:
    group = await team(emu, emulator)
    await group.say(BOSS, "/subscribe negotiations")
    bot_id = emulator.state.bot_user["id"]
    await emu.set_member(TEAM, bot_id, "kicked", by_user_id=BOSS)
    await group.say(BOSS, "/help", expect=0)
    assert await settled(seeded, emulator)
    assert await group.read(0) == []  # nothing reaches a group the bot left
    stored = await row(seeded, TEAM)
    assert stored is not None
    assert stored.blocked
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.due == 0
    await emu.set_member(TEAM, bot_id, "member", by_user_id=BOSS)
    [hello] = await group.read()
    assert hello.text == plain(EN._(texts.GROUP_WELCOME))
    stored = await row(seeded, TEAM)
    assert stored is not None
    assert not stored.blocked
    clock.set(datetime(2026, 3, 3, 8, 0, 10, tzinfo=UTC))
    await seeded.bot_data.deliverer.run_pass()
    [digest] = await group.read()
    assert digest.text.splitlines()[0] == GROUP_HEADER


async def test_a_group_that_becomes_a_supergroup_keeps_its_digest(
    emu: EmulatorClient, emulator: Emulator, seeded: BotApplication, clock: FakeClock
) -> None:
    group = await team(emu, emulator)
    await group.say(BOSS, "/subscribe negotiations")
    await emu.migrate_group(TEAM, FORUM, by_user_id=BOSS)
    supergroup = Group(emu, FORUM)
    # The supergroup's updates are handled in order: its migration message came first.
    [listed] = await supergroup.say(MEMBER, "/subscriptions")
    assert "• negotiations" in listed.text
    assert await row(seeded, TEAM) is None
    moved = await row(seeded, FORUM)
    assert moved is not None
    assert moved.chat_type is ChatType.SUPERGROUP
    # A row the migration message missed follows Telegram's "upgraded" answer instead.
    async with seeded.bot_data.sessions.begin() as session:
        await session.execute(
            update(Subscriber).where(Subscriber.chat_id == FORUM).values(chat_id=TEAM)
        )
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    await seeded.bot_data.deliverer.run_pass()
    [digest] = await supergroup.read()
    assert digest.text.splitlines()[0] == GROUP_HEADER
    assert await row(seeded, FORUM) is not None


async def test_messages_to_a_group_are_paced_to_its_limit(
    emu: EmulatorClient, emulator: Emulator, settings: Settings, clock: FakeClock
) -> None:
    """Telegram's 20 a minute, scaled down: the emulator takes 3 a second in a group and
    answers 429 beyond; the pacer keeps every reply within it."""
    await emu.set_limits(
        enabled=True,
        per_second=1000,
        burst=1000,
        per_chat_per_second=1000,
        per_chat_burst=1000,
        per_group_per_window=3,
        group_window_seconds=1.0,
    )
    paced = settings.model_copy(update={"rate_limit_per_group_seconds": 0.35})
    async with running_bot(paced, clock=clock):
        group = await team(emu, emulator)
        for _ in range(5):
            await emu.group_text(TEAM, MEMBER, "/help")
        replies = await group.read(5)
    assert [r.text for r in replies] == [plain(texts.help_text(EN, False))] * 5
    assert (await emu.stats()).get("429", 0) == 0
    assert emulator.state.counters["messages"] == 6  # the welcome and five replies


async def test_what_is_not_a_channel_someone_may_link_gets_a_clear_answer(
    emu: EmulatorClient, emulator: Emulator, app: BotApplication
) -> None:
    group = await team(emu, emulator)
    [in_group] = await group.say(BOSS, "/channel @anything")
    assert in_group.text == EN._(texts.CHANNEL_IN_PRIVATE)
    await emu.create_chat(NEWS, "supergroup", "Not A Channel", username="notachannel")
    boss = Chat(emu, BOSS)
    [not_channel] = await boss.ask("/channel @notachannel")
    assert not_channel.text == plain(texts.of_chat(EN, texts.NOT_A_CHANNEL, "Not A Channel"))
    hostile = "<b>&" + "й" * 3000
    [unknown] = await boss.ask(f"/channel {hostile}")
    assert unknown.text == plain(texts.channel_not_found(EN, hostile))
    assert len(unknown.text) < 300
    [huge] = await boss.ask("/channel -" + "9" * 40)
    assert huge.text == plain(texts.channel_not_found(EN, "-" + "9" * 40))
    [usage] = await boss.ask("/channel")
    assert usage.text == plain(EN._(texts.CHANNEL_USAGE))
    [none] = await boss.ask("/channels")
    assert none.text.startswith(EN._(texts.NO_CHANNELS))
    await boss.client.press(BOSS, none.message_id, "c:999")
    assert await boss.answers() == [EN._(texts.BUTTON_INVALID)]
