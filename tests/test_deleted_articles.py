"""A deleted article never comes back: not by a re-import (the issue: `/delete 1`, then a
restart imported the seed again and sent it again), not by /add, a .txt file, a feed, or
another article with its link; no view shows it; and /undelete brings it back to nobody
who already had it. End to end, on both backends."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.articles.importer import import_files
from bot.config import Settings
from bot.telegram.context import BotApplication
from emulator.client import BotMessage, Chat, EmulatorClient
from storage import repo
from storage.models import Article
from tests.auxil.cli import Here
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEED_COUNT, SEED_TITLE, SEEDS
from tests.auxil.feedserver import FeedServer
from tests.auxil.ledger import ledger_articles
from tests.auxil.running import running_bot

SEED_FILE = SEEDS / "000_6477664cfccc58b9.txt"


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[BotApplication]:
    """The bot with its feed job (run by hand here: its own schedule is an hour away)."""
    local = settings.model_copy(update={"feed_allow_private": True, "feed_tick_seconds": 3600})
    async with running_bot(local, clock=clock, feeds=True) as app:
        yield app


async def delete(admin: Chat, article_id: int) -> BotMessage:
    [ask] = await admin.ask(f"/delete {article_id}")
    [done] = await admin.press(ask, "Delete")
    return done


async def ledger(app: BotApplication, chat_id: int) -> set[int]:
    async with app.bot_data.sessions() as session:
        subscriber = await repo.get_subscriber(session, chat_id)
        assert subscriber is not None
        return await ledger_articles(session, subscriber.id)


def story(source: str, hour: int, title: str, lead: str) -> str:
    link = f"https://{source.lower().replace(' ', '')}.example/{hour}"
    return (
        f"Politics 2026-11-20T{hour:02d}:00:00+00:00\n{source}\n{title}\n\nnegotiations\n\n"
        f"{lead} More details follow.\n\n{link}\n"
    )


FIRST = story(
    "Reuters",
    9,
    "Ukraine and Britain sign grain corridor deal in London",
    "Ukraine and Britain signed a deal in London on Tuesday to protect grain shipments "
    "across the Black Sea.",
)
REWORDED = story(
    "Kyiv Independent",
    10,
    "London deal protects Ukrainian grain shipments, Britain says",
    "Britain will help guard ships carrying Ukrainian grain through the Black Sea under "
    "a deal signed in London.",
)


async def test_a_deleted_seed_is_not_imported_again_nor_shown_and_undo_resends_nothing(
    seeded: BotApplication, admin: Chat, user: Chat, emu: EmulatorClient
) -> None:
    await user.ask("/subscribe negotiations")
    [first] = await user.ask("/digest")
    assert SEED_TITLE in first.text
    done = await delete(admin, 1)
    assert done.text.splitlines() == [
        f"🗑 Deleted article 1: {SEED_TITLE}",
        "No digest, search or link shows it any more, and no import or feed stores it "
        "again. /undelete 1 brings it back.",
    ]
    assert done.button_texts == ["↩️ Undo"]

    # What a restart of the old `make run` did: import seeds/ again.
    again = await import_files(seeded.bot_data.sessions, [SEEDS], clock=seeded.bot_data.clock)
    assert again.summary() == (
        f"0 added, 0 updated, {SEED_COUNT - 1} unchanged, "
        "1 skipped (deleted by an admin), 0 failed"
    )
    assert again.skipped == [(str(SEED_FILE), 1)]

    # Nothing shows it: a new reader's digest, search, inline mode, its deep link.
    other = Chat(emu, 1002, "Bo")
    await other.ask("/subscribe negotiations")
    [digest] = await other.ask("/digest")
    assert "📰" in digest.text
    assert SEED_TITLE not in digest.text
    [found] = await other.ask("/search Britain")
    assert found.text.endswith("No articles of the last 90 days match.")
    shared = await other.inline("Britain secret talks")
    assert shared["results"] == []
    [link] = await other.ask("/start a1")
    assert link.text == "That article is no longer available."
    [listing] = await admin.ask("/articles")
    assert SEED_TITLE not in listing.text
    [stats] = await admin.ask("/stats")
    assert f"Articles: {SEED_COUNT - 1}" in stats.text
    [deleted] = await admin.ask("/deleted")
    assert deleted.text.splitlines()[:2] == [
        "Deleted articles",
        f"1 {SEED_TITLE} · 02 Mar",
    ]
    assert deleted.text.endswith("/undelete 1 brings one back.")
    [twice] = await admin.ask("/delete 1")
    assert twice.text == (
        f"Article 1 was deleted by an admin: {SEED_TITLE}. /undelete 1 brings it back."
    )

    # Undo: back for everyone, sent again to nobody who had it.
    [back] = await admin.press(done, "Undo")
    assert back.text == (
        f"↩️ Article 1 is back: {SEED_TITLE}\nReaders who already had it will not get it again."
    )
    assert back.buttons == []
    [nothing] = await user.ask("/digest")
    assert nothing.text.startswith("Nothing new")
    assert 1 in await ledger(seeded, user.user_id)
    [late] = await other.ask("/digest")
    assert SEED_TITLE in late.text
    [search] = await other.ask("/search Britain")
    assert SEED_TITLE in search.text


async def test_add_a_file_or_the_same_link_never_stores_a_deleted_article_again(
    app: BotApplication, admin: Chat
) -> None:
    title = "Ukraine and Britain sign grain corridor deal in London"
    [added] = await admin.ask("/add\n" + FIRST)
    assert added.text.startswith("✅ Article stored\nID: 1")
    await delete(admin, 1)
    skipped = (
        f"⏭ Skipped: deleted by an admin. It is article 1: {title}. /undelete 1 brings it back."
    )
    [again] = await admin.ask("/add\n" + FIRST)
    assert again.text == skipped
    [corrected] = await admin.ask("/add\n" + FIRST.replace("on Tuesday", "on Monday"))
    assert corrected.text == skipped  # a changed body does not revive it either
    [uploaded] = await admin.upload("deal.txt", FIRST)
    assert uploaded.text == skipped
    # Another article (another title, so another identity) with the deleted one's link.
    [same_link] = await admin.ask("/add\n" + FIRST.replace(title, "Grain deal signed", 1))
    assert same_link.text == skipped
    async with app.bot_data.sessions() as session:
        titles = (await session.scalars(select(Article.title))).all()
    assert titles == [title]

    [back] = await admin.ask("/undelete 1")
    assert back.text.startswith("↩️ Article 1 is back: ")
    [not_deleted] = await admin.ask("/undelete 1")
    assert not_deleted.text == f"Article 1 is not deleted: {title}"
    [unchanged] = await admin.ask("/add\n" + FIRST)
    assert unchanged.text.startswith("☑️ Article already known; nothing changed\nID: 1")
    answers = {
        "/undelete": "Which id?\nUsage: /undelete 42",
        "/undelete <b>x</b>": "'<b>x</b>' is not an article id.\nUsage: /undelete 42",
        "/undelete 99999": "There is no article 99999. /articles lists them.",
        "/deleted": "No article has been deleted.",
    }
    for typed, expected in answers.items():
        [reply] = await admin.ask(typed)
        assert reply.text == expected, typed


ENTRY = (
    "<item><title>{title}</title><link>https://wire.example/{guid}</link><guid>{guid}</guid>"
    "<category>negotiations</category><description>{title}. More later.</description></item>"
)


def wire(*items: tuple[str, str]) -> str:
    body = "".join(ENTRY.format(guid=guid, title=title) for guid, title in items)
    return f'<rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'


async def test_a_deleted_feed_entry_is_not_stored_again_when_it_changes(
    app: BotApplication, admin: Chat, user: Chat, feed_server: FeedServer, clock: FakeClock
) -> None:
    url = feed_server.serve("/wire.xml", wire(("t1", "Talks resume")))
    [added] = await admin.ask(f"/feed_add {url}")
    assert added.text.startswith("✅ Feed 1 added")
    await delete(admin, 1)
    await user.ask("/subscribe negotiations")
    # The entry is corrected at the source, and a new one comes: only the new one is stored.
    feed_server.serve("/wire.xml", wire(("t2", "Ceasefire agreed"), ("t1", "Talks resumed")))
    clock.advance(minutes=15)
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name("feeds")
    await job.run(app)
    [digest] = await user.ask("/digest")
    assert "Ceasefire agreed" in digest.text
    assert "Talks resume" not in digest.text
    async with app.bot_data.sessions() as session:
        deleted = await repo.get_article(session, 1)
    assert deleted is not None
    assert (deleted.title, deleted.deleted_at is not None) == ("Talks resume", True)


async def test_a_deleted_article_leaves_its_story(
    app: BotApplication, admin: Chat, user: Chat, emu: EmulatorClient
) -> None:
    for text in (FIRST, REWORDED):
        [added] = await admin.ask("/add\n" + text)
        assert added.text.startswith("✅ Article stored")
    [listing] = await admin.ask("/story 1")
    assert listing.text.startswith("The story of article 1: 2 articles")
    await delete(admin, 2)
    [alone] = await admin.ask("/story 1")
    assert alone.text == "Article 1 is a story of its own: no other article reports it."
    gone = "Article 2 was deleted by an admin: "
    for command in ("/story 2", "/split 2", "/merge 1 2"):
        [reply] = await admin.ask(command)
        assert reply.text.startswith(gone), command
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert "Ukraine and Britain sign grain corridor deal in London" in digest.text
    assert "Kyiv Independent" not in digest.text  # no "Also:" naming the deleted report
    # The story's first report deleted: a reader who never had the story gets the other.
    await admin.ask("/undelete 2")
    await delete(admin, 1)
    other = Chat(emu, 1002, "Bo")
    await other.ask("/subscribe negotiations")
    [theirs] = await other.ask("/digest")
    assert "London deal protects Ukrainian grain shipments" in theirs.text
    assert "Reuters" not in theirs.text
    assert "sign grain corridor deal" not in theirs.text


async def test_a_link_to_an_article_that_never_was_says_so(
    seeded: BotApplication, user: Chat
) -> None:
    [never] = await user.ask("/start a99999")
    assert never.text == (
        "There has never been an article 99999: the link may be mistyped or cut short."
    )
    [there] = await user.ask("/start a1")
    assert SEED_TITLE in there.text


def test_the_command_line_import_names_each_file_it_skips(tmp_path: Path, here: Here) -> None:
    shutil.copy(SEED_FILE, tmp_path / "seed.txt")
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    assert here("import", str(tmp_path), cwd=tmp_path, env=env)[0] == 0
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        connection.execute("UPDATE articles SET deleted_at = '2026-12-01 10:00:00' WHERE id = 1")
    code, out, err = here("import", str(tmp_path), cwd=tmp_path, env=env)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{tmp_path / 'seed.txt'}: skipped: deleted by an admin "
        "(article 1; /undelete 1 brings it back)",
        "0 added, 0 updated, 0 unchanged, 1 skipped (deleted by an admin), 0 failed",
    ]
