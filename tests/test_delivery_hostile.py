"""Rows no parser would accept today, already in the database: delivery goes on."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.tags import make_tag
from bot.telegram.context import BotApplication
from emulator.client import Chat, EmulatorClient
from storage import repo
from storage.models import Article, ArticleTag, Digest, DigestStatus, Subscriber
from tests.auxil.clock import FakeClock
from tests.auxil.data import USER_ID
from tests.auxil.delivery import add_due_subscribers

LEGACY_TAGS = [f"legacy tag {n:03d} with a long enough name" for n in range(250)]
LEGACY_LINK = "https://example.org/story?" + "&".join(f"k{n}=v" for n in range(300))
QUOTES_TITLE = '"' * 300
SUBSCRIBERS = 300


async def store_legacy_article(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> int:
    """An article stored before the parser's limits, written straight into the table."""
    assert 2000 < len(LEGACY_LINK) <= 2048
    async with sessions.begin() as session:
        article_id: int | None = await session.scalar(
            insert(Article)
            .values(
                fingerprint="legacy",
                content_hash="legacy",
                title=QUOTES_TITLE,
                source="Legacy Desk",
                category="Legacy",
                published_at=clock(),
                added_at=clock(),
                url=LEGACY_LINK,
                summary="A summary & more < less.",
                body="Body of the legacy article.\n\n" + "& " * 3000,
            )
            .returning(Article.id)
        )
        assert article_id is not None
        tags = await repo.ensure_tags(session, [make_tag(name) for name in LEGACY_TAGS])
        await session.execute(
            insert(ArticleTag), [{"article_id": article_id, "tag_id": t.id} for t in tags]
        )
        return article_id


async def test_an_article_that_cannot_be_shown_whole_still_reaches_every_subscriber(
    app: BotApplication,
    emu: EmulatorClient,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sessions = app.bot_data.sessions
    article_id = await store_legacy_article(sessions, clock)
    chats = range(700_001, 700_001 + SUBSCRIBERS)
    await add_due_subscribers(sessions, clock, chats, LEGACY_TAGS[0])
    # And one subscriber whose row no command could have written.
    await add_due_subscribers(sessions, clock, range(799_999, 800_000), LEGACY_TAGS[0])
    async with sessions.begin() as session:
        await session.execute(
            update(Subscriber).where(Subscriber.chat_id == 799_999).values(timezone="Mars/Base")
        )

    with caplog.at_level(logging.ERROR, logger="bot"):
        report = await app.bot_data.deliverer.run_pass()

    assert (report.due, report.sent, report.skipped) == (SUBSCRIBERS + 1, SUBSCRIBERS, 1)
    assert (await emu.stats())["messages"] == SUBSCRIBERS  # every one accepted by "Telegram"
    for chat in (chats[0], chats[-1]):
        [event] = [e for e in await emu.events(chat) if e["kind"] == "message"]
        assert event["message"]["text"].startswith(
            f"📰 Your digest: 1 new story\n\n{QUOTES_TITLE}"
        )
    async with sessions() as session:
        statuses = (
            await session.execute(select(Digest.status, func.count()).group_by(Digest.status))
        ).all()
        assert statuses == [(DigestStatus.SENT, SUBSCRIBERS)]
        forged = await repo.get_subscriber(session, 799_999)
        assert forged is not None
        assert forged.next_due_at == clock() + timedelta(days=1)  # advanced, not retried each tick
    assert [
        r.getMessage()
        for r in caplog.records
        if "799" in r.getMessage() or "could not" in r.getMessage()
    ] == [
        f"subscriber {forged.id} could not be scheduled or selected for; "
        "skipped for 1 day, 0:00:00"
    ]

    # /digest and the article's deep link work for it too.
    user = Chat(emu, USER_ID)
    await user.ask(f"/subscribe {LEGACY_TAGS[0]}")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 1 new story")
    assert LEGACY_LINK in digest.links()
    await user.client.send_text(USER_ID, f"/start a{article_id}")
    parts = await user.read(3)  # the head and first paragraph, then the long one in two
    assert parts[0].bold() == [QUOTES_TITLE]
    assert "#legacy_tag_000_with" in parts[0].text
    assert parts[-1].links() == [LEGACY_LINK]
