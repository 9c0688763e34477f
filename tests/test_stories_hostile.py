"""Stories under hostile inputs and sequences: odd source names in the "Also:" line,
deleted, split and merged stories, huge stories, mutes, failed sends, and the two
selection paths (/digest's SQL, the scheduled digest's tag index) on the same state."""

from __future__ import annotations

import random
import re
import zlib
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, select, update
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.format import parse_article
from bot.config import Settings
from bot.delivery.compose import TagIndex, compose_due_batch
from bot.delivery.entry import DigestItem, render_item
from bot.delivery.outbox import Outbound
from bot.subscriptions import service
from bot.telegram.context import BotApplication
from bot.telegram.lengths import tg_len
from bot.words import search
from bot.words.keywords import parse_query, parse_terms
from emulator.client import Chat
from emulator.html import parse_html
from storage import keywords as words_repo
from storage import repo
from storage import stories as stories_repo
from storage.db import alembic_config, create_engine, create_sessionmaker, upgrade
from storage.models import Article, DigestKind
from storage.records import WordKind
from tests.auxil.ledger import ledger_articles, ledger_pairs
from tests.auxil.population import add_subscriber, compose_for

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
BOT = "newsbot_test_bot"


def text(
    source: str,
    when: datetime,
    title: str,
    lead: str,
    tags: str = "negotiations",
    link: str | None = None,
) -> str:
    link = link or f"https://{zlib.crc32(f'{source}|{title}'.encode())}.example/{when:%H%M}"
    return (
        f"Politics {when.isoformat()}\n{source}\n{title}\n\n{tags}\n\n"
        f"{lead} More details follow.\n\n{link}\n"
    )


