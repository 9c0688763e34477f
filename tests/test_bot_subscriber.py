"""Subscriber commands end to end: the real Application long-polls the emulator over HTTP."""

from __future__ import annotations

import re

from bot import texts
from bot.i18n import translator
from bot.telegram.context import BotApplication
from bot.texts import COMMANDS
from emulator.client import Chat
from tests.auxil.data import SEED_SUMMARY, SEED_TITLE

EN = translator("en")


async def test_start_welcomes_with_popular_tags_as_buttons(
    user: Chat, seeded: BotApplication
) -> None:
    [welcome] = await user.ask("/start")
    assert "Welcome to newsbot" in welcome.text
    assert "/subscribe" in welcome.text
    assert welcome.button_texts[0] == "technology (10)"
    assert len(welcome.button_texts) == 6
    [edited] = await user.press(welcome, "technology")
    assert edited.edited
    assert edited.button_texts[0] == "✅ technology (10)"
    [subs] = await user.ask("/subscriptions")
    assert "• technology" in subs.text


async def test_commands_menu_is_registered(user: Chat, app: BotApplication) -> None:
    commands = await app.bot.get_my_commands()
    assert [c.command for c in commands] == [c.name for c in COMMANDS if not c.admin]


async def test_help_lists_every_command(user: Chat, admin: Chat) -> None:
    [reply] = await user.ask("/help")
    for command in COMMANDS:
        assert (f"/{command.name} — " in reply.text) != command.admin
    assert "/add" not in reply.text
    [admin_reply] = await admin.ask("/help")
    assert "/add — " in admin_reply.text
    assert "/stats — " in admin_reply.text


async def test_subscribe_confirms_by_display_name(user: Chat, seeded: BotApplication) -> None:
    [reply] = await user.ask("/subscribe negotiations, #united  KINGDOM")
    assert reply.text.splitlines() == [
        "✅ Subscribed to negotiations",
        "✅ Subscribed to United Kingdom",
    ]
    assert reply.bold() == ["negotiations", "United Kingdom"]
    [again] = await user.ask("/subscribe Negotiations")
    assert again.text == "☑️ Already subscribed to negotiations"


async def test_subscribe_unknown_tags(user: Chat, seeded: BotApplication) -> None:
    [reply] = await user.ask("/subscribe negotiatons, Quantum Biology")
    assert reply.text.splitlines() == [
        "✅ Subscribed to Quantum Biology — no articles with this tag yet; "
        "they'll come when added",
        "❓ I don't know the tag “negotiatons”. Did you mean negotiations?",
    ]
    [subs] = await user.ask("/subscriptions")
    assert "negotiatons" not in subs.text
    assert "• Quantum Biology" in subs.text


async def test_subscribe_without_tags_shows_usage(user: Chat, app: BotApplication) -> None:
    [reply] = await user.ask("/subscribe  , ")
    assert reply.text == "Which tags?\nUsage: /subscribe negotiations, United Kingdom"


async def test_unsubscribe_and_subscriptions_buttons(user: Chat, seeded: BotApplication) -> None:
    await user.ask("/subscribe science, weather, sport")
    [reply] = await user.ask("/unsubscribe Sport, opera")
    assert reply.text.splitlines() == [
        "🗑 Unsubscribed from sport",
        "You weren't subscribed to “opera”",
    ]
    [subs] = await user.ask("/subscriptions")
    assert subs.button_texts == ["✖ science", "✖ weather"]
    [edited] = await user.press(subs, "✖ science")
    assert edited.text.startswith("Your tags\n• weather")
    assert edited.button_texts == ["✖ weather"]
    [edited] = await user.press(edited, "✖ weather")
    assert "You don't follow any tags yet" in edited.text
    assert edited.buttons == []


