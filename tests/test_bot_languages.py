"""Ukrainian and English end to end: the language is chosen on first contact, kept per
chat, switched with /language, and used for replies, errors, digests and the menu."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot import texts
from bot.config import Settings
from bot.i18n import translator
from bot.subscriptions.schedule import Frequency
from bot.telegram.context import BotApplication
from bot.texts import digest as digest_texts
from emulator import Chat, EmulatorClient
from emulator.html import parse_html
from storage.models import Subscriber
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEED_TITLE

EN, UK = translator("en"), translator("uk")


def plain(html: str) -> str:
    """What the reader sees of an HTML text."""
    return parse_html(html)[0]


async def language_of(app: BotApplication, chat_id: int) -> str | None:
    async with app.bot_data.sessions() as session:
        return await session.scalar(
            select(Subscriber.language).where(Subscriber.chat_id == chat_id)
        )


async def test_a_ukrainian_reader_is_answered_in_ukrainian_then_switches_to_english(
    user: Chat, seeded: BotApplication
) -> None:
    await user.speak("uk")
    [welcome] = await user.ask("/start")
    assert welcome.text == plain(UK._(texts.WELCOME))
    assert welcome.text != plain(EN._(texts.WELCOME))
    assert await language_of(seeded, user.user_id) == "uk"
    [help_reply] = await user.ask("/help")
    assert help_reply.text == plain(texts.help_text(UK, False))
    [problem] = await user.ask("/time 25:99")
    assert problem.text == plain(texts.time_problem(UK, _time_error("25:99")))
    assert "'25:99'" in problem.text
    [subscribed] = await user.ask("/subscribe negotiations")
    assert subscribed.text == plain(texts.subscribed_line(UK, "negotiations"))
    [digest] = await user.ask("/digest")
    assert digest.text.startswith(
        digest_texts.digest_header(UK, 4, 0, group=False, weekly=False)
    )  # the seeds have four
    assert SEED_TITLE in digest.text  # articles stay as written
    assert digest.links()[0].startswith("https://")
    assert "· 15 лип. 2024 · 🏷 negotiations" in digest.text  # the date in Ukrainian
    assert UK._(digest_texts.ALSO) in digest.text and "Show all" not in str(digest.buttons)
    [settings] = await user.ask("/settings")
    assert UK._("Language: {language}", language="Українська") in settings.text
    [choice] = await user.ask("/language")
    assert choice.button_texts == ["English", "✅ Українська"]
    [redrawn] = await user.press(choice, "English")
    assert redrawn.text == plain(texts.language_text(EN))
    assert redrawn.button_texts == ["✅ English", "Українська"]
    assert await user.answers() == ["From now on I speak English."]
    assert await language_of(seeded, user.user_id) == "en"
    [help_again] = await user.ask("/help")
    assert help_again.text == plain(texts.help_text(EN, False))


def _time_error(typed: str) -> Exception:
    from bot.subscriptions.schedule import ScheduleError, parse_digest_time

    try:
        parse_digest_time(typed)
    except ScheduleError as error:
        return error
    raise AssertionError("a valid time")


async def test_other_languages_and_english_readers_get_english(
    emu: EmulatorClient, app: BotApplication
) -> None:
    for user_id, code in ((2001, "de"), (2002, "en")):
        reader = Chat(emu, user_id)
        await reader.speak(code)
        [welcome] = await reader.ask("/start")
        assert welcome.text == plain(EN._(texts.WELCOME))
        assert await language_of(app, user_id) == "en"


async def test_the_chosen_language_stays_when_the_telegram_app_changes(
    user: Chat, app: BotApplication
) -> None:
    await user.speak("uk")
    await user.ask("/start")
    [choice] = await user.ask("/language")
    await user.press(choice, "English")
    await user.speak("uk")  # their phone's language says nothing new: /language decided
    [reply] = await user.ask("/tags")
    assert reply.text == EN._(texts.NO_TAGS)


async def test_a_scheduled_digest_comes_in_the_chats_language(
    user: Chat, seeded: BotApplication, clock: FakeClock
) -> None:
    await user.speak("uk")
    await user.ask("/subscribe negotiations")
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    await seeded.bot_data.deliverer.run_pass()
    [digest] = await user.read()
    assert digest.text.splitlines()[0] == digest_texts.digest_header(
        UK, 4, 0, group=False, weekly=False
    )
    assert SEED_TITLE in digest.text
    assert digest.text.count("🏷 negotiations") == 4
    assert digest.button_texts[0].startswith("📚 Усі 2 повідомлення: ")


async def test_weekly_with_a_ukrainian_weekday(user: Chat, app: BotApplication) -> None:
    await user.speak("uk")
    [reply] = await user.ask("/frequency щотижня пн")
    assert UK._(texts.SAVED) in reply.text
    assert texts.describe_schedule(
        UK, app.bot_data.settings.default_digest_time, Frequency.WEEKLY, 0
    ) in (reply.text)
    [english_words] = await user.ask("/frequency weekly нд")
    assert UK.weekday(6) in english_words.text


async def test_a_forged_language_button_is_refused_in_the_readers_language(
    user: Chat, app: BotApplication
) -> None:
    await user.speak("uk")
    [choice] = await user.ask("/language")
    chat = choice.buttons[0][0]["callback_data"].rsplit(":", 1)[1]
    await user.client.press(user.user_id, choice.message_id, f"l:de:{chat}")
    assert await user.answers() == [UK._(texts.BUTTON_INVALID)]
    [reply] = await user.ask("/tags")
    assert reply.text == UK._(texts.NO_TAGS)


async def test_the_command_menu_is_registered_per_language(
    app: BotApplication, settings: Settings
) -> None:
    default = await app.bot.get_my_commands()
    ukrainian = await app.bot.get_my_commands(language_code="uk")
    english = await app.bot.get_my_commands(language_code="en")
    assert [(c.command, c.description) for c in default] == texts.menu(EN)
    assert [(c.command, c.description) for c in ukrainian] == texts.menu(UK)
    assert [(c.command, c.description) for c in english] == texts.menu(EN)
    assert ukrainian[0].description != english[0].description


async def test_admin_replies_and_their_problems_are_in_ukrainian(
    admin: Chat, app: BotApplication
) -> None:
    await admin.speak("uk")
    [feed] = await admin.ask("/feed_add ftp://example.com/rss")
    assert feed.text == "❌ Стрічку не додано: опитуються лише адреси http і https, а не ftp:"
    [article] = await admin.ask("/add\nPolitics 2024-07-15T04:48:11+03:00\nDesk\nTitle\nextra")
    assert article.text == (
        "❌ Не збережено: рядок 4: після заголовка очікувався порожній рядок, а отримано 'extra'"
    )
    [listing] = await admin.ask("/articles")
    assert listing.text == UK._("No articles yet. Add one with /add.")
