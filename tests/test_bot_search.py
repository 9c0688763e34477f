"""/search end to end, on both backends: paging with buttons, the 90-day window, Cyrillic,
and a clear answer for every kind of bad query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.articles.format import parse_article
from bot.i18n import translator
from bot.telegram.context import BotApplication
from bot.telegram.updates import Throttle
from bot.words.keywords import parse_query
from bot.words.search import full_text, store_articles
from emulator import Emulator, EmulatorClient
from emulator.client import Chat
from emulator.settle import settled
from storage import keywords as words_repo
from storage.models import Article
from storage.records import ParsedArticle
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEED_TITLE, USER_ID

EN = translator("en")


class Ticks:
    now = 0.0

    def __call__(self) -> float:
        return self.now


NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def story(title: str, body: str, published: datetime, tags: str = "space") -> ParsedArticle:
    return parse_article(
        f"Science {published.isoformat()}\nScience Desk\n{title}\n\n{tags}\n\n{body}\n"
    )


async def store(app: BotApplication, *articles: ParsedArticle) -> None:
    async with app.bot_data.sessions.begin() as session:
        await store_articles(session, articles, now=app.bot_data.clock())


@pytest.fixture
async def moons(app: BotApplication, clock: FakeClock) -> BotApplication:
    """23 articles about the Moon, one a day, newest last; one added too long ago; one
    about Mars."""
    clock.set(NOW - timedelta(days=91))
    await store(app, story("Moon landing of old", "The Moon, long ago.", clock.now))
    clock.set(NOW)
    await store(
        app,
        *(
            story(
                f"Moon mission {n:02d}",
                f"Lander number {n} reached the Moon.",
                NOW - timedelta(days=30 - n),
            )
            for n in range(1, 24)
        ),
        story("Mars rover", "Dust storms on Mars.", NOW - timedelta(days=1)),
    )
    return app


async def test_search_pages_through_results(user: Chat, moons: BotApplication) -> None:
    [first] = await user.ask("/search moon")
    lines = first.text.splitlines()
    assert lines[0] == "🔎 moon"
    assert lines[1] == "Results 1–10"
    assert first.button_texts == ["More ▶"]
    # Equal relevance: the newest first.
    assert first.bold()[:2] == ["Moon mission 23", "Moon mission 22"]
    assert len(first.links()) == 10
    [second] = await user.press(first, "More ▶")
    assert second.edited
    assert second.text.splitlines()[1] == "Results 11–20"
    assert second.button_texts == ["◀ Previous", "More ▶"]
    [third] = await user.press(second, "More ▶")
    assert third.text.splitlines()[1] == "Results 21–23 (the last)"
    assert third.bold() == ["Moon mission 03", "Moon mission 02", "Moon mission 01"]
    assert third.button_texts == ["◀ Previous"]
    assert "Moon landing of old" not in third.text  # added over 90 days ago
    [back] = await user.press(third, "◀ Previous")
    assert back.text.splitlines()[1] == "Results 11–20"


async def test_search_ranks_title_matches_first(user: Chat, moons: BotApplication) -> None:
    await store(
        moons,
        story("Quiet week", "Nothing about storms, except one storm.", NOW - timedelta(days=2)),
    )
    [reply] = await user.ask("/search storm*")
    assert sorted(reply.bold()) == ["Mars rover", "Quiet week"]
    [phrase] = await user.ask('/search "dust storms"')
    assert phrase.bold() == ["Mars rover"]


async def test_search_cyrillic(user: Chat, moons: BotApplication) -> None:
    await store(
        moons,
        story("Місія на Місяць", "Апарат сів на Місяці. Переговори тривають.", NOW),
    )
    [reply] = await user.ask("/search МІСЯЦІ")
    assert reply.bold() == ["Місія на Місяць"]
    [prefix] = await user.ask("/search перегов*")
    assert prefix.bold() == ["Місія на Місяць"]


async def test_no_match_says_so(user: Chat, moons: BotApplication) -> None:
    [reply] = await user.ask("/search saturn")
    assert reply.text == "🔎 saturn\nNo articles of the last 90 days match."
    assert reply.button_texts == []


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("/search", "What should I search for?\nUsage: /search peace talks"),
        ("/search    ", "What should I search for?\nUsage: /search peace talks"),
        ("/search !!! --- ???", "⚠️ “!!! --- ???” has no letters or digits to look for."),
        ('/search "moon', '⚠️ A quote is not closed: put a phrase between two " marks.'),
        (
            "/search " + "moon " * 200,
            "That is too long: at most 200 characters.\nUsage: /search peace talks",
        ),
        ("/search m*", "⚠️ “m*” is too short for a prefix: put * after at least 3 letters."),
        (
            "/search " + " ".join(f"w{n}" for n in range(11)),
            "That is 11 search terms; at most 10.\nUsage: /search peace talks",
        ),
    ],
)
async def test_bad_queries_get_clear_answers(
    user: Chat, moons: BotApplication, typed: str, answer: str
) -> None:
    [reply] = await user.ask(typed)
    assert reply.text == answer


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("/search moon AND mission", 0),  # AND is a word here: no article has it
        ("/search NEAR(moon mission)", 0),
        ("/search -mars", 1),  # not "everything but Mars"
        ("/search title:mars", 0),
        ("/search mars OR moon", 0),
        ('/search "" mars', 1),
        ("/search mars*", 1),
        ("/search *mars", 1),
        ("/search ^mars", 1),
        ("/search mars'); DROP TABLE articles; --", 0),
        ("/search mars:*", 1),
        ("/search mars | moon", 0),
        ("/search mars & !moon", 0),
    ],
)
async def test_fts_syntax_is_searched_as_words(
    user: Chat, moons: BotApplication, typed: str, found: int
) -> None:
    [reply] = await user.ask(typed)
    results = [line for line in reply.text.splitlines() if line[:1].isdigit()]
    assert len(results) == found, reply.text
    [still] = await user.ask("/search mars")
    assert still.bold() == ["Mars rover"]


# ---------------------------------------------------------------- inline mode


async def test_inline_mode_offers_articles_to_share_page_by_page(
    user: Chat, moons: BotApplication
) -> None:
    first = await user.inline("moon")
    assert [r["title"] for r in first["results"]][:2] == ["Moon mission 23", "Moon mission 22"]
    assert len(first["results"]) == 10
    assert first["next_offset"] == "1"
    shared = first["results"][0]["input_message_content"]
    assert shared["message_text"].startswith("<b>Moon mission 23</b>\nLander number 23")
    assert first["results"][0]["description"].startswith("21 Nov 2026 · Lander number 23")
    third = await user.inline("moon", offset="2")
    assert [r["title"] for r in third["results"]] == [
        "Moon mission 03",
        "Moon mission 02",
        "Moon mission 01",
    ]
    assert third["next_offset"] == ""


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("", "Type words to search the news"),
        ("!!!", "Type letters or digits to search"),
        ('"moon', "Close the quote to search a phrase"),
        ("moon " * 60, "Too long: at most 200 characters"),
        ("saturn", "No articles of the last 90 days match"),
    ],
)
async def test_inline_bad_input_gets_a_hint(
    user: Chat, moons: BotApplication, typed: str, hint: str
) -> None:
    answer = await user.inline(typed)
    assert answer["results"] == []
    assert answer["button"]["text"] == hint


async def test_inline_forged_offset_is_the_first_page(user: Chat, moons: BotApplication) -> None:
    answer = await user.inline("mars", offset="-1; DROP")
    assert [r["title"] for r in answer["results"]] == ["Mars rover"]


async def test_ranking_looks_at_the_newest_candidates_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A title match outranks body matches, unless it is older than the newest
    ``candidates`` matches (see storage.keywords.CANDIDATES)."""
    async with sessions.begin() as session:
        await store_articles(session, [story("Comet news", "A comet.", NOW)], now=NOW)
        for n in range(3):
            body = f"Story {n} mentions a comet in passing among many other words."
            await store_articles(session, [story(f"Other {n}", body, NOW)], now=NOW)
    match = full_text(parse_query("comet"))
    since = NOW - timedelta(days=90)
    async with sessions() as session:
        every = await words_repo.search_articles(session, match, since=since, limit=10)
        newest = await words_repo.search_articles(
            session, match, since=since, limit=10, candidates=3
        )
    assert every[0].title == "Comet news"
    assert sorted(h.title for h in newest) == ["Other 0", "Other 1", "Other 2"]


