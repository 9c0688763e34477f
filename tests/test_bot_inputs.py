"""Hostile and unusual input: each gets a specific answer that fits one Telegram message."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from telegram.constants import MessageLimit

from bot.articles.tags import make_tag
from bot.telegram.context import BotApplication
from emulator.client import Chat
from emulator.utf16 import utf16_len
from storage import repo
from storage.models import Tag
from tests.auxil.data import SEED_TITLE, article


async def tag_rows(app: BotApplication) -> int:
    async with app.bot_data.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Tag)) or 0)


async def test_timezone_without_argument_shows_the_current_one(
    user: Chat, app: BotApplication
) -> None:
    [reply] = await user.ask("/timezone")
    assert reply.text.startswith(
        "Your timezone is UTC.\nChange it with e.g. /timezone Europe/Kyiv"
    )


async def test_timezones_by_any_case_city_or_old_name(user: Chat, app: BotApplication) -> None:
    for typed in ("europe/kyiv", "kyiv", "Kiev", "Europe/Kiev", "KYIV"):
        [reply] = await user.ask(f"/timezone {typed}")
        assert "Timezone: Europe/Kyiv\n" in reply.text, typed
    [reply] = await user.ask("/timezone new york")
    assert "Timezone: America/New_York\n" in reply.text


async def test_zone_directories_typos_and_html_get_specific_answers(
    user: Chat, app: BotApplication
) -> None:
    [region] = await user.ask("/timezone Europe")
    assert region.text.startswith("'Europe' is a region; add a city, e.g. Europe/")
    [typo] = await user.ask("/timezone Europe/Kyev")
    assert typo.text.startswith("'Europe/Kyev' is not a known timezone. Did you mean Europe/Kyiv")
    [html] = await user.ask("/timezone <b>x</b>")
    assert html.text.startswith("'<b>x</b>' is not a known timezone")
    [huge] = await user.ask("/timezone " + "Я" * 3000)
    assert "is too long for a timezone" in huge.text
    [settings] = await user.ask("/settings")
    assert "Timezone: UTC\n" in settings.text


async def test_frequency_echoes_html_as_text(user: Chat, app: BotApplication) -> None:
    [reply] = await user.ask("/frequency <b>")
    assert reply.text.startswith("'<b>' is not daily or weekly.")
    [reply] = await user.ask("/frequency weekly <i>&amp;")
    assert reply.text.startswith("'<i>&amp;' is not a weekday")


async def test_start_with_another_payload_welcomes(user: Chat, seeded: BotApplication) -> None:
    [reply] = await user.ask("/start foo")
    assert reply.text.startswith("👋 Welcome to newsbot.")
    [reply] = await user.ask("/start a0")
    assert reply.text.startswith("👋 Welcome to newsbot.")
    for payload in ("a2147483648", "a999999999999999999", "a42424"):
        [reply] = await user.ask(f"/start {payload}")
        assert reply.text == (
            f"There has never been an article {payload[1:]}: "
            "the link may be mistyped or cut short."
        )


async def test_full_article_shows_the_readers_local_time(
    user: Chat, seeded: BotApplication
) -> None:
    await user.ask("/timezone Europe/Kyiv")
    [article] = await user.ask("/start a1")
    assert article.bold() == [SEED_TITLE]
    assert "Ukrainian news · 15 Jul 2024, 04:48 EEST" in article.text
    [missing] = await user.ask("/start a2147483648")
    assert missing.text.startswith("There has never been an article 2147483648")


async def test_did_you_mean_has_a_button_that_subscribes(
    user: Chat, seeded: BotApplication
) -> None:
    [reply] = await user.ask("/subscribe negotiatons")
    assert reply.text == "❓ I don't know the tag “negotiatons”. Did you mean negotiations?"
    assert reply.button_texts == ["✅ Subscribe to negotiations"]
    [done] = await user.press(reply, "Subscribe to negotiations")
    assert done.text == "✅ Subscribed to negotiations"
    assert await user.answers() == ["Subscribed to negotiations"]
    [subs] = await user.ask("/subscriptions")
    assert "• negotiations" in subs.text


async def test_unsubscribe_of_a_misspelt_tag_suggests(user: Chat, seeded: BotApplication) -> None:
    await user.ask("/subscribe negotiations, science")
    [reply] = await user.ask("/unsubscribe negotiatons")
    assert reply.text == ("You weren't subscribed to “negotiatons”. Did you mean negotiations?")
    [done] = await user.press(reply, "Unsubscribe from negotiations")
    assert done.text == "🗑 Unsubscribed from negotiations"
    [subs] = await user.ask("/subscriptions")
    assert subs.button_texts == ["✖ science"]


async def test_twenty_long_typos_are_answered_in_messages_that_fit(
    user: Chat, app: BotApplication
) -> None:
    async with app.bot_data.sessions.begin() as session:
        for n in range(20):
            tags = ", ".join(
                f"international negotiations on topic {n:02d} variant {v}" for v in "abc"
            )
            await repo.upsert_article(
                session, article(f"Story {n}", tags), now=app.bot_data.clock()
            )
    typos = [f"international negotiatons on topic {n:02d} variant" for n in range(20)]
    await user.client.send_text(user.user_id, "/subscribe " + ", ".join(typos))
    replies = await user.read(2)
    assert all(utf16_len(r.text) <= MessageLimit.MAX_TEXT_LENGTH for r in replies)
    lines = [line for r in replies for line in r.text.splitlines()]
    assert len(lines) == 20
    assert all("Did you mean international negotiations on topic" in line for line in lines)
    assert len(replies[-1].button_texts) == 60
    [done] = await user.press(replies[-1], "topic 07 variant b")
    assert done.text == "✅ Subscribed to international negotiations on topic 07 variant b"


async def test_pending_tags_are_capped_and_their_rows_go_with_them(
    user: Chat, seeded: BotApplication
) -> None:
    before = await tag_rows(seeded)
    first = ", ".join(f"zzplan{n}" for n in range(10))
    [reply] = await user.ask(f"/subscribe {first}")
    assert reply.text.count("no articles with this tag yet") == 10
    [refused] = await user.ask("/subscribe zzplan10, technology")
    assert refused.text.splitlines() == [
        "✅ Subscribed to technology",
        "⏳ Not subscribed to “zzplan10”: you already wait for 10 tags that have no articles "
        "yet. /unsubscribe from one of them first.",
    ]
    assert await tag_rows(seeded) == before + 10
    await user.ask("/unsubscribe zzplan0, zzplan1")
    assert await tag_rows(seeded) == before + 8
    [again] = await user.ask("/subscribe zzplan10")
    assert again.text.startswith("✅ Subscribed to zzplan10")


async def test_two_hundred_subscriptions_are_paged(user: Chat, seeded: BotApplication) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    async with seeded.bot_data.sessions.begin() as session:
        from bot.subscriptions.service import ensure_subscriber

        subscriber = await ensure_subscriber(
            session, user.user_id, seeded.bot_data.settings.defaults, now
        )
        rows = await repo.ensure_tags(
            session, [make_tag(f"Topic {n:03d} " + "w" * 38) for n in range(200)]
        )
        await repo.subscribe(session, subscriber.id, [r.id for r in rows], now=now)
    [page] = await user.ask("/subscriptions")
    assert page.text.startswith("Your tags (page 1 of 20)\n• Topic 000")
    assert len(page.button_texts) == 11
    [second] = await user.press(page, "Next ▶")
    assert second.text.startswith("Your tags (page 2 of 20)\n• Topic 010")
    [fewer] = await user.press(second, "✖ Topic 010")
    assert fewer.text.startswith("Your tags (page 2 of 20)\n• Topic 011")
    assert await user.answers() == ["", "Unsubscribed from Topic 010 " + "w" * 38]


async def test_odd_ids_for_delete(admin: Chat, seeded: BotApplication) -> None:
    [sup] = await admin.ask("/delete ²")
    assert sup.text == "'²' is not an article id.\nUsage: /delete 42"
    [huge] = await admin.ask("/delete 2147483648")
    assert huge.text == "'2147483648' is not an article id.\nUsage: /delete 42"
    [arabic] = await admin.ask("/delete ٣")  # Arabic-Indic three
    assert arabic.text.startswith("Delete article 3: ")
    [html] = await admin.ask("/delete <b>")
    assert html.text == "'<b>' is not an article id.\nUsage: /delete 42"


async def test_articles_with_long_titles_fit(admin: Chat, app: BotApplication) -> None:
    async with app.bot_data.sessions.begin() as session:
        for n in range(15):
            await repo.upsert_article(
                session,
                article(f"{n:02d} " + "Long headline words " * 14, "bulk"),
                now=app.bot_data.clock(),
            )
    [listing] = await admin.ask("/articles")
    assert utf16_len(listing.text) <= MessageLimit.MAX_TEXT_LENGTH
    assert len(listing.text.splitlines()) == 16


async def test_refused_replies_log_one_line_and_bugs_a_traceback(
    user: Chat, app: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.errors")
    marker = uuid.uuid4().hex  # the limiter is per process: each run's line is its own
    refusal = f"Bad Request: message is too long ({marker})"
    for _ in range(2):
        await user.client.add_fault("sendMessage", 400, refusal, chat_id=user.user_id)
        [apology] = await user.ask("/help")
        assert apology.text.startswith("Sorry, something went wrong")
    lines = [r for r in caplog.records if marker in r.getMessage()]
    assert len(lines) == 1  # the same refusal again is not logged again
    assert lines[0].exc_info is None
    assert "\n" not in lines[0].getMessage()
    await user.client.add_fault("sendMessage", 500, "Internal (test 9c1e)", chat_id=user.user_id)
    [apology] = await user.ask("/help")
    assert apology.text.startswith("Sorry, something went wrong")
    [bug] = [r for r in caplog.records if r.exc_info and "9c1e" in str(r.exc_info[1])]
    assert bug.getMessage() == "unhandled error while handling an update"


async def test_control_characters_in_typed_input_are_dropped(
    user: Chat, seeded: BotApplication
) -> None:
    # PostgreSQL refuses NUL in text: it must never reach a column (or a query) from a chat.
    [nothing] = await user.ask("/subscribe \x00")
    assert nothing.text == "Which tags?\nUsage: /subscribe negotiations, United Kingdom"
    [reply] = await user.ask("/subscribe negoti\x00ations\x07, \x00")
    assert reply.text.startswith("✅ Subscribed to negotiations")
    [missing] = await user.ask("/unsubscribe opera\x00")
    assert missing.text == "You weren't subscribed to “opera”"
    for command in ("/follow", "/mute", "/search", "/timezone", "/time", "/frequency"):
        [answer] = await user.ask(f"{command} \x00\x01")
        assert not answer.text.startswith("Sorry, something went wrong"), command
    [subscriptions] = await user.ask("/subscriptions")
    assert "negotiations" in subscriptions.text
    assert "\x00" not in subscriptions.text
