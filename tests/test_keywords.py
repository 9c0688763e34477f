"""Followed and muted terms: parsing what users type, matching articles, and full-text
queries no typed syntax can change."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.words.keywords import (
    MAX_TERM_LENGTH,
    Matcher,
    Problem,
    Term,
    TermError,
    parse_query,
    parse_terms,
    postgres_tsquery,
    selected,
    sqlite_match,
    words,
)


def keys(text: str) -> list[str]:
    return [t.key for t in parse_terms(text)]


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Ukraine", ["ukraine"]),
        ("UKRAINE ukraine Ukraine", ["ukraine"]),
        ('"peace talks" energy', ["peace talks", "energy"]),
        ("«мирные переговоры»", ["мирные переговоры"]),
        ("“smart quotes”", ["smart quotes"]),
        ("negotiat*", ["negotiat*"]),
        ('"peace talk*"', ["peace talk*"]),
        ("e-mail", ["e mail"]),
        ("Straße", ["strasse"]),
        ("ＡＩ", ["ai"]),
        ("Київ", ["київ"]),
        ('  "  spaced   out  "  ', ["spaced out"]),
    ],
)
def test_parse_terms(typed: str, expected: list[str]) -> None:
    assert keys(typed) == expected


@pytest.mark.parametrize(
    ("typed", "problem", "item"),
    [
        ("", Problem.EMPTY, ""),
        ("   ", Problem.EMPTY, ""),
        ('""', Problem.EMPTY, ""),
        ('"peace talks', Problem.UNBALANCED_QUOTES, ""),
        ('a "b" "c', Problem.UNBALANCED_QUOTES, ""),
        ("x" * (MAX_TERM_LENGTH + 1), Problem.TOO_LONG, "x" * (MAX_TERM_LENGTH + 1)),
        ("ﷺ" * 12, Problem.TOO_LONG, "ﷺ" * 12),  # 12 typed, 227 once NFKC spells them out
        ("ok !!! fine", Problem.NO_WORDS, "!!!"),
        ("ne*", Problem.SHORT_PREFIX, "ne*"),
        ("*", Problem.NO_WORDS, "*"),
        (" ".join(f"w{n}" for n in range(21)), Problem.TOO_MANY, "21"),
    ],
)
def test_parse_terms_refuses(typed: str, problem: Problem, item: str) -> None:
    with pytest.raises(TermError) as caught:
        parse_terms(typed)
    assert caught.value.problem == problem
    assert caught.value.item == item


def test_fifty_characters_is_allowed_and_twenty_terms_too() -> None:
    assert keys("y" * MAX_TERM_LENGTH) == ["y" * MAX_TERM_LENGTH]
    assert len(parse_terms(" ".join(f"w{n}" for n in range(20)))) == 20


def test_term_keys_round_trip() -> None:
    for term in parse_terms('word "a phrase" pre* "long phr*"'):
        assert Term.from_key(term.key) == term
    assert [t.display for t in parse_terms('word "a phrase" pre*')] == [
        "word",
        '"a phrase"',
        "pre*",
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("NEAR(a b)", ["near a", "b"]),
        ("a AND b", ["a", "and", "b"]),
        ("-excluded", ["excluded"]),
        ("title:moon", ["title moon"]),
        ("- : ^ ( )", None),
        ("moon -", ["moon"]),
    ],
)
def test_parse_query_keeps_only_words(typed: str, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(TermError) as caught:
            parse_query(typed)
        assert caught.value.problem == Problem.NO_WORDS
    else:
        assert [t.key for t in parse_query(typed)] == expected


def test_parse_query_refuses_a_thousand_characters() -> None:
    with pytest.raises(TermError) as caught:
        parse_query("moon " * 200)
    assert caught.value.problem == Problem.TOO_LONG


# ---------------------------------------------------------------- matching

ARTICLE = (
    "Peace talks resume in Geneva. Negotiators met on Tuesday; the e-mail leak "
    "(about Gas-prices) was denied. Переговоры в Києві продовжуються."
)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("geneva", True),  # case
        ("GENEVA", True),
        ("gen", False),  # a substring is not a word
        ("neva", False),
        ("talk", False),
        ("talks", True),
        ("gen*", True),  # a prefix
        ("negotiat*", True),
        ("tiat*", False),  # a prefix starts a word
        ('"peace talks"', True),  # a phrase
        ('"talks peace"', False),
        ('"peace resume"', False),
        ('"peace talks resume"', True),
        ('"geneva negotiators"', True),  # punctuation between words is no barrier
        ("e-mail", True),
        ("email", False),
        ("gas prices", True),  # two words, each found
        ("переговоры", True),  # Cyrillic, case
        ("ПЕРЕГОВОРЫ", True),
        ("переговор", False),
        ("переговор*", True),
        ("києві", True),  # Ukrainian
        ("київ", False),
        ('"в києві"', True),
    ],
)
def test_matching(typed: str, found: bool) -> None:
    terms = parse_terms(typed)
    matcher = Matcher(terms)
    hits = matcher.keys_in(ARTICLE)
    assert all(t.key in hits for t in terms) is found


def test_many_terms_one_pass_and_each_reported_once() -> None:
    terms = [Term((f"word{n}",)) for n in range(10_000)] + parse_terms('"peace talks" geneva')
    matcher = Matcher(terms)
    assert len(matcher) == 10_002
    assert matcher.keys_in(ARTICLE + " word42 word42 word9999") == {
        "peace talks",
        "geneva",
        "word42",
        "word9999",
    }


def test_a_phrase_never_spans_two_fields() -> None:
    matcher = Matcher(parse_terms('"geneva officials"'))
    assert matcher.keys_in("Talks in Geneva", "Officials said") == set()
    assert matcher.keys_in("Talks in Geneva officials said") == {"geneva officials"}


def test_an_empty_matcher_finds_nothing() -> None:
    assert Matcher([]).keys_in(ARTICLE) == set()


def test_typed_regex_is_only_text() -> None:
    matcher = Matcher(parse_terms('"[a-z]+" (ab|cd)'))
    assert matcher.keys_in("anything at all, abcd") == set()
    assert matcher.keys_in("literally a z, then (ab|cd)") == {"a z", "ab cd"}


@pytest.mark.parametrize(
    ("matched", "follows", "mutes", "expected"),
    [
        ({"moon"}, {"moon"}, set(), True),
        ({"moon", "rocket"}, {"moon"}, {"rocket"}, False),  # a mute beats a match
        ({"rocket"}, set(), {"rocket"}, False),
        (set(), {"moon"}, {"rocket"}, False),
        ({"sun"}, {"moon"}, set(), False),
    ],
)
def test_mute_beats_match(
    matched: set[str], follows: set[str], mutes: set[str], expected: bool
) -> None:
    assert selected(matched, follows, mutes) is expected


# ---------------------------------------------------------------- full-text queries

INJECTIONS = [
    '"',
    '"""',
    '" OR "',
    "moon*",
    "*moon",
    "NEAR(moon rocket)",
    "NEAR",
    "moon NEAR rocket",
    "-moon",
    "moon -rocket",
    "title:moon",
    "{title body}:moon",
    "moon AND rocket",
    "moon OR rocket",
    "NOT moon",
    "moon NOT rocket",
    "^moon",
    "moon + rocket",
    "(moon",
    "moon)",
    "'; DROP TABLE docs; --",
    "\\' & ! | <-> :*",
    "moon:* & !rocket",
    "luna' | 'moon",
]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    db.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        [
            ("Moon rocket", "The rocket flew to the moon"),
            ("Near and not", "and or not near title drop table docs"),
            ("Луна", "Ракета летит к Луне"),
        ],
    )
    return db


