"""/search and inline queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.articles.plaintext import shorten
from bot.i18n import N_, Translator
from bot.texts.common import bold, echo
from bot.words.keywords import (
    MAX_QUERY_LENGTH,
    MAX_QUERY_TERMS,
    MIN_PREFIX_LENGTH,
    SEARCH_DAYS,
    Problem,
)

SEARCH_MARK = "🔎 "
SEARCH_MORE = N_("More ▶")
SEARCH_GONE = N_("That search can no longer be paged; send /search again.")
SEARCH_TITLE = 200  # so that ten results always fit one message
SEARCH_SUMMARY = 150


def search_header(query: str) -> str:
    """The first line of a results message: plain text that bot.telegram.handlers.words reads
    back (after the mark) to turn the page, so the query needs no storage."""
    return SEARCH_MARK + query


def query_of(first_line: str) -> str | None:
    """The query a results message answered, from its first line."""
    return first_line[len(SEARCH_MARK) :] if first_line.startswith(SEARCH_MARK) else None


def no_results(t: Translator, query: str) -> str:
    return (
        escape(search_header(query))
        + "\n"
        + t.ngettext(
            "No articles of the last {n} day match.",
            "No articles of the last {n} days match.",
            SEARCH_DAYS,
        )
    )


def _read_line(t: Translator, link: str, when: datetime) -> str:
    return f'<a href="{escape(link)}">{t._("Read")}</a> · {t.day(when)}'


def search_text(
    t: Translator,
    query: str,
    hits: Sequence[tuple[str, str, str, datetime]],
    *,
    first: int,
    more: bool,
) -> str:
    """One page of results, numbered from ``first``: (title, summary, link, date) each."""
    last = first + len(hits) - 1
    lines = [
        escape(search_header(query)),
        t._("Results {first}–{last}", first=first, last=last)
        if more
        else t._("Results {first}–{last} (the last)", first=first, last=last),
    ]
    for number, (title, summary, link, when) in enumerate(hits, start=first):
        lines.append("")
        lines.append(f"{number}. {bold(title, SEARCH_TITLE)}")
        if summary.strip():
            lines.append(echo(summary, SEARCH_SUMMARY))
        lines.append(_read_line(t, link, when))
    return "\n".join(lines)


def inline_nothing(t: Translator) -> str:
    """The button over an inline answer that found nothing."""
    return t.ngettext(
        "No articles of the last {n} day match",
        "No articles of the last {n} days match",
        SEARCH_DAYS,
    )


_INLINE_HINTS = {
    Problem.EMPTY: N_("Type words to search the news"),
    Problem.UNBALANCED_QUOTES: N_("Close the quote to search a phrase"),
    Problem.NO_WORDS: N_("Type letters or digits to search"),
}


def inline_hint(t: Translator, problem: Problem) -> str:
    """The button over an empty inline answer, saying what to type instead."""
    if problem is Problem.TOO_LONG:
        return t.ngettext(
            "Too long: at most {n} character", "Too long: at most {n} characters", MAX_QUERY_LENGTH
        )
    if problem is Problem.TOO_MANY:
        return t.ngettext(
            "Too many words: at most {n}", "Too many words: at most {n}", MAX_QUERY_TERMS
        )
    if problem is Problem.SHORT_PREFIX:
        return t.ngettext(
            "Put * after at least {n} letter",
            "Put * after at least {n} letters",
            MIN_PREFIX_LENGTH,
        )
    return t._(_INLINE_HINTS[problem])


def inline_title(title: str) -> str:
    return shorten(title, 100, fold=True)


def inline_description(t: Translator, summary: str, published: datetime) -> str:
    return f"{t.day(published)} · {shorten(summary, 120, fold=True)}"


def shared_article(t: Translator, title: str, summary: str, link: str, published: datetime) -> str:
    """The message an inline result sends into the chat it was picked in."""
    lines = [bold(title, 300)]
    if summary.strip():
        lines.append(echo(summary, 400))
    lines.append(_read_line(t, link, published))
    return "\n".join(lines)
