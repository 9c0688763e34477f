"""Hostile titles in the digest, compact and full: HTML, right-to-left text and its
controls, Cyrillic, very long; /settings' layout buttons pressed by a group's member; story
links for a story whose reports the reader muted."""

from __future__ import annotations

from telegram.constants import MessageLimit

from bot.telegram import buttons
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient, Group
from emulator.client import BotMessage
from emulator.utf16 import utf16_len
from tests.test_privacy import BOSS, MEMBER, subscriber_id

HTML = '<b>Bold</b> & <a href="javascript:x">"quotes"</a> </i> &amp;'
RTL = "\u200fשלום עולם\u200e מבזק חדשות"
OVERRIDE = "Evil \u202eesrever\u202c headline \u2067isolate"
CYRILLIC = "Переговори в Стамбулі: зерновий коридор"
LONG = ("word0 " + " ".join(f"w{n:03d}" for n in range(1, 100)))[:300]  # the longest allowed


def _article(title: str, minute: int) -> str:
    return (
        f"Hostile 2026-11-20T10:{minute:02d}:00+00:00\nHostile Desk\n{title}\n\n"
        f"hostile\n\nLead sentence number {minute} of its own. Body.\n"
    )


async def _add_all(admin: Chat) -> list[str]:
    titles = [HTML, RTL, OVERRIDE, CYRILLIC, LONG]
    for minute, title in enumerate(titles):
        [stored] = await admin.ask("/add\n" + _article(title, minute))
        assert stored.text.startswith("✅ Article stored"), stored.text
    return titles


def _fits(messages: list[BotMessage]) -> None:
    for message in messages:
        assert utf16_len(message.text) <= MessageLimit.MAX_TEXT_LENGTH


async def test_hostile_titles_in_the_compact_layout_stay_one_line_each(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    await _add_all(admin)
    await user.ask("/subscribe hostile")
    [settings] = await user.ask("/settings")
    await user.press(settings, "📋 Compact layout")
    digest = await user.ask("/digest", expect=1)
    _fits(digest)
    lines = [line for message in digest for line in message.text.splitlines()[1:] if line]
    assert len(lines) == 5, lines
    assert any(line.startswith(HTML) for line in lines), lines  # shown as written, escaped
    assert any(RTL in line for line in lines)
    assert any(line.startswith(CYRILLIC) for line in lines)
    long_line = next(line for line in lines if line.startswith("word0 "))
    assert long_line.startswith(LONG[:150]), long_line
    # A title's direction controls would turn the source after it around: they are gone.
    evil = next(line for line in lines if line.startswith("Evil"))
    assert evil == "Evil esrever headline isolate · Hostile Desk · just now"
    assert all(line.count(" · Hostile Desk · ") == 1 for line in lines), lines


async def test_hostile_titles_in_the_full_layout(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    await _add_all(admin)
    await user.ask("/subscribe hostile")
    digest = await user.ask("/digest", expect=1)
    _fits(digest)
    text = "\n".join(message.text for message in digest)
    for title in (HTML, RTL, CYRILLIC):
        assert title in text


async def test_settings_layout_buttons_pressed_by_a_groups_member_change_nothing(
    emu: EmulatorClient, emulator: Emulator, app: BotApplication
) -> None:
    await emu.create_chat(-1004, "supergroup", "Team")
    await emu.set_member(-1004, BOSS, "creator")
    await emu.set_member(-1004, MEMBER, "member")
    await emu.set_member(-1004, emulator.state.bot_user["id"], "member", by_user_id=BOSS)
    group = Group(emu, -1004)
    await group.read()
    [settings] = await group.say(BOSS, "/settings")
    for label in ("🏷 Hide tags", "📋 Compact layout"):
        data = settings.button(label)["callback_data"]
        await emu.group_press(-1004, MEMBER, settings.message_id, data)
    said = await group.answers(2)
    assert all("admin" in notice for notice in said), said
    [again] = await group.say(BOSS, "/settings")
    assert "Tags in digests: shown\nLayout: full" in again.text


async def test_a_story_link_for_reports_the_reader_muted_lists_them_on_request(
    user: Chat, seeded: BotApplication
) -> None:
    """The link is a request for that story (from a group's digest, say): its reports are
    listed though the reader's own digests leave them out."""
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    url = digest.buttons[0][0]["url"]
    payload = url.partition("?start=")[2]
    await user.ask("/mute prisoner")
    [reply] = await user.ask(f"/start {payload}")
    assert reply.text.startswith("📚 Prisoner exchange talks continue with mediation: 2 reports")
    listed = reply.text
    # Only the first word counts (Telegram's /start passes one); the rest is a clear answer.
    [extra] = await user.ask(f"/start {payload} extra")
    assert extra.text == listed
    for odd in (f"{payload}\u200b", payload.upper(), f"s+{payload[1:]}", f"s{payload[1:]}.0",
                "s٣", "s²", "s" + "9" * 40):  # fmt: skip
        [answer] = await user.ask(f"/start {odd}")
        assert answer.text.startswith("That link does not name a story"), (odd, answer.text)


async def test_a_layout_button_forged_for_another_chat_changes_nothing(
    emu: EmulatorClient, user: Chat, app: BotApplication
) -> None:
    victim = Chat(emu, 5252)
    await victim.ask("/subscribe economy")
    theirs = await subscriber_id(app, 5252)
    assert theirs is not None
    [settings] = await user.ask("/settings")
    for forged in (buttons.DigestLayout(True, theirs), buttons.DigestTags(False, theirs)):
        await emu.press(user.user_id, settings.message_id, buttons.encode(forged))
    said = await user.answers(2)
    assert all(said), said
    [theirs_now] = await victim.ask("/settings")
    assert "Tags in digests: shown\nLayout: full" in theirs_now.text