# ---------------------------------------------------------------- one rule with digests


async def test_search_finds_what_digests_show_and_the_help_example_finds_something(
    user: Chat, seeded: BotApplication
) -> None:
    """The seed was published in July 2024 and added now: its reader's digest has it, so
    search finds it too (an article is recent when it was added recently; search went by
    publication date and found nothing). And /help's own example finds something."""
    await user.ask("/subscribe negotiations")
    [digest] = await user.ask("/digest")
    assert SEED_TITLE in digest.text
    [found] = await user.ask("/search Britain")
    assert found.bold() == [SEED_TITLE]
    [example] = [c.about for c in texts.COMMANDS if c.name == "search"]
    typed = example[example.index("/search") :]
    assert typed == "/search peace talks"
    [helped] = await user.ask(typed)
    assert helped.text.splitlines()[1] == "Results 1–1 (the last)"
    assert helped.bold() == [SEED_TITLE]


async def test_inline_answers_come_from_a_cache_per_query_language_and_page(
    user: Chat, moons: BotApplication, emu: EmulatorClient
) -> None:
    first = await user.inline("Moon")
    async with moons.bot_data.sessions.begin() as session:  # gone from the database,
        await session.execute(delete(Article).where(Article.title == "Moon mission 23"))
    again = await user.inline("  moon ")  # the same terms: the same answer, for a minute
    assert again["results"] == first["results"]
    other_page = await user.inline("moon", offset="1")
    assert other_page["results"][0]["title"] == "Moon mission 12"
    reader = Chat(emu, 4242)
    await reader.speak("uk")  # their own language: a separate answer, read afresh
    ukrainian = await reader.inline("moon")
    assert ukrainian["results"][0]["title"] == "Moon mission 22"
    assert ukrainian["results"][0]["description"].startswith("20 лист. 2026 · Lander number 22")
    assert len(moons.bot_data.inline_answers) == 3