@pytest.mark.parametrize("typed", INJECTIONS)
def test_sqlite_queries_never_fail_and_never_widen(fts: sqlite3.Connection, typed: str) -> None:
    try:
        terms = parse_query(typed)
    except TermError:
        return
    query = sqlite_match(terms)
    rows = fts.execute("SELECT title FROM docs WHERE docs MATCH ?", (query,)).fetchall()
    # Every row found holds every typed word: operators became words, not logic.
    for (title,) in rows:
        [body] = fts.execute("SELECT body FROM docs WHERE title = ?", (title,)).fetchone()
        found = set(words(title + " " + body))
        for term in terms:
            if not term.prefix:
                assert set(term.words) <= found


def test_sqlite_query_shapes(fts: sqlite3.Connection) -> None:
    def titles(typed: str) -> set[str]:
        query = sqlite_match(parse_query(typed))
        return {t for (t,) in fts.execute("SELECT title FROM docs WHERE docs MATCH ?", (query,))}

    assert titles("moon") == {"Moon rocket"}
    assert titles("roc*") == {"Moon rocket"}
    assert titles('"rocket flew"') == {"Moon rocket"}
    assert titles('"flew rocket"') == set()
    assert titles("NOT moon") == set()  # both words, not "everything but moon"
    assert titles("moon OR luna") == set()
    assert titles("луна") == {"Луна"}
    assert titles("near title") == {"Near and not"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("moon", "'moon'"),
        ("moon rocket", "'moon' & 'rocket'"),
        ('"moon rocket"', "('moon' <-> 'rocket')"),
        ("negotiat*", "'negotiat':*"),
        ("луна!", "'луна'"),
        ("a&b", "('a' <-> 'b')"),
        ("luna' | 'moon", "'luna' & 'moon'"),
    ],
)
def test_postgres_tsquery(typed: str, expected: str) -> None:
    assert postgres_tsquery(parse_query(typed)) == expected


# ---------------------------------------------------------------- the matcher against a naive one


def _naive(terms: list[Term], text: str) -> set[str]:
    """Every term found by comparing word lists position by position."""
    tokens = words(text)
    found = set()
    for term in terms:
        n = len(term.words)
        for i in range(len(tokens) - n + 1):
            window = tokens[i : i + n]
            if term.prefix:
                hit = window[:-1] == list(term.words[:-1]) and window[-1].startswith(
                    term.words[-1]
                )
            else:
                hit = window == list(term.words)
            if hit:
                found.add(term.key)
                break
    return found


_ALPHABET = "abcаб Б-.,!\"*'"
_texts = st.text(alphabet=_ALPHABET, max_size=60)
_pieces = st.text(alphabet="abcаб", min_size=1, max_size=4)
_terms = st.lists(
    st.builds(
        lambda ws, prefix: Term(tuple(ws), prefix and len(ws[-1]) >= 1),
        st.lists(_pieces, min_size=1, max_size=3),
        st.booleans(),
    ),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(_terms, _texts)
def test_matcher_agrees_with_a_naive_one(terms: list[Term], text: str) -> None:
    assert Matcher(terms).keys_in(text) == _naive(terms, text)
