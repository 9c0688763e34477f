"""The one-line summary of an article: its lead sentence, cut to fit a digest line."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.articles.plaintext import ELLIPSIS

SUMMARY_MAX_CHARS = 200

# Words that end with a period without ending the sentence. Compared case-insensitively,
# without the trailing period.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon "
    "inc ltd co corp llc plc bros dept univ assn est approx vs etc al cf ca fig no nos vol pp "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun "
    "e.g i.e a.m p.m u.s u.k u.n u.s.a e.u".split()
)
_OPENING_QUOTES = '"“‘«„'
_CLOSING_QUOTES = '"”’»'
_CLOSERS = _CLOSING_QUOTES + ")]"
_TERMINATORS = ".!?…"
_WHITESPACE = re.compile(r"\s+")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at ``text[dot]`` ends a known abbreviation or an initial."""
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in _OPENING_QUOTES:
        start -= 1
    word = text[start:dot].lstrip("([")
    if not word:
        return False
    if word.casefold() in _ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J.", "U.S.", "N.A.T.O."
    return all(len(part) == 1 and part.isalpha() for part in word.split("."))


def _starts_sentence(text: str, pos: int) -> bool:
    """Whether a new sentence can start after the space at ``text[pos]``."""
    if pos + 1 >= len(text) or text[pos] != " ":
        return False
    nxt = text[pos + 1]
    return nxt.isupper() or nxt.isdigit() or nxt in _OPENING_QUOTES


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or brackets)
    followed by a space and a capital letter, digit or opening quote, unless the period
    ends an abbreviation or an initial, or the terminator sits inside a quotation that is
    still open. Decimals ("3.5") never split because no space follows their point.
    """
    return list(_sentences(text))


def _sentences(text: str) -> Iterator[str]:
    """`split_sentences`' sentences, one at a time: the lead is found without splitting
    the rest."""
    text = _WHITESPACE.sub(" ", text).strip()
    start = 0
    in_quote = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            in_quote = not in_quote
        elif ch in _OPENING_QUOTES:
            in_quote = True
        elif ch in "”»":
            in_quote = False
        elif ch in _TERMINATORS:
            end = i + 1
            while end < n and text[end] in _TERMINATORS:
                end += 1
            while end < n and text[end] in _CLOSERS:
                if text[end] in '"”»':
                    in_quote = False
                end += 1
            if (
                not in_quote
                and _starts_sentence(text, end)
                and not (ch == "." and _is_abbreviation(text, i))
            ):
                if sentence := text[start:end].strip():
                    yield sentence
                start = end + 1
            i = end
            continue
        i += 1
    if start < n and (sentence := text[start:].strip()):
        yield sentence


def cut_at_word(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """Cut ``text`` at a word boundary so that it, with an ellipsis, fits in ``limit``."""
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    # One enormous word: cut inside it rather than return almost nothing.
    cut = cut[:space] if space > limit // 2 else cut[: limit - len(ELLIPSIS)]
    return cut.rstrip(" ,;:-–—.") + ELLIPSIS


def summary_line(body: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """The lead sentence of ``body``, at most ``limit`` characters."""
    lead = next(_sentences(body.strip().split("\n\n", 1)[0]), "")
    return cut_at_word(lead, limit) if lead else ""