async def test_one_users_inline_flood_is_cut_before_any_work(
    user: Chat, moons: BotApplication, emu: EmulatorClient, emulator: Emulator
) -> None:
    """Before, inline queries were not throttled at all: one user's 3,000 delayed another
    user's /help by 10.7 to 19.1 s. Now they take from their sender's bucket."""
    ticks = Ticks()
    moons.update_processor.throttle = Throttle(5, 0.01, clock=ticks)  # type: ignore[attr-defined]
    for n in range(40):
        await emu.inline_query(user.user_id, ("moon", "mission", "lander")[n % 3])
    [help_reply] = await Chat(emu, 4343).ask("/help")
    assert help_reply.text.startswith("Commands")
    assert await settled(moons, emulator)
    answers = await emu.events(user.user_id, kinds="inline_answer")
    assert len(answers) == 6  # five answered, and one "too fast"; the rest dropped
    assert sorted(len(a["results"]) for a in answers)[1:] == [10] * 5
    assert [a["button"]["text"] for a in answers if not a["results"]] == [EN._(texts.TOO_FAST)]


# ---------------------------------------------------------------- words as people write them

# Titles as articles write them; each query below is typed as a reader would.
SPELLINGS = [
    "Новий обʼєкт у Києві",  # U+02BC, the official Ukrainian apostrophe
    "Ще один об'єкт",  # U+0027, as typed on most keyboards
    "Третій об’єкт",  # U+2019, as word processors make it
    "Сім'я повернулася додому",
    "Сім’я і сім днів",
    "Пам’ять про героїв",
    "Die Straße ist gesperrt",
    "STRASSE CLOSED",
    "The ﬁnance ministry",  # a ligature
    "İstanbul talks",
    "Istanbul again",
    "ΟΔΟΣ news",
    "Ґанок відремонтували",
    "Старий за\u0301мок",  # a stress mark over the vowel
    "Zu\u0308rich bank",  # decomposed ü
    "ＡＢＣ report",  # full-width
    "Britain's plan",
]
FOUND = [
    ("об'єкт", [0, 1, 2]),
    ("об’єкт", [0, 1, 2]),
    ("обʼєкт", [0, 1, 2]),
    ("ОБ'ЄКТ", [0, 1, 2]),
    ("об", []),  # the apostrophe is a letter: no half of the word is a word
    ("єкт", []),
    ("сімʼя", [3, 4]),
    ("сім'я", [3, 4]),
    ("сім", [4]),  # "seven", not "family"
    ("памʼять", [5]),
    ("пам'ять", [5]),
    ("Straße", [6, 7]),  # as the article writes it
    ("STRASSE", [6, 7]),
    ("strasse", [6, 7]),
    ("finance", [8]),
    ("ﬁnance", [8]),
    ("istanbul", [9, 10]),
    ("İstanbul", [9, 10]),
    ("οδος", [11]),
    ("ґанок", [12]),
    ("ҐАНОК", [12]),
    ("замок", [13]),
    ("zurich", [14]),
    ("Zürich", [14]),
    ("abc", [15]),
    ("Britain", [16]),
    ("Britain’s", [16]),
]


async def test_words_are_found_however_they_are_spelt(
    emu: EmulatorClient, app: BotApplication
) -> None:
    """Ukrainian apostrophes (issue 22, item 11), "Straße" (item 12) and their kin."""
    await store(
        app, *(story(title, "Nothing else.", NOW - timedelta(hours=1)) for title in SPELLINGS)
    )
    # A reader for every ten queries: more from one chat would meet the flood throttle.
    readers = [Chat(emu, USER_ID + 1 + n, "Reader") for n in range(len(FOUND) // 10 + 1)]
    seen = []
    for number, (typed, _) in enumerate(FOUND):
        [reply] = await readers[number // 10].ask(f"/search {typed}")
        seen.append((typed, sorted(reply.bold())))
    assert seen == [(typed, sorted(SPELLINGS[i] for i in indexes)) for typed, indexes in FOUND]


async def test_results_and_shared_articles_are_in_ukrainian(
    user: Chat, moons: BotApplication
) -> None:
    """Issue 22, item 15: the link under each result said "Read" to Ukrainian readers."""
    await user.speak("uk")
    [reply] = await user.ask("/search mars")
    assert reply.text.splitlines()[1:] == [
        "Результати 1–1 (останні)",
        "",
        "1. Mars rover",
        "Dust storms on Mars.",
        "Читати · 27 лист. 2026",
    ]
    answer = await user.inline("mars")
    shared = answer["results"][0]["input_message_content"]["message_text"]
    assert shared.splitlines()[-1].endswith(">Читати</a> · 27 лист. 2026")