def at(hour: int, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


GRAIN_TITLE = "Ukraine and Britain sign grain corridor deal in London"
GRAIN_LEAD = (
    "Ukraine and Britain signed a deal in London on Tuesday to protect grain shipments "
    "across the Black Sea."
)
REWORDED_TITLE = "London deal protects Ukrainian grain shipments, Britain says"
REWORDED_LEAD = (
    "Britain will help guard ships carrying Ukrainian grain through the Black Sea under "
    "a deal signed in London."
)
UPDATE_TITLE = "Grain corridor deal: Britain to send two navy ships to Black Sea"
UPDATE_LEAD = (
    "Britain will send two navy ships to escort grain vessels under the deal signed with "
    "Ukraine in London."
)
OTHER_TITLE = "Poland and Ukraine resume border talks on trucks"
OTHER_LEAD = "Polish and Ukrainian officials met in Warsaw to end the blockade of trucks."


def settings_for(max_age_days: int = 7, max_items: int = 10) -> Settings:
    return Settings(
        _env_file=None,
        digest_max_age_days=max_age_days,
        digest_max_items=max_items,
    )


async def store(
    sessions: async_sessionmaker[AsyncSession], texts: list[str], now: datetime
) -> list[int]:
    """Store articles as /add and the importer do (one batch); their ids in order."""
    async with sessions.begin() as session:
        results = await search.store_articles(session, [parse_article(t) for t in texts], now=now)
        return [row.id for row, _ in results]


async def story_of(sessions: async_sessionmaker[AsyncSession], article_id: int) -> int | None:
    async with sessions() as session:
        return await stories_repo.story_of(session, article_id)


async def ledger(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessions() as session:
        return await ledger_articles(session)


async def manual(
    sessions: async_sessionmaker[AsyncSession], chat: int, settings: Settings, now: datetime
) -> Outbound | None:
    """What /digest composes (the SQL path), recorded in the ledger."""
    async with sessions.begin() as session:
        return await compose_for(
            session, chat, settings=settings, now=now, kind=DigestKind.MANUAL, bot_username=BOT
        )


async def scheduled(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> list[Outbound]:
    """What the delivery pass composes for the due subscribers (the tag-index path)."""
    index = TagIndex(now - timedelta(days=settings.digest_max_age_days))
    batch = await compose_due_batch(
        sessions, settings.digest, now=now, bot_username=BOT, index=index
    )
    return batch.outbound


def shown(outbound: Outbound | None) -> str:
    assert outbound is not None
    return "\n\n".join(chunk.text for chunk in outbound.chunks)


def visible(html: str) -> str:
    """What the reader sees of a digest's HTML."""
    return parse_html(html)[0]


def utf16(message: str) -> int:
    return len(message.encode("utf-16-le")) // 2


def entries(digest: str) -> str:
    """A digest without its "N more waiting" footer, which says /digest or "your next
    digest" depending on the kind."""
    return re.sub(r"\n\n<i>[^<]*</i>$", "", digest)


async def make_due(sessions: async_sessionmaker[AsyncSession], chat: int, now: datetime) -> None:
    async with sessions.begin() as session:
        subscriber = await repo.get_subscriber(session, chat)
        assert subscriber is not None
        subscriber.next_due_at = now


# ---------------------------------------------------------------- grouping as stored


async def test_two_reports_stored_in_one_batch_are_one_story(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The later report comes first in the batch: grouping goes by publication time.
    first, second = await store(
        sessions,
        [
            text("Kyiv Independent", at(10), REWORDED_TITLE, REWORDED_LEAD),
            text("Reuters", at(9), GRAIN_TITLE, GRAIN_LEAD),
        ],
        NOW,
    )
    assert await story_of(sessions, first) == await story_of(sessions, second)
    settings = settings_for()
    await add_subscriber(sessions, 1, "negotiations", settings=settings, now=NOW)
    digest = visible(shown(await manual(sessions, 1, settings, NOW)))
    assert digest.startswith("📰 Your digest: 1 new story\n")
    # A story new to the reader: its latest report, and who reported it first.
    assert REWORDED_TITLE in digest and GRAIN_TITLE not in digest
    assert "Kyiv Independent · 20 Nov · first reported by Reuters, 20 Nov" in digest
    assert digest.endswith("\nAlso: Reuters")
    assert await ledger(sessions) == {first, second}


async def test_the_same_article_imported_again_changes_no_story_and_no_ledger(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    grain = text("Reuters", at(9), GRAIN_TITLE, GRAIN_LEAD)
    reworded = text("Kyiv Independent", at(10), REWORDED_TITLE, REWORDED_LEAD)
    first, second = await store(sessions, [grain, reworded], NOW)
    settings = settings_for()
    await add_subscriber(sessions, 1, "negotiations", settings=settings, now=NOW)
    assert await manual(sessions, 1, settings, NOW) is not None
    again = await store(sessions, [grain, reworded, grain], NOW + timedelta(hours=1))
    assert again == [first, second, first]
    assert await story_of(sessions, second) == await story_of(sessions, first)
    assert await manual(sessions, 1, settings, NOW + timedelta(hours=1)) is None
    async with sessions() as session:
        assert await session.scalar(select(Article.id).order_by(Article.id.desc())) == second


# ---------------------------------------------------------------- the two selection paths


async def test_both_paths_show_an_update_when_the_had_report_is_older_than_the_max_age(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """DIGEST_MAX_AGE_DAYS=1: a reader had a story's first report 26 hours ago; a new
    report of it (published 26 hours after the first, well inside the 72-hour window)
    arrives. /digest shows it as "Update:"; the scheduled digest must too, and never
    the first report again."""
    settings = settings_for(max_age_days=1)
    first_added = at(9)
    [grain] = await store(sessions, [text("Reuters", at(9), GRAIN_TITLE, GRAIN_LEAD)], first_added)
    for chat in (1, 2):
        await add_subscriber(sessions, chat, "negotiations", settings=settings, now=first_added)
        assert await manual(sessions, chat, settings, first_added) is not None
    later = at(11, day=21)
    [news] = await store(sessions, [text("BBC", at(11, day=21), UPDATE_TITLE, UPDATE_LEAD)], later)
    assert await story_of(sessions, news) == grain
    by_sql = shown(await manual(sessions, 1, settings, later))
    assert f"Update: {UPDATE_TITLE}" in visible(by_sql) and GRAIN_TITLE not in by_sql
    await make_due(sessions, 2, later)
    [outbound] = await scheduled(sessions, settings, later)
    assert outbound.chat_id == 2
    by_index = shown(outbound)
    assert by_index == by_sql


async def test_a_muted_word_in_one_report_hides_the_story_on_both_paths(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = settings_for()
    grain, reworded, other = await store(
        sessions,
        [
            text("Reuters", at(9), GRAIN_TITLE, GRAIN_LEAD),
            text("Kyiv Independent", at(10), REWORDED_TITLE, REWORDED_LEAD),
            text("Reuters", at(11), OTHER_TITLE, OTHER_LEAD),
        ],
        NOW,
    )
    assert await story_of(sessions, reworded) == grain
    for chat in (1, 2):
        await add_subscriber(sessions, chat, "negotiations", settings=settings, now=NOW)
        async with sessions.begin() as session:
            subscriber = await service.ensure_subscriber(session, chat, settings.defaults, NOW)
            # "guard" is only in the Kyiv Independent report's lead.
            await search.add_words(
                session,
                subscriber,
                parse_terms("guard"),
                WordKind.MUTE,
                now=NOW,
                max_age=timedelta(days=7),
            )
    by_sql = shown(await manual(sessions, 1, settings, NOW))
    await make_due(sessions, 2, NOW)
    [outbound] = await scheduled(sessions, settings, NOW)
    for digest in (by_sql, shown(outbound)):
        assert digest.startswith("<b>📰 Your digest: 1 new story</b>\n")
        assert OTHER_TITLE in digest
        assert GRAIN_TITLE not in digest and "Kyiv Independent" not in digest
    assert await ledger(sessions) == {other}
    # A third report without the word does not bring the muted story back either.
    [bbc] = await store(
        sessions, [text("BBC", at(14), UPDATE_TITLE, UPDATE_LEAD)], NOW + timedelta(hours=1)
    )
    assert await story_of(sessions, bbc) == grain
    assert await manual(sessions, 1, settings, NOW + timedelta(hours=1)) is None
    await make_due(sessions, 2, NOW + timedelta(hours=1))
    assert await scheduled(sessions, settings, NOW + timedelta(hours=1)) == []


async def test_both_paths_agree_on_a_story_split_across_tags(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The story's reports carry different tags; the reader follows only one of them.
    Both paths show the same entry, count the same stories and write the same ledger."""
    settings = settings_for(max_items=1)
    await store(
        sessions,
        [
            text("Reuters", at(9), GRAIN_TITLE, GRAIN_LEAD, tags="trade"),
            text("Kyiv Independent", at(10), REWORDED_TITLE, REWORDED_LEAD, tags="negotiations"),
            text("Reuters", at(11), OTHER_TITLE, OTHER_LEAD, tags="negotiations"),
            text("AP", at(8), "Moon probe lands near the south pole", "A probe landed.", "x"),
        ],
        NOW,
    )
    for chat in (1, 2):
        await add_subscriber(sessions, chat, "negotiations", settings=settings, now=NOW)
    by_sql = shown(await manual(sessions, 1, settings, NOW))
    await make_due(sessions, 2, NOW)
    [outbound] = await scheduled(sessions, settings, NOW)
    assert entries(shown(outbound)) == entries(by_sql)
    assert OTHER_TITLE in by_sql and "1 more" in by_sql
    second_sql = shown(await manual(sessions, 1, settings, NOW))
    await make_due(sessions, 2, NOW)
    [again] = await scheduled(sessions, settings, NOW)
    assert entries(shown(again)) == entries(second_sql)
    # The story's first report has a tag the reader does not follow: the entry is the
    # report that matched them (issue 23), never one that matches nothing they follow.
    assert REWORDED_TITLE in second_sql and GRAIN_TITLE not in second_sql
    assert ">Reuters</a>" in second_sql and "first reported by Reuters" in second_sql
    async with sessions() as session:
        rows = await ledger_pairs(session)
    per: dict[int, set[int]] = {}
    for subscriber_id, article_id in rows:
        per.setdefault(subscriber_id, set()).add(article_id)
    [one, two] = per.values()
    assert one == two and len(one) == 3


# ---------------------------------------------------------------- the admin's corrections


def article_text(source: str, hour: int, title: str, lead: str) -> str:
    return text(source, at(hour), title, lead)


GRAIN = article_text("Reuters", 9, GRAIN_TITLE, GRAIN_LEAD)
REWORDED = article_text("Kyiv Independent", 10, REWORDED_TITLE, REWORDED_LEAD)
UPDATE = article_text("BBC", 14, UPDATE_TITLE, UPDATE_LEAD)
OTHER = article_text("Reuters", 11, OTHER_TITLE, OTHER_LEAD)


async def add(admin: Chat, article: str) -> int:
    [reply] = await admin.ask("/add\n" + article)
    assert reply.text.startswith("✅ Article stored\nID: "), reply.text
    return int(reply.text.splitlines()[1].removeprefix("ID: "))


async def delete(admin: Chat, article_id: int) -> None:
    [ask] = await admin.ask(f"/delete {article_id}")
    [done] = await admin.press(ask, "🗑 Delete")
    assert done.text.startswith(f"🗑 Deleted article {article_id}: ")


async def app_ledger(app: BotApplication) -> set[int]:
    return await ledger(app.bot_data.sessions)


async def test_deleting_the_article_whose_id_is_the_story_keeps_the_rest_one_story(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    grain, reworded, bbc = [await add(admin, a) for a in (GRAIN, REWORDED, UPDATE)]
    sessions = app.bot_data.sessions
    assert {await story_of(sessions, a) for a in (grain, reworded, bbc)} == {grain}
    await delete(admin, grain)
    [listing] = await admin.ask(f"/story {bbc}")
    lines = listing.text.splitlines()
    assert lines[0] == f"The story of article {bbc}: 2 articles"
    assert lines[1].startswith(f"{reworded} Kyiv Independent · ")
    assert lines[2].startswith(f"{bbc} BBC · ")
    [gone] = await admin.ask(f"/story {grain}")
    assert gone.text.startswith(f"Article {grain} was deleted by an admin: ")
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 1 new story")
    assert digest.bold()[1:] == [UPDATE_TITLE]  # the latest report
    assert "first reported by Kyiv Independent" in digest.text  # the earliest one left
    assert digest.text.endswith("Also: Kyiv Independent")
    assert await app_ledger(app) == {reworded, bbc}
    # /split of a member of a story whose id is a deleted article.
    [split] = await admin.ask(f"/split {bbc}")
    assert split.text == (
        f"✂️ Article {bbc} is a story of its own now; 1 other article keeps the story."
    )
    [alone] = await admin.ask(f"/story {reworded}")
    assert alone.text.startswith(f"Article {reworded} is a story of its own")
    [nothing] = await user.ask("/digest")
    assert "📰" not in nothing.text


async def test_merge_into_a_story_whose_first_article_was_deleted_points_to_a_live_article(
    admin: Chat, app: BotApplication
) -> None:
    grain, reworded, other = [await add(admin, a) for a in (GRAIN, REWORDED, OTHER)]
    await delete(admin, grain)
    [merged] = await admin.ask(f"/merge {other} {reworded}")
    assert merged.text.startswith("🔗 Joined: the story now has 2 articles. /story ")
    shown_id = merged.text.rsplit("/story ", 1)[1].split()[0]
    [listing] = await admin.ask(f"/story {shown_id}")
    assert listing.text.startswith(f"The story of article {shown_id}: 2 articles")


async def test_split_of_the_story_id_article_then_merge_and_split_again_never_repeat(
    admin: Chat, user: Chat, app: BotApplication
) -> None:
    grain, reworded, bbc = [await add(admin, a) for a in (GRAIN, REWORDED, UPDATE)]
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.bold()[1:] == [UPDATE_TITLE]
    assert digest.text.endswith("Also: Reuters · Kyiv Independent")
    assert await app_ledger(app) == {grain, reworded, bbc}

    [split] = await admin.ask(f"/split {grain}")
    assert split.text == (
        f"✂️ Article {grain} is a story of its own now; 2 other articles keep the story."
    )
    [rest] = await admin.ask(f"/story {bbc}")
    assert rest.text.splitlines()[0] == f"The story of article {bbc}: 2 articles"
    [alone] = await admin.ask(f"/story {grain}")
    assert alone.text.startswith(f"Article {grain} is a story of its own")
    [nothing] = await user.ask("/digest")
    assert "📰" not in nothing.text

    # Merging the story with itself through two other members changes nothing.
    [same] = await admin.ask(f"/merge {bbc} {reworded}")
    assert same.text == f"Articles {bbc} and {reworded} are one story already."
    [merged] = await admin.ask(f"/merge {bbc} {grain}")
    assert merged.text == (f"🔗 Joined: the story now has 3 articles. /story {grain} shows it.")
    [listing] = await admin.ask(f"/story {grain}")
    assert [line.split()[0] for line in listing.text.splitlines()[1:4]] == [
        str(grain),
        str(reworded),
        str(bbc),
    ]
    [split_middle] = await admin.ask(f"/split {reworded}")
    assert "2 other articles keep the story" in split_middle.text
    [left] = await admin.ask(f"/story {bbc}")
    assert left.text.splitlines()[0] == f"The story of article {bbc}: 2 articles"
    [still_nothing] = await user.ask("/digest")
    assert "📰" not in still_nothing.text
    # A new report of the story is an update, once.
    later = await add(
        admin,
        article_text(
            "AP",
            15,
            "Britain sends navy ships to guard Black Sea grain corridor from London deal",
            "Britain will send navy ships to escort grain vessels under the London deal "
            "signed with Ukraine.",
        ),
    )
    # It joins the report it is most like (BBC's), whose story is led by grain again.
    assert await story_of(app.bot_data.sessions, later) == grain
    # It tells nothing the reader's reports of the story did not (BBC's navy ships): no
    # update, taken into their ledger once, never repeated.
    [again] = await user.ask("/digest")
    assert "📰" not in again.text
    assert await app_ledger(app) == {grain, reworded, bbc, later}


# ---------------------------------------------------------------- huge stories


async def store_story(app: BotApplication, texts: list[str]) -> list[int]:
    """Store ``texts`` and make them one story, as /merge would (past grouping's cap)."""
    sessions = app.bot_data.sessions
    ids = await store(sessions, texts, app.bot_data.clock())
    async with sessions.begin() as session:
        await session.execute(update(Article).where(Article.id.in_(ids)).values(story_id=ids[0]))
    return ids


async def test_story_listing_of_a_story_of_emoji_titles_fits_one_message(
    admin: Chat, app: BotApplication
) -> None:
    emoji = "🚀🌍"
    texts = [
        text(f"{emoji * 15}{n:02d}", at(9), f"{emoji * 45} {n:02d}", f"Lead {n}.")
        for n in range(30)
    ]
    ids = await store_story(app, texts)
    [listing] = await admin.ask(f"/story {ids[0]}")
    assert listing.text.startswith(f"The story of article {ids[0]}: 30 articles")
    listed = [line for line in listing.text.splitlines()[1:] if line[:1].isdigit()]
    [more] = re.findall(r"… and (\d+) more", listing.text)
    assert len(listed) + int(more) == 30
    assert utf16(listing.text) <= 4096


async def test_an_entry_of_a_story_of_sixty_sources_fits_and_names_two(
    user: Chat, app: BotApplication
) -> None:
    names = [
        "<b>Reuters</b> & Co",
        "Київська правда — " + "дуже " * 16,
        "\u202eسي ان ان\u202c " + "عربي" * 20,
        "🚀" * 99,
    ] + [f"Source {n} " + "x" * 80 for n in range(56)]
    texts = [
        text(name, at(9), "Т" * 290 + f" {n}", "<i>lead</i> " * 30, link=f"https://s{n}.example/")
        for n, name in enumerate(names)
    ]
    ids = await store_story(app, texts)
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert digest.text.startswith("📰 Your digest: 1 new story")
    assert utf16(digest.text) <= 4096
    also = digest.text.splitlines()[-1]
    assert also.startswith("Also: <b>Reuters</b> & Co · Київська правда — дуже")
    assert also.endswith(" · +57")
    assert "https://s0.example/" in digest.links() and "https://s1.example/" in digest.links()
    assert digest.button_texts == ["📚 Show all 60 reports: " + "Т" * 31 + "…"]
    assert "<i>lead</i>" in digest.text  # article text shown as text, never as markup
    assert await app_ledger(app) == set(ids)
    [nothing] = await user.ask("/digest")
    assert "📰" not in nothing.text


# ---------------------------------------------------------------- failed sends

WORDS = (
    "walrus quinoa zeppelin marmalade obsidian tundra saxophone nebula gondola "
    "pelican tornado vinyl cobalt lantern meteor falcon mango glacier compass ember "
    "harbor jasmine kettle lagoon mosaic nectar orchid prism quartz riddle"
).split()


def lone_story(n: int, member: int) -> str:
    """Article ``member`` of story ``n``: long, so that a digest of ten is two messages."""
    word = WORDS[n]
    title = f"{word.title()} report {n}-{member}: " + f"{word} " * 40
    lead = f"The {word} story {n} part {member} " + "with details of the matter " * 12 + "end."
    return text(f"Desk {member}", at(8 + member), title[:290], lead)


async def test_a_failed_send_offers_every_member_of_the_unsent_stories_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = settings_for(max_items=10)
    ids = await store(sessions, [lone_story(n, m) for n in range(10) for m in (1, 2)], NOW)
    async with sessions.begin() as session:
        for first, second in zip(ids[::2], ids[1::2], strict=True):
            await session.execute(
                update(Article).where(Article.id.in_([first, second])).values(story_id=first)
            )
    await add_subscriber(sessions, 1, "negotiations", settings=settings, now=NOW)
    outbound = await manual(sessions, 1, settings, NOW)
    assert outbound is not None and len(outbound.chunks) >= 2
    assert outbound.article_count == 20  # every member of the ten stories
    assert await ledger(sessions) == set(ids)
    sent = set(outbound.chunks[0].article_ids)
    async with sessions.begin() as session:
        await repo.record_sent(
            session,
            [repo.SentProgress(outbound.digest_id, [1], len(outbound.chunks))],
            now=NOW,
            lease=timedelta(minutes=5),
        )
        await repo.fail_digest(
            session,
            outbound.digest_id,
            unsent_article_ids=outbound.article_ids_from(1),
            error="Forbidden: bot was blocked by the user",
        )
    assert await ledger(sessions) == sent
    again = await manual(sessions, 1, settings, NOW + timedelta(minutes=1))
    assert again is not None
    assert set(again.article_ids_from(0)) == set(ids) - sent
    resent = shown(again)
    assert "Update:" not in resent
    headlines = [
        h for c in outbound.chunks[1:] for h in re.findall(r"<b><a [^>]*>([^<]*)</a>", c.text)
    ]
    assert headlines and all(headline in resent for headline in headlines)
    assert await ledger(sessions) == set(ids)


async def test_a_failed_update_comes_back_as_an_update_not_as_the_first_report(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = settings_for()
    [grain] = await store(sessions, [GRAIN], NOW)
    await add_subscriber(sessions, 1, "negotiations", settings=settings, now=NOW)
    assert await manual(sessions, 1, settings, NOW) is not None
    later = NOW + timedelta(hours=1)
    [bbc] = await store(sessions, [UPDATE], later)
    assert await story_of(sessions, bbc) == grain
    failed = await manual(sessions, 1, settings, later)
    assert failed is not None and f"Update: {UPDATE_TITLE}" in visible(shown(failed))
    async with sessions.begin() as session:
        await repo.fail_digest(
            session,
            failed.digest_id,
            unsent_article_ids=failed.article_ids_from(0),
            error="timed out",
        )
    assert await ledger(sessions) == {grain}  # the first digest's row stays
    again = visible(shown(await manual(sessions, 1, settings, later)))
    assert f"Update: {UPDATE_TITLE}" in again and GRAIN_TITLE not in again
    assert await ledger(sessions) == {grain, bbc}


# ---------------------------------------------------------------- the "Also:" line


def item(also: tuple[tuple[str, str], ...], more: int = 0, title: str = "Title") -> DigestItem:
    return DigestItem(
        article_id=1, title=title, summary="Summary.", link="https://a.example/", also=also,
        more=more,
    )  # fmt: skip


def test_also_names_are_escaped_and_the_entry_stays_within_the_limit() -> None:
    hostile = (
        ('<a href="x">Evil</a> & "Co"', 'https://e.example/?a=1&b="2"'),
        ("\u202eسي ان ان\u202c", "https://r.example/"),
        ("🚀" * 60, "https://x.example/"),
    )
    for limit in (4096, 400, 120, 60):
        block = render_item(item(hostile, more=40, title="T" * 5000), limit)
        assert tg_len(block) <= limit, limit
        assert '<a href="x">' not in block
        assert "&lt;a href=&quot;x&quot;&gt;Evil&lt;/a&gt; &amp; &quot;Co&quot;" in block or (
            "Evil" not in block
        )
    full = render_item(item(hostile, more=40), 4096)
    assert full.endswith(" · +40")  # all three named, cut to 40 units each
    assert '<a href="https://e.example/?a=1&amp;b=&quot;2&quot;">' in full


# ---------------------------------------------------------------- random states, two paths


async def test_twin_readers_get_the_same_digest_from_digest_and_from_the_schedule(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two readers with the same tags, mutes and ledger; one asks /digest, the other's
    digest is due: the same entries ("Update:", "Also:") and the same new ledger rows."""
    rng = random.Random(77)
    tags = [f"t{i}" for i in range(4)]
    settings = settings_for(max_items=5)
    texts = [
        text(
            f"Desk {n % 5}",
            NOW - timedelta(hours=rng.randint(0, 100)),
            f"Item {n} {rng.choice(['moon', 'storm', 'vote'])}",
            f"Lead {n}.",
            ", ".join(rng.sample(tags, rng.randint(1, 2))),
        )
        for n in range(40)
    ]
    ids = await store(sessions, texts, NOW - timedelta(days=2))
    story = {a: a for a in ids}
    for a in ids[1:]:
        if rng.random() < 0.35:
            story[a] = story[rng.choice(ids[: ids.index(a)])]
    async with sessions.begin() as session:
        for a, s in story.items():
            await session.execute(update(Article).where(Article.id == a).values(story_id=s))
    pairs = [(2 * k + 1, 2 * k + 2) for k in range(5)]
    for twins in pairs:
        chosen = ", ".join(rng.sample(tags, rng.randint(1, 2)))
        mute = rng.choice(["", "", "storm"])
        had = rng.sample(sorted(set(story.values())), 8)
        ledger_ids = [a for a in ids if story[a] in had and (rng.random() < 0.5 or a == story[a])]
        for chat in twins:
            await add_subscriber(sessions, chat, chosen, settings=settings, now=NOW)
            async with sessions.begin() as session:
                subscriber = await service.ensure_subscriber(session, chat, settings.defaults, NOW)
                if mute:
                    await search.add_words(
                        session, subscriber, parse_terms(mute), WordKind.MUTE,
                        now=NOW, max_age=timedelta(days=7),
                    )  # fmt: skip
                await repo.create_digests(
                    session,
                    [repo.NewDigest(subscriber.id, DigestKind.MANUAL, [], ledger_ids)],
                    now=NOW - timedelta(days=1),
                    lease_until=NOW,
                )
                subscriber.next_due_at = NOW + timedelta(days=1)
    by_sql = {chat: await manual(sessions, chat, settings, NOW) for chat, _ in pairs}
    for _, chat in pairs:
        await make_due(sessions, chat, NOW)
    by_index = {o.chat_id: o for o in await scheduled(sessions, settings, NOW)}
    async with sessions() as session:
        rows = await ledger_pairs(session)
        chat_of = {
            s.id: s.chat_id
            for s in [await repo.get_subscriber(session, c) for pair in pairs for c in pair]
            if s is not None
        }
    per: dict[int, set[int]] = {}
    for subscriber_id, article_id in rows:
        per.setdefault(chat_of[subscriber_id], set()).add(article_id)
    shown_any = 0
    for manual_chat, due_chat in pairs:
        mine, theirs = by_sql[manual_chat], by_index.get(due_chat)
        assert (mine is None) == (theirs is None), manual_chat
        if mine is not None and theirs is not None:
            assert entries(shown(theirs)) == entries(shown(mine)), manual_chat
            shown_any += 1
        assert per.get(manual_chat) == per.get(due_chat), manual_chat
    assert shown_any >= 3
    assert any("Update: " in shown(o) for o in by_index.values())
    assert any("Also: " in shown(o) for o in by_index.values())


# ---------------------------------------------------------------- the migration


def _downgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    with connection.begin():
        command.downgrade(config, revision)


async def test_downgrading_the_stories_migration_keeps_tags_ledger_and_search(
    db_url: str,
) -> None:
    """0007 down to 0006 on a database in use: the articles' tag links and the ledger
    stay, full-text search still finds old and new articles, and ids are not reused."""
    stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO articles (id, fingerprint, content_hash, title, source, category,"
                " published_at, added_at, url, summary, body, story_id) VALUES"
                f" (1, 'f1', 'h1', 'Alpha', 'S', 'News', '{stamp}', '{stamp}', NULL, 'A.',"
                " 'A.', NULL),"
                f" (2, 'f2', 'h2', 'Beta', 'S', 'News', '{stamp}', '{stamp}', NULL, 'B.',"
                " 'B.', 1),"
                f" (3, 'f3', 'h3', 'Gamma', 'S', 'News', '{stamp}', '{stamp}', NULL, 'C.',"
                " 'C.', NULL)",
                "INSERT INTO tags (id, key, name) VALUES (1, 'space', 'space')",
                "INSERT INTO article_tags (tag_id, article_id) VALUES (1, 1), (1, 2), (1, 3)",
                "INSERT INTO subscribers (id, chat_id, timezone, digest_time, frequency,"
                " weekday, paused, blocked, next_due_at, created_at) VALUES (1, 77, 'UTC',"
                f" '09:00:00', 'daily', 0, false, false, '{stamp}', '{stamp}')",
                "INSERT INTO digests (id, subscriber_id, kind, status, created_at, sent_at,"
                " lease_until, chunks, sent_chunks, message_ids, attempts, error) VALUES"
                f" (1, 1, 'scheduled', 'sent', '{stamp}', '{stamp}', NULL, '[]', 0, '[]', 1,"
                " NULL)",
                "INSERT INTO delivered_articles (subscriber_id, article_id, digest_id,"
                f" delivered_at) VALUES (1, 1, 1, '{stamp}'), (1, 2, 1, '{stamp}')",
                "INSERT INTO story_keys (key, article_id) VALUES (5, 1), (5, 2)",
            ):
                await connection.execute(sql(statement))
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    sql("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")
                )
            await connection.execute(sql("DELETE FROM articles WHERE id = 3"))
        async with engine.connect() as connection:
            url = engine.url.render_as_string(hide_password=False)
            await connection.run_sync(_downgrade, url, "0006")
        async with engine.begin() as connection:
            tags = await connection.scalar(sql("SELECT count(*) FROM article_tags"))
            rows = await connection.scalar(sql("SELECT count(*) FROM delivered_articles"))
            assert (tags, rows) == (2, 2)
            await connection.execute(
                sql(
                    "INSERT INTO articles (fingerprint, content_hash, title, source, category,"
                    " published_at, added_at, url, summary, body) VALUES ('f4', 'h4',"
                    f" 'Delta', 'S', 'News', '{stamp}', '{stamp}', NULL, 'D.', 'D.')"
                )
            )
            new_id = await connection.scalar(sql("SELECT id FROM articles WHERE title = 'Delta'"))
            assert new_id == 4  # 3 was deleted: never handed out again
        async with create_sessionmaker(engine)() as session:
            # Through the index alone: today's search query needs the newer schema's
            # deleted_at (migration 0009).
            for word, article_id in (("beta", 2), ("delta", 4)):
                found = await words_repo.added_matching(
                    session, search.full_text(parse_query(word)), NOW - timedelta(days=90)
                )
                assert found == [article_id], word
    finally:
        await engine.dispose()
