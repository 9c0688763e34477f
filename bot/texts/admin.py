"""The admins' commands: /add, /delete and /undelete, /articles, /stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.articles.format import ArticleFormatError
from bot.articles.plaintext import shorten
from bot.i18n import N_, Translator
from bot.texts.common import MAX_ECHO, bold, code, echo, usage
from storage.records import Outcome, Stats


def stats_text(t: Translator, view: Stats) -> str:
    return "\n".join(
        [
            t._("<b>Stats</b>"),
            t._("Articles: {count}", count=view.articles),
            t._("Tags in use: {count}", count=view.tags),
            t._(
                "Subscribers: {active} active, {paused} paused, {blocked} blocked",
                active=view.subscribers_active,
                paused=view.subscribers_paused,
                blocked=view.subscribers_blocked,
            ),
            t._(
                "Active chats: {private} private, {groups} groups, {channels} channels",
                private=view.chats.private,
                groups=view.chats.groups,
                channels=view.chats.channels,
            ),
            t._("Subscriptions: {count}", count=view.subscriptions),
            t._("Digests sent in the last 24 h: {count}", count=view.digests_sent_24h),
        ]
    )


_ADDED_HEADINGS = {
    Outcome.ADDED: N_("✅ Article stored"),
    Outcome.UPDATED: N_("♻️ Article already known; updated"),
    Outcome.UNCHANGED: N_("☑️ Article already known; nothing changed"),
}


def added_text(
    t: Translator,
    *,
    article_id: int,
    title: str,
    tags: Sequence[str],
    summary: str,
    outcome: Outcome,
) -> str:
    return "\n".join(
        [
            t._(_ADDED_HEADINGS[outcome]),
            t._("ID: {id}", id=article_id),
            t._("Title: {title}", title=bold(title)),
            t._("Tags: {tags}", tags=escape(", ".join(tags))),
            t._("Summary: {summary}", summary=escape(summary)),
        ]
    )


LIST_TITLE = 100  # a listing shows this much of each title, so 15 rows always fit


def article_list(t: Translator, rows: Sequence[tuple[int, str, datetime]]) -> str:
    if not rows:
        return t._("No articles yet. Add one with /add.")
    return "\n".join([t._("<b>Latest articles</b>"), *_listed(t, rows)])


def _listed(t: Translator, rows: Sequence[tuple[int, str, datetime]]) -> list[str]:
    """A line per article: its id, title and day."""
    return [
        f"<code>{i}</code> {echo(title, LIST_TITLE)} · {t.day_month(day)}"
        for i, title, day in rows
    ]


ADD_FORMAT = N_(
    "Send the article in the same message, after /add on its own line, like this "
    "(or send it as a .txt file):"
)
# A whole article that /add stores as it is: copying it is the quickest way to learn.
ADD_EXAMPLE = N_(
    "/add\n"
    "Politics 2026-12-01T09:30:00+02:00\n"
    "Kyiv Wire\n"
    "Grain talks resume in Istanbul\n"
    "\n"
    "https://example.org/grain-talks\n"
    "\n"
    "negotiations, Black Sea, economy\n"
    "\n"
    "Delegations met again on Monday in Istanbul. The first sentence becomes the "
    "summary line.\n"
    "\n"
    "More paragraphs follow, each after a blank line."
)
ADD_LINES = N_(
    "The lines: category and publication time (ISO 8601 with its UTC offset), source, "
    "title; then, each after a blank line: a link (optional), the tags (comma-separated) "
    "and the body."
)


def add_usage(t: Translator) -> str:
    """/add without an article: the format, as an example to copy."""
    return f"{t._(ADD_FORMAT)}\n<pre>{escape(t._(ADD_EXAMPLE))}</pre>\n{t._(ADD_LINES)}"


TXT_ONLY = N_("Please send an article as a .txt file, or feeds as an .opml file.")
DELETE_BUTTON = N_("🗑 Delete")
KEEP_BUTTON = N_("Keep it")
UNDELETE_BUTTON = N_("↩️ Undo")


def file_too_big(t: Translator, limit: int) -> str:
    return t._("That file is over {limit} bytes; not stored.", limit=t.number(limit))


def problem_text(t: Translator, error: BaseException) -> str:
    """What is wrong with an input, plain text in ``t``'s language; an article's problem
    keeps its line number."""
    reason = t.problem(error)
    if isinstance(error, ArticleFormatError) and error.line is not None:
        return t._("line {line}: {reason}", line=error.line, reason=reason)
    return reason


def not_stored(t: Translator, error: BaseException) -> str:
    return t._("❌ Not stored: {problem}", problem=escape(problem_text(t, error)))


def no_such_article(t: Translator, article_id: int) -> str:
    return t._("There is no article {id}. /articles lists them.", id=article_id)


def article_id_problem(t: Translator, typed: str, command: str = "delete") -> str:
    shown = shorten(typed, MAX_ECHO, fold=True)
    problem = t._("'{typed}' is not an article id.", typed=shown) if shown else t._("Which id?")
    return usage(t, command, "42", problem)


def confirm_delete(t: Translator, article_id: int, title: str) -> str:
    return t._("Delete article {id}: {title}?", id=article_id, title=bold(title))


def deleted(t: Translator, article_id: int, title: str) -> str:
    return t._(
        "🗑 Deleted article {id}: {title}\n"
        "No digest, search or link shows it any more, and no import or feed stores it "
        "again. /undelete {id} brings it back.",
        id=article_id,
        title=bold(title),
    )


def already_deleted(t: Translator, article_id: int, title: str) -> str:
    return t._(
        "Article {id} was deleted by an admin: {title}. /undelete {id} brings it back.",
        id=article_id,
        title=bold(title),
    )


def undeleted(t: Translator, article_id: int, title: str) -> str:
    return t._(
        "↩️ Article {id} is back: {title}\nReaders who already had it will not get it again.",
        id=article_id,
        title=bold(title),
    )


def not_deleted(t: Translator, article_id: int, title: str) -> str:
    return t._("Article {id} is not deleted: {title}", id=article_id, title=bold(title))


def skipped_deleted(t: Translator, article_id: int, title: str) -> str:
    """/add of an article an admin deleted (the same one, or one with its link)."""
    return t._(
        "⏭ Skipped: deleted by an admin. It is article {id}: {title}. "
        "/undelete {id} brings it back.",
        id=article_id,
        title=bold(title),
    )


def deleted_list(t: Translator, rows: Sequence[tuple[int, str, datetime]]) -> str:
    """/deleted: id, title and the day it was deleted, the most recent first."""
    if not rows:
        return t._("No article has been deleted.")
    hint = t._("{example} brings one back.", example=code(f"/undelete {rows[0][0]}"))
    return "\n".join([t._("<b>Deleted articles</b>"), *_listed(t, rows), "", hint])


def kept(t: Translator, article_id: int, title: str) -> str:
    return t._("Kept article {id}: {title}", id=article_id, title=bold(title))
