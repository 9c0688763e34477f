"""/search and inline queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.i18n import N_, Translator
from bot.texts.common import bold

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
    return escape(search_header(query)) + "\n" + t._("No articles of the last 90 days match.")


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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
        lines.append(f"{number}. <b>{escape(_cut(title, SEARCH_TITLE))}</b>")
        if summary.strip():
            lines.append(escape(_cut(summary, SEARCH_SUMMARY)))
        lines.append(_read_line(t, link, when))
    return "\n".join(lines)


INLINE_NOTHING = N_("No articles of the last 90 days match")
_INLINE_HINTS = {
    "empty": N_("Type words to search the news"),
    "too_long": N_("Too long: at most 200 characters"),
    "too_many": N_("Too many words: at most 10"),
    "unbalanced_quotes": N_("Close the quote to search a phrase"),
    "no_words": N_("Type letters or digits to search"),
    "short_prefix": N_("Put * after at least 3 letters"),
}


def inline_hint(t: Translator, problem: str) -> str:
    """The button over an empty inline answer, saying what to type instead."""
    return t._(_INLINE_HINTS.get(problem, _INLINE_HINTS["empty"]))


def inline_title(title: str) -> str:
    return _cut(title, 100)


def inline_description(t: Translator, summary: str, published: datetime) -> str:
    return f"{t.day(published)} · {_cut(summary, 120)}"


def shared_article(t: Translator, title: str, summary: str, link: str, published: datetime) -> str:
    """The message an inline result sends into the chat it was picked in."""
    lines = [bold(_cut(title, 300))]
    if summary.strip():
        lines.append(escape(_cut(summary, 400)))
    lines.append(_read_line(t, link, published))
    return "\n".join(lines)