async def test_tags_are_paginated_and_toggle(user: Chat, seeded: BotApplication) -> None:
    [page] = await user.ask("/tags")
    pages = int(re.search(r"page 1 of (\d+)", page.text).group(1))  # type: ignore[union-attr]
    assert pages >= 5
    assert page.button_texts[:3] == ["technology (10)", "science (8)", "United Kingdom (8)"]
    assert page.button_texts[-1] == "Next ▶"
    [second] = await user.press(page, "Next ▶")
    assert f"page 2 of {pages}" in second.text
    assert "◀ Previous" in second.button_texts
    tag = second.button_texts[0]
    [toggled] = await user.press(second, tag)
    assert toggled.button_texts[0] == f"✅ {tag}"
    [untoggled] = await user.press(toggled, tag)
    assert untoggled.button_texts[0] == tag


async def test_digest_shows_headline_summary_and_link(user: Chat, seeded: BotApplication) -> None:
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 4 new stories\n")
    assert SEED_TITLE in digest.bold()
    assert SEED_SUMMARY in digest.text
    links = digest.links()
    assert len(links) == 6  # 4 stories' headlines, and 2 of them name another source
    assert "Also: Kyiv Wire" not in digest.text  # each shows its newest report now
    assert "Also: Ukrainian news" in digest.text and "Also: Diplomatic Courier" in digest.text
    assert "https://example.org/news/trade-negotiations-final-round" in links
    deep = [link for link in links if link.startswith("https://t.me/newsbot_demo_bot?start=a")]
    assert len(deep) == 3  # the seed without a link, and the two "Also:" sources without one
    # Where and when, in one short line; the one tag of the reader's that matched; a
    # July 2024 article says so; no hashtag, and no feed's name as a tag.
    assert "\nUkrainian news · 15 Jul 2024 · 🏷 negotiations" in digest.text
    assert "Kyiv Wire · just now · first reported by Ukrainian news, just now" in digest.text
    assert "#" not in digest.text and "Full text" not in digest.text
    assert [row[0]["url"] for row in digest.buttons] == [
        "https://t.me/newsbot_demo_bot?start=s27",
        "https://t.me/newsbot_demo_bot?start=s8",
    ]
    assert digest.button_texts[0].startswith("📚 Show all 2 reports: Mediators keep prisoner")
    [again] = await user.ask("/digest")
    assert again.text.startswith("Nothing new on your tags right now")


async def test_digest_without_subscriptions(user: Chat, seeded: BotApplication) -> None:
    [reply] = await user.ask("/digest")
    assert reply.text.startswith("You don't follow any tags yet")


async def test_deep_link_sends_the_full_article(user: Chat, seeded: BotApplication) -> None:
    await user.ask("/subscribe United Kingdom")
    [digest] = await user.ask("/digest")
    seed_link = next(link for link in digest.links() if "start=a1" in link and link.endswith("a1"))
    payload = seed_link.split("start=")[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)
    [article] = await user.ask(f"/start {payload}")
    assert article.bold() == [SEED_TITLE]
    assert "Ukrainian news · 15 Jul 2024, 01:48 UTC" in article.text
    assert (
        "#negotiations #negotiations_on_Ukraine #negotiations_with_Russia #United_Kingdom"
        in article.text
    )
    assert "All wars end with negotiation, don’t they?" in article.text
    [missing] = await user.ask("/start a999999")
    assert missing.text == (
        "There has never been an article 999999: the link may be mistyped or cut short."
    )


async def test_html_special_characters_reach_the_user_intact(
    user: Chat, seeded: BotApplication
) -> None:
    await user.ask("/subscribe Open Source")
    [digest] = await user.ask("/digest")
    assert "Comparing x < y & y > z: new static checker catches chained mistakes" in digest.bold()
    assert "such as x < y & y > z, where a bitwise & was written" in digest.text
    assert "&amp;" in digest.html
    assert "&lt;" in digest.html


