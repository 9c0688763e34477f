"""Admin commands end to end, and the refusals everyone else gets."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.articles.format import parse_article
from bot.i18n import languages, translator
from bot.telegram.context import BotApplication
from emulator.client import Chat
from storage.models import Article
from tests.auxil.data import SEED_COUNT

ARTICLE = """Science 2026-11-20T10:00:00+00:00
Science Desk
Telescope & <detector> upgrade finished

science, #Space, Open  Source

The upgrade of the telescope's <detector> & cooling finished early. Engineers tested it overnight.
"""


async def article_count(app: BotApplication) -> int:
    """Articles shown: stored and not deleted."""
    async with app.bot_data.sessions() as session:
        query = select(func.count()).select_from(Article).where(Article.deleted_at.is_(None))
        return int(await session.scalar(query) or 0)


async def test_add_stores_and_shows_id_title_tags_summary(
    admin: Chat, app: BotApplication
) -> None:
    [reply] = await admin.ask("/add\n" + ARTICLE)
    assert reply.text.splitlines() == [
        "✅ Article stored",
        "ID: 1",
        "Title: Telescope & <detector> upgrade finished",
        "Tags: science, Space, Open Source",
        "Summary: The upgrade of the telescope's <detector> & cooling finished early.",
    ]
    [again] = await admin.ask("/add\n" + ARTICLE)
    assert again.text.startswith("☑️ Article already known; nothing changed\nID: 1")
    [changed] = await admin.ask("/add\n" + ARTICLE.replace("overnight", "all night"))
    assert changed.text.startswith("♻️ Article already known; updated\nID: 1")
    assert await article_count(app) == 1


async def test_add_reports_the_parser_error_and_stores_nothing(
    admin: Chat, app: BotApplication
) -> None:
    [reply] = await admin.ask("/add\nScience yesterday\nDesk\nTitle\n\ntag\n\nBody.")
    assert reply.text.startswith(
        "❌ Not stored: line 1: expected '<Category> <ISO timestamp>', got 'Science yesterday'"
    )
    untagged = ARTICLE.replace("science, #Space, Open  Source\n\n", "")
    [missing] = await admin.ask("/add\n" + untagged)
    assert missing.text == (
        "❌ Not stored: line 5: the tags line is missing: expected one line of "
        "comma-separated tags (e.g. 'economy, Europe') before the body"
    )
    assert await article_count(app) == 0


async def test_add_alone_shows_the_format_as_an_article_to_copy(
    admin: Chat, app: BotApplication
) -> None:
    """It said "The format is in the README", which a Telegram user does not have."""
    [usage] = await admin.ask("/add")
    lines = usage.text.splitlines()
    assert lines[0] == (
        "Send the article in the same message, after /add on its own line, like this "
        "(or send it as a .txt file):"
    )
    assert lines[-1].startswith("The lines: category and publication time")
    example = "\n".join(lines[1:-1])
    assert example.startswith("/add\nPolitics 2026-12-01T09:30:00+02:00\nKyiv Wire\n")
    [stored] = await admin.ask(example)  # copied back as it is, it is stored
    assert stored.text.startswith("✅ Article stored\nID: 1\nTitle: Grain talks resume")


@pytest.mark.parametrize("code", languages())
def test_the_add_example_is_an_article_in_every_language(code: str) -> None:
    example = translator(code)._(texts.ADD_EXAMPLE)
    parsed = parse_article(example.removeprefix("/add\n"))
    assert parsed.url == "https://example.org/grain-talks"
    assert len(parsed.tags) == 3


async def test_add_from_a_txt_document_with_or_without_caption(
    admin: Chat, app: BotApplication
) -> None:
    [reply] = await admin.upload("story.txt", ARTICLE, caption="/add")
    assert reply.text.startswith("✅ Article stored\nID: 1")
    [reply] = await admin.upload("other.txt", ARTICLE.replace("finished", "done"))
    assert reply.text.startswith("✅ Article stored\nID: 2")
    [bad] = await admin.upload("bad.txt", "nonsense")
    assert bad.text.startswith("❌ Not stored: line 1: expected '<Category> <ISO timestamp>'")
    [pdf] = await admin.upload("story.pdf", ARTICLE)
    assert pdf.text == "Please send an article as a .txt file, or feeds as an .opml file."
    assert await article_count(app) == 2


async def test_delete_and_articles(admin: Chat, seeded: BotApplication) -> None:
    [listing] = await admin.ask("/articles")
    assert listing.text.startswith("Latest articles\n")
    assert len(listing.text.splitlines()) == 16
    [ask] = await admin.ask("/delete 1")
    assert ask.text == "Delete article 1: Britain holds secret talks with russia on Ukraine?"
    assert ask.button_texts == ["🗑 Delete", "Keep it"]
    assert await article_count(seeded) == SEED_COUNT
    [done] = await admin.press(ask, "🗑 Delete")
    assert done.edited
    assert done.text.startswith(
        "🗑 Deleted article 1: Britain holds secret talks with russia on Ukraine\n"
    )
    assert done.button_texts == ["↩️ Undo"]
    [gone] = await admin.ask("/delete 1")
    assert gone.text.startswith("Article 1 was deleted by an admin: ")
    [never] = await admin.ask("/delete 99999")
    assert never.text == "There is no article 99999. /articles lists them."
    [bad] = await admin.ask("/delete first")
    assert bad.text == "'first' is not an article id.\nUsage: /delete 42"
    assert await article_count(seeded) == SEED_COUNT - 1
    [ask] = await admin.ask("/delete 2")
    [kept] = await admin.press(ask, "Keep it")
    assert kept.text.startswith("Kept article 2: ")
    assert await article_count(seeded) == SEED_COUNT - 1


async def test_stats(admin: Chat, user: Chat, seeded: BotApplication) -> None:
    await user.ask("/subscribe negotiations, science")
    await user.ask("/digest")
    [reply] = await admin.ask("/stats")
    assert reply.text.splitlines() == [
        "Stats",
        f"Articles: {SEED_COUNT}",
        "Tags in use: 49",  # the seeds' distinct tags
        "Subscribers: 1 active, 0 paused, 0 blocked",
        "Active chats: 1 private, 0 groups, 0 channels",
        "Subscriptions: 2",
        "Digests sent in the last 24 h: 1",
    ]


async def test_everyone_else_is_refused_and_nothing_changes(
    user: Chat, seeded: BotApplication
) -> None:
    commands = ("/add\n" + ARTICLE, "/delete 1", "/undelete 1", "/deleted", "/articles", "/stats")
    for command in commands:
        [reply] = await user.ask(command)
        assert reply.text == "Sorry, only the bot's admins can do that."
    [reply] = await user.upload("story.txt", ARTICLE)
    assert reply.text == "Sorry, only the bot's admins can do that."
    [welcome] = await user.ask("/start")
    await user.client.press(user.user_id, welcome.message_id, "d:1")  # forged "Delete"
    await user.client.press(user.user_id, welcome.message_id, "ud:1")  # forged "Undo"
    assert await user.answers(2) == ["Sorry, only the bot's admins can do that."] * 2
    assert await article_count(seeded) == SEED_COUNT


async def test_the_first_refusal_tells_the_operator_how_to_set_admin_ids(
    user: Chat, app: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator trying their own bot is refused too: the log says which setting fixes
    it, with their id, once per process (not once per refused command)."""
    with caplog.at_level(logging.WARNING, logger="bot.telegram.handlers.admin"):
        for command in ("/stats", "/articles", "/delete 1"):
            [reply] = await user.ask(command)
            assert reply.text == "Sorry, only the bot's admins can do that."
    hints = [r.getMessage() for r in caplog.records if r.name == "bot.telegram.handlers.admin"]
    assert hints == [
        "user id 1001 was refused an admin command: ADMIN_IDS is 9001. To make them an "
        "admin, set ADMIN_IDS=9001,1001 in .env (or the environment) and restart the bot. "
        "(Said once.)"
    ]
