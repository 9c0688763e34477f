"""How text is folded before it is cut into words: the one definition that the search
indexes (both databases), what a user types into /search, /follow and /mute, and the
followed-word matcher all share. Pure code: no database, no Telegram.

`fold` is, in order:

1. Unicode NFKC: full-width letters become ASCII, ligatures (``ﬁ``) their letters,
   composed and decomposed spellings of an accented letter one.
2. Lower case, then ``ß`` → ``ss`` and ``ς`` → ``σ``: "Straße", "STRASSE" and "strasse"
   are one word; "ẞ" lowers to "ß" first. (Python's ``casefold`` does these two, but
   PostgreSQL has no casefold before version 18, and ``lower`` is the same on both sides.)
3. Combining marks that NFKC could not compose are dropped (a stress mark typed over a
   Cyrillic vowel: "за́мок" is "замок"; Turkish "İ", which Python lowers to "i" plus a
   dot above, is "i").
4. Latin letters lose their diacritics ("Zürich" is "zurich", "Erdoğan" "erdogan"), as
   SQLite's ``remove_diacritics`` did before; other scripts keep theirs, since
   Ukrainian "й" and "ї" are letters of their own, not "и" and "і" with an accent.
5. Apostrophes: Ukrainian is written with ``ʼ`` (U+02BC, the official one), ``'`` and
   ``’`` alike, and some type `````, ``‘`` or a prime. Between two Cyrillic letters any of
   them is the letter ``ʼ`` ("обʼєкт", "об'єкт" and "об’єкт" are one word); anywhere else
   it separates words, so "Britain's" is found by "Britain".

The databases see the same text: SQLite calls this very function (`SQLITE_FUNCTION`,
registered on every connection by storage.db) in the triggers and the view its FTS5 table
reads; PostgreSQL has it written in SQL (``newsbot_fold``, migration 0008) for its
generated tsvector column. tests/test_folding.py checks that the two agree. Changing
`fold` therefore needs a migration that rebuilds both indexes, re-keys the followed
words and redefines the SQL function.
"""

from __future__ import annotations

import re
import unicodedata

SQLITE_FUNCTION = "newsbot_fold"

# U+0027, U+2019, U+02BC, U+2018, U+0060, U+02B9 (modifier prime), U+2032 (prime).
APOSTROPHES = "'\u2019\u02bc\u2018`\u02b9\u2032"
APOSTROPHE = "\u02bc"  # ʼ: a letter (category Lm) to every tokenizer here
# Letters of the Cyrillic and Cyrillic Supplement blocks (not the signs U+0482–U+0489).
CYRILLIC = "\u0400-\u0481\u048a-\u052f"
# The combining diacritical marks blocks: plain, extended, supplement, for symbols, half.
COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Lower-case Latin letters an accent can sit on, once decomposed.
LATIN = "a-z\u00df-\u00f6\u00f8-\u024f\u1e00-\u1eff"

_MARKS = re.compile(f"[{COMBINING}]+")
_LATIN_LETTER = re.compile(f"[{LATIN}]")
# A combining mark, or a precomposed Latin letter with an accent: steps 3 and 4 have work.
_MARKED = re.compile(f"[{COMBINING}\u00c0-\u024f\u1e00-\u1eff]")
_ANY_APOSTROPHE = re.compile(f"[{APOSTROPHES}]")
_CYRILLIC_LETTER = re.compile(f"[{CYRILLIC}]")
_ASCII_APOSTROPHES = str.maketrans(dict.fromkeys("'`", " "))


def _apostrophe(match: re.Match[str]) -> str:
    """The letter ʼ between two Cyrillic letters (of the text before any replacement),
    else a space."""
    text, at = match.string, match.start()
    inside = (
        0 < at < len(text) - 1
        and _CYRILLIC_LETTER.match(text, at - 1) is not None
        and _CYRILLIC_LETTER.match(text, at + 1) is not None
    )
    return APOSTROPHE if inside else " "


def _latin_marks(match: re.Match[str]) -> str:
    """Marks on a Latin letter go; on any other letter they stay."""
    at = match.start()
    return "" if at and _LATIN_LETTER.match(match.string, at - 1) else match.group()


def fold(text: str) -> str:
    """``text`` as the search indexes and the matcher see it (see the module's steps)."""
    if text.isascii():  # the same result, a hundred times faster
        return text.lower().translate(_ASCII_APOSTROPHES)
    text = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss").replace("ς", "σ")
    if _MARKED.search(text):  # else steps 3 and 4 change nothing, and the text is NFC
        text = _MARKS.sub("", text)
        text = _MARKS.sub(_latin_marks, unicodedata.normalize("NFD", text))
        text = unicodedata.normalize("NFC", text)
    return _ANY_APOSTROPHE.sub(_apostrophe, text)
