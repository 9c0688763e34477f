"""The words of a digest and of a story's list of reports, in the reader's language.

Every text a digest shows is here (bot.texts has the rest of the bot's): the header that
counts stories and updates, the labels of an entry, its source line ("Reuters · 2h ago"),
the "Show all N reports" button, the answer to a story's deep link, and the layout
settings. Plain text unless a function says it returns HTML.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from html import escape

from babel.dates import format_timedelta

from bot.i18n import N_, Translator

# An entry's words: a story the reader had that brings something new; its other sources.
UPDATE = N_("Update:")
ALSO = N_("Also:")
JUST_NOW = N_("just now")
ORIGINAL_ARTICLE = N_("Original article")  # under a full article (/start a<id>)
# Marks the why of an entry: a tag the reader follows, a word the reader follows.
TAG_MARK = "🏷"
WORD_MARK = "🔎"


def digest_header(t: Translator, new: int, updates: int, *, group: bool, weekly: bool) -> str:
    """The first line of a digest: what it holds, counted as the reader sees it ("3 new
    stories · 1 update"). A group's or channel's digest is everyone's there, so it is
    "Today's digest" (or "This week's"), never "Your digest"."""
    counts = []
    if new or not updates:
        counts.append(t.ngettext("{n} new story", "{n} new stories", new))
    if updates:
        counts.append(t.ngettext("{n} update", "{n} updates", updates))
    said = " · ".join(counts)
    if not group:
        return t._("📰 Your digest: {counts}", counts=said)
    if weekly:
        return t._("📰 This week's digest: {counts}", counts=said)
    return t._("📰 Today's digest: {counts}", counts=said)


def more_waiting(t: Translator, remaining: int, *, manual: bool) -> str:
    """The last line of a digest that had more stories than fit (plain text)."""
    if manual:
        return t.ngettext(
            "+{n} more story waiting; send /digest for more now",
            "+{n} more stories waiting; send /digest for more now",
            remaining,
        )
    return t.ngettext(
        "+{n} more story waiting; it comes in your next digest",
        "+{n} more stories waiting; they come in your next digest",
        remaining,
    )


def ago(t: Translator, when: datetime, now: datetime, zone: tzinfo | None = None) -> str:
    """How long ago ``when`` was, short: "2h ago", "20 хв тому"; a day or more ago its
    date in the reader's timezone ``zone`` ("28 Nov"; with the year when not this one)."""
    delta = now - when
    if delta < timedelta(minutes=1):
        return t._(JUST_NOW)
    if delta < timedelta(days=1):
        return format_timedelta(
            -delta, add_direction=True, format="narrow", threshold=1.0, locale=t.locale
        )
    local, mine = when.astimezone(zone), now.astimezone(zone)
    return t.day_month(local) if local.year == mine.year else t.day(local)


def source_line(source: str, when: str) -> str:
    """ "Reuters · 2h ago" (plain text)."""
    return f"{' '.join(source.split())} · {when}"


def first_reported(t: Translator, source: str, when: str) -> str:
    """Where an entry shows a later report of a story: who told it first, and when."""
    return t._("first reported by {source}, {when}", source=" ".join(source.split()), when=when)


def show_all(t: Translator, reports: int, title: str) -> str:
    """The text of the URL button under an entry with "Also:": every report of its story."""
    return t.ngettext(
        "📚 Show all {n} report: {title}", "📚 Show all {n} reports: {title}", reports, title=title
    )


# ---- a story's reports (/start s<id>, the "Show all N reports" button)


def story_heading(t: Translator, reports: int, title: str) -> str:
    """HTML: the first line of a story's list of reports."""
    return t.ngettext(
        "📚 <b>{title}</b>: {n} report, earliest first",
        "📚 <b>{title}</b>: {n} reports, earliest first",
        reports,
        title=escape(title),
    )


def story_gone(t: Translator) -> str:
    return t._(
        "This story is no longer available: its reports were deleted. /digest brings what is new."
    )


def never_a_story(t: Translator, story_id: int) -> str:
    return t._(
        "There is no story {id}: no digest ever linked to it. "
        "The “Show all reports” buttons under digests open real ones.",
        id=story_id,
    )


def not_a_story_link(t: Translator) -> str:
    return t._(
        "That link does not name a story (it should end in s and a number, like s42). "
        "The “Show all reports” buttons under digests open real ones."
    )


# ---- the layout settings (/settings)


def layout_lines(t: Translator, *, show_tags: bool, compact: bool) -> list[str]:
    """The /settings lines of the digest's layout."""
    return [
        t._("Tags in digests: {state}", state=t._("shown") if show_tags else t._("hidden")),
        t._(
            "Layout: {layout}",
            layout=t._("compact, one line per story")
            if compact
            else t._("full (headline, summary, source)"),
        ),
    ]


def tags_button(t: Translator, show_tags: bool) -> str:
    """The /settings button that switches the tags (``show_tags``: shown now)."""
    return t._("🏷 Hide tags") if show_tags else t._("🏷 Show tags")


def layout_button(t: Translator, compact: bool) -> str:
    """The /settings button that switches the layout (``compact``: compact now)."""
    return t._("📰 Full layout") if compact else t._("📋 Compact layout")
