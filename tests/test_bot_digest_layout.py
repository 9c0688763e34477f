"""The digest as a reader sees it (issues 23 and 24): "Show all N reports" opens every
report of a story, in both languages, with a clear answer for a wrong link; /settings
hides the tags or makes the digest compact; a followed word is marked as the why; the
emulator refuses a keyboard Telegram refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit
from telegram.error import BadRequest

from bot.i18n import translator
from bot.telegram.context import BotApplication
from emulator.client import BotMessage, Chat
from storage.models import Article, Digest
from tests.auxil.data import SEED_TITLE

EN, UK = translator("en"), translator("uk")


def payload_of(button: dict[str, str]) -> str:
    url = button["url"]
    assert url.startswith("https://t.me/newsbot_demo_bot?start=")
    return url.partition("?start=")[2]


async def first_digest(user: Chat) -> BotMessage:
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    return digest


async def test_show_all_reports_lists_every_report_of_the_story(
    user: Chat, seeded: BotApplication
) -> None:
    digest = await first_digest(user)
    button = digest.buttons[0][0]
    assert button["text"].startswith("📚 Show all 2 reports: Mediators keep prisoner")
    # The button is a URL: Telegram opens the private chat and sends /start <payload>.
    [listing] = await user.ask(f"/start {payload_of(button)}")
    lines = listing.text.splitlines()
    assert lines == [
        "📚 Prisoner exchange talks continue with mediation: 2 reports, earliest first",
        "• Prisoner exchange talks continue with mediation",
        "  Ukrainian news · Sun 15 Nov, 13:30",
        "• Mediators keep prisoner exchange talks going",
        "  Kyiv Wire · Sun 15 Nov, 16:10",
    ]
    assert listing.links() == [
        "https://t.me/newsbot_demo_bot?start=a27",
        "https://kyivwire.example/2026/11/15/prisoner-exchange-talks",
    ]
    # In the reader's timezone.
    await user.ask("/timezone Europe/Kyiv")
    [local] = await user.ask(f"/start {payload_of(button)}")
    assert "  Ukrainian news · Sun 15 Nov, 15:30" in local.text.splitlines()


async def test_show_all_reports_in_ukrainian(user: Chat, seeded: BotApplication) -> None:
    await user.speak("uk")
    digest = await first_digest(user)
    button = digest.buttons[0][0]
    assert button["text"].startswith("📚 Усі 2 повідомлення: ")
    [listing] = await user.ask(f"/start {payload_of(button)}")
    assert listing.text.splitlines()[0] == (
        "📚 Prisoner exchange talks continue with mediation: 2 повідомлення, від найранішого"
    )
    assert "  Ukrainian news · нд 15 лист., 13:30" in listing.text.splitlines()
    [forged] = await user.ask("/start sabc")
    assert forged.text == UK._(
        "That link does not name a story (it should end in s and a number, like s42). "
        "The “Show all reports” buttons under digests open real ones."
    )


async def test_a_wrong_story_link_gets_a_clear_answer(
    user: Chat, admin: Chat, seeded: BotApplication
) -> None:
    forged = (
        "That link does not name a story (it should end in s and a number, like s42). "
        "The “Show all reports” buttons under digests open real ones."
    )
    for payload in ("sabc", "s0", "s-1", "s12x", "s"):
        [reply] = await user.ask(f"/start {payload}")
        assert reply.text == forged, payload
    for payload in ("s999999", "s" + "9" * 18):
        [reply] = await user.ask(f"/start {payload}")
        assert reply.text == (
            f"There is no story {payload[1:]}: no digest ever linked to it. "
            "The “Show all reports” buttons under digests open real ones."
        )
    digest = await first_digest(user)
    payload = payload_of(digest.buttons[0][0])
    story = int(payload[1:])
    async with seeded.bot_data.sessions() as session:
        query = select(Article.id).where(Article.story_id == story).order_by(Article.id)
        first, later = (await session.scalars(query)).all()
    # An admin deletes the story's first report: the rest of the story is still listed.
    for article_id, expected in (
        (first, "📚 Mediators keep prisoner exchange talks going: 1 report, earliest first"),
        (later, "This story is no longer available: its reports were deleted. "
                "/digest brings what is new."),
    ):  # fmt: skip
        [confirm] = await admin.ask(f"/delete {article_id}")
        await admin.press(confirm, "🗑 Delete")
        [reply] = await user.ask(f"/start {payload}")
        assert reply.text.splitlines()[0] == expected


async def test_settings_hide_the_tags_and_make_the_digest_compact(
    user: Chat, seeded: BotApplication
) -> None:
    await user.ask("/subscribe negotiations")
    [settings] = await user.ask("/settings")
    assert "Tags in digests: shown\nLayout: full (headline, summary, source)" in settings.text
    assert settings.button_texts == ["🏷 Hide tags", "📋 Compact layout"]
    [hidden] = await user.press(settings, "🏷 Hide tags")
    assert hidden.edited and "Tags in digests: hidden" in hidden.text
    assert hidden.button_texts == ["🏷 Show tags", "📋 Compact layout"]
    [plain] = await user.ask("/digest")
    assert "🏷" not in plain.text
    assert "\nUkrainian news · 15 Jul 2024\n" in plain.text + "\n"
    [compact] = await user.press(hidden, "📋 Compact layout")
    assert "Layout: compact, one line per story" in compact.text
    async with seeded.bot_data.sessions.begin() as session:  # the same stories again
        await session.execute(update(Digest).values(ledger=None))
    [short] = await user.ask("/digest")
    lines = short.text.splitlines()
    assert lines[0] == "📰 Your digest: 4 new stories"
    assert lines[1:] == [
        "Trade negotiations reach final round · Diplomatic Courier · just now",
        "Mediators keep prisoner exchange talks going · Kyiv Wire · just now",
        "Istanbul hosts new round of grain corridor negotiations · Black Sea Herald · just now",
        f"{SEED_TITLE} · Ukrainian news · 15 Jul 2024",
    ]
    assert len(short.links()) == 4 and len(short.buttons) == 2  # still every report


async def test_a_followed_word_that_matched_is_marked_as_such(
    user: Chat, seeded: BotApplication
) -> None:
    await user.ask("/follow Istanbul")
    [digest] = await user.ask("/digest")
    assert "· 🔎 istanbul" in digest.text
    assert "🏷" not in digest.text  # they follow no tag


async def test_the_emulator_refuses_a_keyboard_telegram_refuses(
    user: Chat, app: BotApplication
) -> None:
    await user.ask("/help")
    bot = app.bot

    async def send(markup: InlineKeyboardMarkup) -> None:
        await bot.send_message(user.user_id, "x", reply_markup=markup)

    def url(n: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(f"b{n}", url=f"https://t.me/b?start=s{n}")

    limit = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
    await send(InlineKeyboardMarkup([[url(n)] for n in range(limit)]))  # 100 is fine
    with pytest.raises(BadRequest, match=r"(?i)too many buttons in the keyboard"):
        await send(InlineKeyboardMarkup([[url(n)] for n in range(limit + 1)]))
    with pytest.raises(BadRequest, match=r"(?i)too many buttons in a row"):
        await send(InlineKeyboardMarkup([[url(n) for n in range(9)]]))
    for bad in ("javascript:alert(1)", "not a url", "https://", "https://a b"):
        with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
            await send(InlineKeyboardMarkup([[InlineKeyboardButton("x", url=bad)]]))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await send(InlineKeyboardMarkup([[InlineKeyboardButton("", url="https://e.org")]]))
