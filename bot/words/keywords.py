"""Followed and muted words, and search queries: what a user typed, as terms; which terms an
article contains; the full-text query for each database.

Pure code: no Telegram, no database. Nothing a user types is ever compiled as a regular
expression or passed to a full-text engine as syntax. Text is folded as the search indexes
fold it (`storage.folding.fold`: case, ``ß``, ligatures, Latin accents, the Ukrainian
apostrophes) and cut into words the way SQLite's unicode61 tokenizer does (runs of letters
and digits, everything else a separator); a term is a word, a phrase (words in a row) or a
prefix (its last word followed by ``*``), and it matches whole words only.

Matching uses an Aho–Corasick automaton (pyahocorasick, in C) over the article's words
joined by single spaces: `` word `` then matches a whole word, `` a phrase `` a phrase and
`` negotiat`` a prefix, and one pass over the text finds every followed term at once,
however many there are (10,000 followed words cost no more per article than ten).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick

from storage.folding import fold

MAX_TERMS_PER_MESSAGE = 20
MAX_TERM_LENGTH = 50
# A term's key once folded: storage's words.key holds 200 characters, and NFKC can spell
# one typed character out in up to 18 ("ﷺ").
MAX_KEY_LENGTH = 200
MAX_FOLLOWS = 100
MAX_MUTES = 100
MIN_PREFIX_LENGTH = 3
MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 10
SEARCH_DAYS = 90  # /search and inline mode find the articles added in this many days

# Letters and digits of any script; "_" is punctuation to unicode61, so it is here too.
_WORD = re.compile(r"[^\W_]+")
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"'})
_PREFIX_MARK = "*"


def words(text: str) -> list[str]:
    """The folded words of ``text``, as the matcher and the search indexes see them."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Term:
    """One followed or muted word, phrase or prefix. ``key`` identifies it: its words
    joined by spaces, with a trailing ``*`` for a prefix."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def key(self) -> str:
        return " ".join(self.words) + (_PREFIX_MARK if self.prefix else "")

    @property
    def display(self) -> str:
        """How the term is shown: a phrase in quotes, a prefix with its star."""
        shown = " ".join(self.words)
        if len(self.words) > 1:
            shown = f'"{shown}"'
        return shown + (_PREFIX_MARK if self.prefix else "")

    @classmethod
    def from_key(cls, key: str) -> Term:
        """The term a stored ``key`` names (the inverse of `key`)."""
        prefix = key.endswith(_PREFIX_MARK)
        return cls(tuple(key.rstrip(_PREFIX_MARK).split(" ")), prefix)


class Problem(StrEnum):
    EMPTY = "empty"  # nothing after the command
    UNBALANCED_QUOTES = "unbalanced_quotes"
    TOO_MANY = "too_many"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"  # only punctuation
    SHORT_PREFIX = "short_prefix"


class TermError(ValueError):
    """What the user typed is not a list of terms; ``problem`` says why, ``item`` names the
    offending piece (as typed) when there is one."""

    def __init__(self, problem: Problem, item: str = "", limit: int = 0) -> None:
        super().__init__(f"{problem}: {item!r}")
        self.problem = problem
        self.item = item
        self.limit = limit


def _pieces(text: str) -> list[str]:
    """Whitespace-separated pieces, a double-quoted stretch being one piece."""
    text = text.translate(_QUOTES)
    if text.count('"') % 2:
        raise TermError(Problem.UNBALANCED_QUOTES)
    pieces: list[str] = []
    for number, part in enumerate(text.split('"')):
        if number % 2:  # inside quotes
            if part.strip():
                pieces.append(part.strip())
        else:
            pieces.extend(part.split())
    return pieces


def _term(piece: str) -> Term:
    if len(piece) > MAX_TERM_LENGTH:
        raise TermError(Problem.TOO_LONG, piece, MAX_TERM_LENGTH)
    prefix = piece.rstrip().endswith(_PREFIX_MARK)
    found = tuple(words(piece))
    if not found:
        raise TermError(Problem.NO_WORDS, piece)
    if prefix and len(found[-1]) < MIN_PREFIX_LENGTH:
        raise TermError(Problem.SHORT_PREFIX, piece, MIN_PREFIX_LENGTH)
    term = Term(found, prefix)
    if len(term.key) > MAX_KEY_LENGTH:
        raise TermError(Problem.TOO_LONG, piece, MAX_TERM_LENGTH)
    return term


def parse_terms(text: str, *, limit: int = MAX_TERMS_PER_MESSAGE) -> list[Term]:
    """The terms of a /follow, /unfollow, /mute or /unmute argument, each once, in order.

    ``word``, ``"a phrase"``, ``prefix*``; a piece that holds punctuation between words
    (``e-mail``) is the phrase of those words, as the search index sees it. Raises
    `TermError` for anything else, naming the first offending piece.
    """
    pieces = _pieces(text)
    if not pieces:
        raise TermError(Problem.EMPTY)
    if len(pieces) > limit:
        raise TermError(Problem.TOO_MANY, str(len(pieces)), limit)
    return list(dict.fromkeys(_term(piece) for piece in pieces))


def parse_query(text: str) -> list[Term]:
    """The terms of a /search query. Pieces without any word are dropped (``-``, ``:``),
    so FTS operators typed by habit do no harm; raises `TermError` when nothing is left,
    when the query is over `MAX_QUERY_LENGTH` or holds over `MAX_QUERY_TERMS` terms."""
    if len(text) > MAX_QUERY_LENGTH:
        raise TermError(Problem.TOO_LONG, "", MAX_QUERY_LENGTH)
    pieces = _pieces(text)
    if not pieces:
        raise TermError(Problem.EMPTY)
    terms: list[Term] = []
    for piece in pieces:
        try:
            terms.append(_term(piece))
        except TermError as error:
            if error.problem != Problem.NO_WORDS:
                raise
    if not terms:
        raise TermError(Problem.NO_WORDS, text.strip())
    if len(terms) > MAX_QUERY_TERMS:
        raise TermError(Problem.TOO_MANY, str(len(terms)), MAX_QUERY_TERMS)
    return list(dict.fromkeys(terms))


# ---------------------------------------------------------------- matching


def _pattern(term: Term) -> str:
    return " " + " ".join(term.words) + ("" if term.prefix else " ")


class Matcher:
    """Which of a fixed set of terms a text contains. Build one per set of terms (cheap:
    about a second per 100,000 terms) and reuse it for every article."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        self.terms: dict[str, Term] = {}
        for term in terms:
            self.terms[term.key] = term
            self._automaton.add_word(_pattern(term), term.key)
        if self.terms:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.terms)

    def keys_in(self, *texts: str) -> set[str]:
        """The keys of the terms found in any of ``texts`` (each searched on its own, so
        a phrase never spans a title and a body)."""
        if not self.terms:
            return set()
        found: set[str] = set()
        for text in texts:
            joined = " " + " ".join(words(text)) + " "
            found.update(key for _, key in self._automaton.iter(joined))
        return found


