"""One fold for words everywhere: the search index of each database sees the same words
as the matcher and the queries (bot.words.keywords.words), on a table of hostile words; the
SQL mirror of the fold agrees with the Python one; apostrophes are one family for search,
story stems and weekdays alike."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.format import parse_article
from bot.stories.similarity import weighted_stems
from bot.words.keywords import parse_query, words
from bot.words.search import full_text, search, store_articles
from storage import keywords as words_repo
from storage.db import create_engine
from storage.folding import APOSTROPHES, COMBINING, CYRILLIC, LATIN, fold
from storage.records import ParsedArticle
from tests.auxil.postgres import empty_at_head

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

# (a title as an article may write it, the words every index and the matcher must see)
HOSTILE = [
    ("Straße", ["strasse"]),
    ("STRASSE strasse", ["strasse", "strasse"]),
    ("ẞ GROẞ", ["ss", "gross"]),
    ("ﬁnance ﬂow", ["finance", "flow"]),  # ligatures
    ("İstanbul Istanbul", ["istanbul", "istanbul"]),  # Turkish dotted capital I
    ("ılık", ["ılık"]),  # Turkish dotless i stays its own letter
    ("ΟΔΟΣ οδος Σ", ["οδοσ", "οδοσ", "σ"]),  # final sigma
    ("Ґанок ґава ГҐ", ["ґанок", "ґава", "гґ"]),
    ("за\u0301мок", ["замок"]),  # a stress mark typed over a vowel
    ("Zu\u0308rich Zürich Zurich", ["zurich", "zurich", "zurich"]),  # decomposed, composed
    ("Erdoğan Łódź", ["erdogan", "łodz"]),  # Latin accents go, ł is a letter of its own
    ("й ї ё ў", ["й", "ї", "ё", "ў"]),  # Cyrillic keeps its letters
    ("ＡＢＣ１２３ ｆｕｌｌ", ["abc123", "full"]),  # full-width
    ("обʼєкт об'єкт об’єкт", ["обʼєкт", "обʼєкт", "обʼєкт"]),
    ("сім'я сімʼя пам’ять ПАМ'ЯТЬ", ["сімʼя", "сімʼя", "памʼять", "памʼять"]),
    ("об`єкт об‘єкт", ["обʼєкт", "обʼєкт"]),  # what keyboards also produce
    ("Britain's Britain’s Britainʼs", ["britain", "s", "britain", "s", "britain", "s"]),
    ("'якось' ‘так’ ʼєʼ", ["якось", "так", "є"]),  # quotes around a word are not letters
    ("ǅ ŉ", ["dz", "n"]),
]


def _parsed(title: str, number: int) -> ParsedArticle:
    return parse_article(
        f"News {NOW.isoformat()}\nWire\n{title}\n\nmisc\n\nBody number {number}.\n"
    )


async def _index_words(session: AsyncSession, article_id: int) -> list[str]:
    """The words the database's full-text index holds for an article's title, in order."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.title_words "
                "USING fts5vocab(main, articles_fts, instance)"
            )
        )
        rows = await session.execute(
            text(
                "SELECT term FROM temp.title_words WHERE doc = :id AND col = 'title' "
                "ORDER BY offset"
            ),
            {"id": article_id},
        )
        return [row[0] for row in rows]
    rows = await session.execute(
        text(
            "SELECT lexeme, positions, weights FROM unnest("
            "(SELECT search_vector FROM articles WHERE id = :id))"
        ),
        {"id": article_id},
    )
    placed = [
        (position, lexeme)
        for lexeme, positions, weights in rows
        for position, weight in zip(positions, weights, strict=True)
        if weight == "A"
    ]
    return [lexeme for _, lexeme in sorted(placed)]


def test_the_matcher_and_the_queries_see_these_words() -> None:
    assert [(title, words(title)) for title, _ in HOSTILE] == HOSTILE


