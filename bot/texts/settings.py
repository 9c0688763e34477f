"""/settings, /time, /timezone, /frequency and /language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from html import escape

from bot.i18n import N_, Translator, language_self_name
from bot.subscriptions.schedule import FREQUENCY_WORDS, Frequency, tzinfo_for
from bot.texts.chats import destination
from bot.texts.common import MAX_ECHO, bold, echo, usage
from bot.texts.digest import layout_lines

# ---- languages


def language_name(code: str) -> str:
    """A language's name in itself, from Babel's CLDR data: "English", "Українська"."""
    return language_self_name(code)


def language_text(t: Translator) -> str:
    return t._(
        "I speak to you in {language}. Tap a language to switch.",
        language=bold(language_name(t.code)),
    )


def language_button(code: str, current: bool) -> str:
    return f"{'✅ ' if current else ''}{language_name(code)}"


def language_set(t: Translator) -> str:
    """Said in the new language."""
    return t._("From now on I speak {language}.", language=language_name(t.code))


def frequency_word(t: Translator, frequency: Frequency) -> str:
    return t._(FREQUENCY_WORDS[frequency])


def describe_schedule(t: Translator, digest_time: time, frequency: Frequency, weekday: int) -> str:
    when = t.clock(digest_time)
    if frequency is Frequency.WEEKLY:
        return t._("weekly on {day} at {time}", day=t.weekday(weekday), time=when)
    return t._("daily at {time}", time=when)


def settings_text(
    t: Translator,
    *,
    digest_time: time,
    timezone: str,
    frequency: Frequency,
    weekday: int,
    paused: bool,
    next_due_at: datetime,
    chat_title: str | None = None,
    forum: bool = False,
    thread_id: int | None = None,
    show_tags: bool = True,
    compact: bool = False,
) -> str:
    """A chat's settings; ``chat_title`` names the group or channel they are of."""
    local_next = next_due_at.astimezone(tzinfo_for(timezone))
    state = t._("⏸ paused — /resume to start again") if paused else t._("▶️ active")
    lines = [
        t._("<b>Settings of {chat}</b>", chat=escape(chat_title))
        if chat_title
        else t._("<b>Your settings</b>"),
        t._("Digest: {schedule}", schedule=describe_schedule(t, digest_time, frequency, weekday)),
        t._("Timezone: {zone}", zone=escape(timezone)),
        t._("Frequency: {frequency}", frequency=frequency_word(t, frequency)),
        t._("Language: {language}", language=language_name(t.code)),
        t._("State: {state}", state=state),
    ]
    if not paused:
        lines.append(t._("Next digest: {when}", when=t.moment(local_next)))
    if forum:
        lines.append(destination(t, thread_id))
    lines += layout_lines(t, show_tags=show_tags, compact=compact)
    lines += ["", t._("Change with /time, /timezone, /frequency, /language, /pause or /resume.")]
    return "\n".join(lines)


# ---- settings

SAVED = N_("Saved.")


def current_time(t: Translator, digest_time: time) -> str:
    return t._(
        "Your digest comes at {time} your time.\nChange it with e.g. {example}",
        time=t.clock(digest_time),
        example="<code>/time 07:30</code>",
    )


def current_timezone(t: Translator, name: str) -> str:
    return t._(
        "Your timezone is {zone}.\nChange it with e.g. {example}, {city} or {offset}",
        zone=escape(name),
        example="<code>/timezone Europe/Kyiv</code>",
        city="<code>/timezone Kyiv</code>",
        offset="<code>/timezone UTC+03:00</code>",
    )


def time_problem(t: Translator, error: BaseException) -> str:
    return usage(t, "time", "07:30", t.problem(error))


def timezone_problem(t: Translator, error: BaseException, suggestions: Sequence[str]) -> str:
    problem = t.problem(error)
    if suggestions:
        problem = t._(
            "{problem}. Did you mean {options}?",
            problem=problem,
            options=t._(" or ").join(suggestions),
        )
    return t._(
        "{usage} or {offset}",
        usage=usage(t, "timezone", "Europe/Kyiv", problem),
        offset="<code>/timezone UTC+03:00</code>",
    )


def frequency_problem(t: Translator, words: Sequence[str], error: BaseException) -> str:
    problem = t.problem(error)
    if not problem:
        problem = (
            t._("'{typed}' is not daily or weekly.", typed=" ".join(words))
            if words
            else t._("How often?")
        )
    return (
        echo(problem, 2 * MAX_ECHO)
        + "\n"
        + t._(
            "Usage: {example}",
            example="<code>/frequency daily</code> "
            + t._("or")
            + " <code>/frequency weekly monday</code>",
        )
    )