def selected(matched: set[str], follows: Iterable[str], mutes: Iterable[str]) -> bool:
    """Whether an article whose matched term keys are ``matched`` belongs in the digest of
    someone following ``follows`` and muting ``mutes``: a mute beats any match."""
    if not matched.isdisjoint(mutes):
        return False
    return not matched.isdisjoint(follows)


# ---------------------------------------------------------------- full-text queries


def sqlite_match(terms: Iterable[Term]) -> str:
    """An FTS5 MATCH expression requiring every term. Each word is a double-quoted string
    (made only of letters and digits, so it holds no quote to escape); a prefix ends in
    ``*`` outside the quotes; a phrase is one quoted string. FTS5 operators the user typed
    (NEAR, AND, ``-``, ``:``, ``^``) can only ever be searched for as words."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
        parts.append(quoted + (" *" if term.prefix else ""))
    return " AND ".join(parts)


def postgres_tsquery(terms: Iterable[Term]) -> str:
    """A to_tsquery('simple', ...) text requiring every term: each word single-quoted,
    words of a phrase joined by ``<->``, a prefix marked ``:*``."""

    def lexeme(word: str) -> str:
        return "'" + word.replace("'", "''").replace("\\", "\\\\") + "'"

    parts = []
    for term in terms:
        lexemes = [lexeme(w) for w in term.words]
        if term.prefix:
            lexemes[-1] += ":*"
        phrase = " <-> ".join(lexemes)
        parts.append(f"({phrase})" if len(lexemes) > 1 else phrase)
    return " & ".join(parts)