async def test_each_index_sees_the_words_the_matcher_sees(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        stored = await store_articles(
            session, [_parsed(title, n) for n, (title, _) in enumerate(HOSTILE)], now=NOW
        )
    async with sessions() as session:
        seen = [(row.title, await _index_words(session, row.id)) for row, _ in stored]
    assert seen == [(title, words(title)) for title, _ in HOSTILE]


@pytest.mark.parametrize(("title", "expected"), HOSTILE)
def test_the_fold_is_stable(title: str, expected: list[str]) -> None:
    assert fold(fold(title)) == fold(title)


@settings(deadline=None)
@given(st.text(alphabet="aZßẞςΣİıґҐїй'’ʼ`\u0301\u0308 ﬁＡéÉǅ.-", max_size=30))
def test_folding_twice_changes_nothing(typed: str) -> None:
    assert fold(fold(typed)) == fold(typed)
    assert words(" ".join(words(typed))) == words(typed)


async def test_stored_changed_and_deleted_articles_keep_the_index_right(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The index's triggers fold on insert, update and delete (SQLite's external-content
    table must be given exactly what it indexed to remove it)."""

    async def found(typed: str) -> list[str]:
        async with sessions() as session:
            page = await search(session, parse_query(typed), now=NOW)
        return [hit.title for hit in page.hits]

    first = parse_article(f"News {NOW.isoformat()}\nWire\nDie Straße\n\nmisc\n\nZürich.\n")
    async with sessions.begin() as session:
        [(row, _)] = await store_articles(session, [first], now=NOW)
    assert await found("strasse zurich") == ["Die Straße"]
    changed = parse_article(f"News {NOW.isoformat()}\nWire\nDie Straße\n\nmisc\n\nобʼєкт.\n")
    async with sessions.begin() as session:
        await store_articles(session, [changed], now=NOW)
    assert await found("zurich") == []
    assert await found("об'єкт STRASSE") == ["Die Straße"]
    async with sessions.begin() as session:
        if session.get_bind().dialect.name == "sqlite":
            # FTS5 compares the index with what the view folds now: any trigger that
            # indexed other text than the view reads fails this.
            await session.execute(
                text("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
            )
        await session.execute(text("DELETE FROM articles WHERE id = :id"), {"id": row.id})
    assert await found("об’єкт") == []
    async with sessions() as session:
        assert (
            await words_repo.added_matching(
                session, full_text(parse_query("straße")), NOW.replace(year=2000)
            )
            == []
        )


# ---------------------------------------------------------------- the SQL mirror


def _as_sql_does(typed: str) -> str:
    """Migration 0008's SQL steps, one by one in Python: no shortcut taken."""
    text = unicodedata.normalize("NFKC", typed).lower().replace("ß", "ss").replace("ς", "σ")
    text = re.sub(f"[{COMBINING}]+", "", text)
    text = re.sub(f"(?<=[{LATIN}])[{COMBINING}]+", "", unicodedata.normalize("NFD", text))
    text = unicodedata.normalize("NFC", text)
    lone = f"(?<![{CYRILLIC}])[{APOSTROPHES}]|[{APOSTROPHES}](?![{CYRILLIC}])"
    return re.sub(lone, " ", text).translate(str.maketrans(APOSTROPHES, "ʼ" * len(APOSTROPHES)))


_HOSTILE_ALPHABET = (
    "aAeEiIoOuUzZßẞςΣσİıґҐїЇйЙ'’ʼ‘`ʹ′ \u0301\u0308\u0306\u0307\u0327äöüÄÖÜéÉńŃłŁøØ"
    "ñæÆåÅаАеЕяЯєЄюЮ.,-ﬁﬂＡａ１①½ΆάΐΰǅǄǆŉKµſ한"
)


@settings(deadline=None)
@given(st.text(alphabet=_HOSTILE_ALPHABET, max_size=40))
def test_the_shortcuts_fold_as_the_sql_steps_do(typed: str) -> None:
    assert fold(typed) == _as_sql_does(typed)


def _samples() -> list[str]:
    """The hostile titles, and strings drawn from an alphabet of what trips folds."""
    alphabet = _HOSTILE_ALPHABET
    drawn = random.Random(22)
    return [title for title, _ in HOSTILE] + [
        "".join(drawn.choice(alphabet) for _ in range(drawn.randint(1, 16))) for _ in range(3_000)
    ]


async def test_postgresql_folds_as_python_does(postgres_url: str) -> None:
    """SQLite calls the Python function itself; PostgreSQL has it in SQL (0008)."""
    await empty_at_head(postgres_url)
    engine = create_engine(postgres_url)
    try:
        samples = _samples()
        async with engine.connect() as connection:
            folded = await connection.scalars(
                text("SELECT newsbot_fold(s) FROM unnest(CAST(:samples AS text[])) AS s"),
                {"samples": samples},
            )
            differing = [
                (sample, sql, fold(sample))
                for sample, sql in zip(samples, folded, strict=True)
                if sql != fold(sample)
            ]
    finally:
        await engine.dispose()
    assert differing == []


# ---------------------------------------------------------------- one apostrophe family


def test_story_stems_treat_every_apostrophe_alike() -> None:
    stems = {
        frozenset(weighted_stems(f"Новий об{mark}єкт у сім{mark}ї", "uk")) for mark in APOSTROPHES
    }
    assert len(stems) == 1