async def test_settings_show_and_change(user: Chat, app: BotApplication) -> None:
    [reply] = await user.ask("/settings")
    assert "Digest: daily at 08:00" in reply.text
    assert "Timezone: UTC" in reply.text
    assert "State: ▶️ active" in reply.text
    [reply] = await user.ask("/time 07:30")
    assert "Digest: daily at 07:30" in reply.text
    [reply] = await user.ask("/timezone Europe/Kyiv")
    assert "Timezone: Europe/Kyiv" in reply.text
    [reply] = await user.ask("/timezone utc-05:30")
    assert "Timezone: UTC-05:30" in reply.text
    [reply] = await user.ask("/frequency weekly fri")
    assert "Digest: weekly on Friday at 07:30" in reply.text
    [reply] = await user.ask("/pause")
    assert "State: ⏸ paused" in reply.text
    assert "Next digest" not in reply.text
    [reply] = await user.ask("/resume")
    assert "State: ▶️ active" in reply.text
    assert "Next digest: Fri" in reply.text


async def test_invalid_settings_explain_and_change_nothing(
    user: Chat, app: BotApplication
) -> None:
    [reply] = await user.ask("/time 25:00")
    assert reply.text == "'25:00' is not a time of day as HH:MM, e.g. 07:30\nUsage: /time 07:30"
    [reply] = await user.ask("/time")
    assert reply.text == "Your digest comes at 08:00 your time.\nChange it with e.g. /time 07:30"
    [reply] = await user.ask("/timezone Mars/Olympus")
    assert reply.text.startswith(
        "'Mars/Olympus' is not a known timezone\nUsage: /timezone Europe/Kyiv"
    )
    [reply] = await user.ask("/timezone UTC+15:00")
    assert "outside UTC-14:00…UTC+14:00" in reply.text
    [reply] = await user.ask("/frequency hourly")
    assert reply.text.startswith("'hourly' is not daily or weekly.")
    [reply] = await user.ask("/frequency weekly someday")
    assert reply.text.startswith("'someday' is not a weekday")
    [reply] = await user.ask("/settings")
    assert "Digest: daily at 08:00" in reply.text
    assert "Timezone: UTC\n" in reply.text


async def test_other_text_and_unknown_commands_point_to_help(
    user: Chat, app: BotApplication
) -> None:
    [reply] = await user.ask("hello there")
    assert reply.text == "I only understand commands. Send /help to see them."
    [reply] = await user.ask("/frobnicate")
    assert reply.text == "I don't know that command. Send /help to see the ones I know."


async def test_forged_and_stale_buttons_are_answered(user: Chat, seeded: BotApplication) -> None:
    [welcome] = await user.ask("/start")
    chat = welcome.buttons[0][0]["callback_data"].rsplit(":", 1)[1]  # their subscriber id
    stale = ["t:2147483648:0", "t:0:s", "u:5", "p:-1", "d:1:2", "t:1:s", f"t:1:s:{chat}:1"]
    foreign = ["tog:not-a-number:0", "x" * 64, '{"action": "like"}']
    for data in stale + foreign:
        await user.client.press(user.user_id, welcome.message_id, data)
    assert await user.answers(len(stale) + len(foreign)) == [
        "This button is no longer valid."
    ] * len(stale) + [EN._(texts.FOREIGN_PRESS)] * len(foreign)
    await user.client.press(user.user_id, welcome.message_id, f"t:999999:s:{chat}")  # no tag
    assert (await user.answers(len(stale) + len(foreign) + 1))[-1] == EN._(texts.BUTTON_INVALID)
    [still] = await user.ask("/help")  # nothing else was sent: no generic error
    assert still.text.startswith("Commands")


async def test_too_many_tags_at_once_are_refused(user: Chat, app: BotApplication) -> None:
    many = ", ".join(f"tag{n}" for n in range(25))
    [reply] = await user.ask(f"/subscribe {many}")
    assert reply.text == "That is 25 tags; send at most 20 at a time."
    [subs] = await user.ask("/subscriptions")
    assert subs.text.startswith("You don't follow any tags yet")
