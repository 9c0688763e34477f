"""A delivery pass serves the readers due when it began, with the index it built then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery.compose import TagIndex, compose_due_batch
from bot.words import search
from tests.auxil.data import article
from tests.auxil.population import add_subscriber

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
BOT = "newsbot_test_bot"


async def test_a_reader_due_after_the_pass_began_waits_for_the_next_pass_and_its_news(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The demo's /tick made a reader due while a pass was running: the running pass,
    its index read before the reader's news was added, claimed them, found nothing and
    moved their digest to the next day. A pass now claims only readers due when it
    began; the next pass, with a fresh index, brings the news at once."""
    settings = Settings(_env_file=None)
    began = NOW
    await add_subscriber(
        sessions, 1, "early, late", settings=settings, now=NOW - timedelta(days=1), due_at=began
    )
    await add_subscriber(
        sessions, 2, "late", settings=settings, now=NOW - timedelta(days=1),
        due_at=began + timedelta(minutes=9),
    )  # fmt: skip
    index = TagIndex(began - timedelta(days=settings.digest_max_age_days))
    first = await compose_due_batch(
        sessions, settings.digest, now=began, bot_username=BOT, index=index, size=1, due_by=began
    )
    # Reader 1, nothing new yet; the pass's index has read both tags' articles.
    assert (first.claimed, first.empty) == (1, 1)
    async with sessions.begin() as session:  # news on "late", after the index read it
        await search.store_articles(
            session, [article("Late news", "late", began.isoformat())], now=began
        )
    later = began + timedelta(minutes=10)
    same_pass = await compose_due_batch(
        sessions, settings.digest, now=later, bot_username=BOT, index=index, due_by=began
    )
    assert same_pass.claimed == 0  # reader 2 became due after this pass began
    next_pass = await compose_due_batch(
        sessions,
        settings.digest,
        now=later,
        bot_username=BOT,
        index=TagIndex(later - timedelta(days=settings.digest_max_age_days)),
        due_by=later,
    )
    [digest] = next_pass.outbound
    assert digest.chat_id == 2
    assert "Late news" in digest.chunks[0].text
