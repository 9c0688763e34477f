"""What the bot says. Pure functions returning Telegram HTML; all outside text is escaped.

Every text is in the reader's language: a function takes the chat's `Translator` ``t``
first, and a constant is a message id marked with `N_`, said with ``t._(texts.NAME)``.
The English texts are the message ids of the catalogs in `bot/locale` (see `bot.i18n`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from html import escape
from typing import Protocol

from bot import digest_texts
from bot.articles import ArticleFormatError
from bot.feedparse import MAX_ENTRIES
from bot.i18n import N_, Msg, Translator, language_self_name
from bot.lengths import tg_len
from bot.schedule import FREQUENCY_WORDS, WEEKLY, tzinfo_for

COMMANDS: tuple[tuple[str, Msg], ...] = (
    ("start", N_("What this bot does")),
    ("help", N_("Every command, one line each")),
    ("subscribe", N_("Follow tags: /subscribe negotiations, economy")),
    ("unsubscribe", N_("Stop following tags")),
    ("subscriptions", N_("Your tags, with buttons to unsubscribe")),
    ("tags", N_("Popular tags; tap to follow or unfollow")),
    ("follow", N_('Follow words in any article: /follow ukraine "peace talks" negotiat*')),
    ("unfollow", N_("Stop following words")),
    ("mute", N_("Never get articles with these words: /mute football")),
    ("unmute", N_("Stop muting words")),
    ("search", N_("Search the last 90 days: /search peace talks")),
    ("digest", N_("Your digest now: what is new since the last one")),
    ("settings", N_("Your delivery time, timezone, frequency and language")),
    ("time", N_("Digest time, e.g. /time 07:30")),
    ("timezone", N_("Your timezone, e.g. /timezone Europe/Kyiv or UTC+03:00")),
    ("frequency", N_("daily, or weekly with a day: /frequency weekly mon")),
    ("language", N_("The language I speak to you in")),
    ("channel", N_("Set up a channel's digest: /channel @name")),
    ("channels", N_("The channels you set up; pick the one your commands act for")),
    ("pause", N_("Stop scheduled digests for now")),
    ("resume", N_("Start scheduled digests again")),
)
ADMIN_COMMANDS: tuple[tuple[str, Msg], ...] = (
    ("add", N_("Add an article: /add + the article text, or send a .txt file")),
    ("delete", N_("Delete an article: /delete 42")),
    ("undelete", N_("Bring back a deleted article: /undelete 42")),
    ("deleted", N_("The articles admins deleted, with their ids")),
    ("articles", N_("The latest articles with their ids")),
    ("stats", N_("Counts of articles, tags, subscribers and digests")),
    ("story", N_("An article's story, its articles from every source: /story 42")),
    ("split", N_("Take an article out of its story: /split 42")),
    ("merge", N_("Join the stories of two articles: /merge 42 57")),
    ("feeds", N_("News feeds polled for articles, with their status")),
    ("feed_add", N_("Add a feed: /feed_add https://example.com/rss economy, Europe")),
    ("feed_remove", N_("Stop polling a feed: /feed_remove 3 (its articles stay)")),
    ("feed_tags", N_("Replace a feed's tags: /feed_tags 3 economy, Europe")),
    ("feeds_export", N_("The feeds as an OPML file; send an .opml file to import one")),
)

WELCOME = N_(
    "👋 <b>Welcome to newsbot.</b>\n"
    "I send you a short news digest on the tags you follow, once a day at your own "
    "local time: a headline, one summary line and a link per article, never the same "
    "article twice.\n\n"
    "Follow a tag with /subscribe, e.g. <code>/subscribe negotiations</code>, or tap a "
    "popular tag below. /tags lists them all; /help lists every command."
)
NO_ARTICLE = N_("That article is no longer available.")


def never_an_article(t: Translator, article_id: int) -> str:
    """/start a<id> for an id no article ever had (NO_ARTICLE is for a deleted one)."""
    return t._(
        "There has never been an article {id}: the link may be mistyped or cut short.",
        id=article_id,
    )


NOT_UNDERSTOOD = N_("I only understand commands. Send /help to see them.")
UNKNOWN_COMMAND = N_("I don't know that command. Send /help to see the ones I know.")
ADMIN_ONLY = N_("Sorry, only the bot's admins can do that.")
SOMETHING_WRONG = N_("Sorry, something went wrong on my side. Please try again in a moment.")
NOTHING_NEW = N_(
    "Nothing new on your tags right now; I'll include new articles in your next digest."
)
NO_SUBSCRIPTIONS = N_(
    "You don't follow any tags yet. Try <code>/subscribe negotiations</code>, or pick from /tags."
)
NO_TAGS = N_("There are no tags yet: no articles have been added.")


def help_text(t: Translator, is_admin: bool) -> str:
    lines = [t._("<b>Commands</b>")]
    lines += [f"/{name} — {escape(t._(about))}" for name, about in COMMANDS]
    if is_admin:
        lines += ["", t._("<b>Admin</b>")]
        lines += [f"/{name} — {escape(t._(about))}" for name, about in ADMIN_COMMANDS]
    return "\n".join(lines)


def menu(t: Translator, *, admin: bool = False) -> list[tuple[str, str]]:
    """The command menu in ``t``'s language (setMyCommands)."""
    listed = COMMANDS + (ADMIN_COMMANDS if admin else ())
    return [(name, t._(about)) for name, about in listed]


def bold(text: str, limit: int | None = None) -> str:
    """Outside text in bold, escaped (and shortened to ``limit``, when given)."""
    return f"<b>{escape(text) if limit is None else echo(text, limit)}</b>"


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def usage(t: Translator, command: str, example: str, problem: str = "") -> str:
    """A usage line; ``problem`` (plain text, already in ``t``'s language) goes first."""
    prefix = f"{escape(problem)}\n" if problem else ""
    return prefix + t._("Usage: {example}", example=code(f"/{command} {example}"))


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


# ---- tags

MAX_ECHO = 60  # how much of what someone typed is quoted back


def echo(typed: str, limit: int = MAX_ECHO) -> str:
    """What someone typed, quoted back safely: shortened, then escaped."""
    text = " ".join(typed.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


class Suggested(Protocol):
    @property
    def name(self) -> str: ...


class SubscribeOutcome(Protocol):
    """What /subscribe did (bot.service.SubscribeResult is one)."""

    @property
    def subscribed(self) -> Sequence[str]: ...
    @property
    def already(self) -> Sequence[str]: ...
    @property
    def without_articles(self) -> Sequence[str]: ...
    @property
    def suggestions(self) -> Mapping[str, Sequence[Suggested]]: ...
    @property
    def too_long(self) -> Sequence[str]: ...
    @property
    def over_pending_limit(self) -> Sequence[str]: ...
    @property
    def pending_limit(self) -> int: ...


class UnsubscribeOutcome(Protocol):
    @property
    def removed(self) -> Sequence[str]: ...
    @property
    def missing(self) -> Sequence[str]: ...
    @property
    def suggestions(self) -> Mapping[str, Sequence[Suggested]]: ...


def _did_you_mean(t: Translator, options: Sequence[Suggested]) -> str:
    return t._(" or ").join(bold(o.name) for o in options)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"“{echo(n)}”" for n in names)


def subscribe_lines(t: Translator, result: SubscribeOutcome) -> list[str]:
    lines: list[str] = []
    for name in result.subscribed:
        tag = bold(name)
        if name in result.without_articles:
            lines.append(
                t._(
                    "✅ Subscribed to {tag} — no articles with this tag yet; "
                    "they'll come when added",
                    tag=tag,
                )
            )
        else:
            lines.append(t._("✅ Subscribed to {tag}", tag=tag))
    lines += [t._("☑️ Already subscribed to {tag}", tag=bold(name)) for name in result.already]
    for typed, options in result.suggestions.items():
        lines.append(
            t._(
                "❓ I don't know the tag “{typed}”. Did you mean {options}?",
                typed=echo(typed),
                options=_did_you_mean(t, options),
            )
        )
    lines += [t._("⚠️ “{name}” is too long for a tag", name=echo(n)) for n in result.too_long]
    if result.over_pending_limit:
        lines.append(
            t.ngettext(
                "⏳ Not subscribed to {names}: you already wait for {n} tag "
                "that has no articles yet. /unsubscribe from it first.",
                "⏳ Not subscribed to {names}: you already wait for {n} tags "
                "that have no articles yet. /unsubscribe from one of them first.",
                result.pending_limit,
                names=_quoted(result.over_pending_limit),
            )
        )
    return lines


def unsubscribe_lines(t: Translator, result: UnsubscribeOutcome) -> list[str]:
    lines = [t._("🗑 Unsubscribed from {tag}", tag=bold(name)) for name in result.removed]
    for name in result.missing:
        options = result.suggestions.get(name)
        if options:
            lines.append(
                t._(
                    "You weren't subscribed to “{name}”. Did you mean {options}?",
                    name=echo(name),
                    options=_did_you_mean(t, options),
                )
            )
        else:
            lines.append(t._("You weren't subscribed to “{name}”", name=echo(name)))
    return lines


def subscribe_usage(t: Translator) -> str:
    return usage(t, "subscribe", "negotiations, United Kingdom", t._("Which tags?"))


def unsubscribe_usage(t: Translator) -> str:
    return usage(t, "unsubscribe", "negotiations", t._("Which tags? /subscriptions lists yours."))


def too_many_tags(t: Translator, count: int, limit: int) -> str:
    return t.ngettext(
        "That is {n} tag; send at most {limit} at a time.",
        "That is {n} tags; send at most {limit} at a time.",
        count,
        limit=limit,
    )


def subscribe_button(t: Translator, name: str) -> str:
    return t._("✅ Subscribe to {name}", name=name)


def unsubscribe_button(t: Translator, name: str) -> str:
    return t._("✖ Unsubscribe from {name}", name=name)


def tag_button(name: str, count: int, subscribed: bool) -> str:
    mark = "✅ " if subscribed else ""
    return f"{mark}{name} ({count})"


def unsubscribe_tag_button(name: str) -> str:
    return f"✖ {name}"


PREVIOUS = N_("◀ Previous")
NEXT = N_("Next ▶")
BUTTON_INVALID = N_("This button is no longer valid.")
# Presses of every other shape the Bot API allows (each a short notice, at most 200).
EMPTY_PRESS = N_("This button carries nothing to do.")
FOREIGN_PRESS = N_("This button is not one of mine, so it does nothing here.")
INLINE_PRESS = N_("Buttons work in a chat with me, not under shared messages.")
GAME_PRESS = N_("I have no games.")
CHAT_GONE_PRESS = N_("This button is of a chat I no longer serve. Send /start to begin again.")
TAG_GONE = N_("That tag no longer exists.")


def subscribed_line(t: Translator, name: str) -> str:
    return t._("✅ Subscribed to {tag}", tag=bold(name))


def unsubscribed_line(t: Translator, name: str) -> str:
    return t._("🗑 Unsubscribed from {tag}", tag=bold(name))


NOTICE_NAME = 150  # a button's notice holds at most 200 characters


def _short(name: str) -> str:
    return name if len(name) <= NOTICE_NAME else name[: NOTICE_NAME - 1] + "…"


def subscribed_notice(t: Translator, name: str) -> str:
    return t._("Subscribed to {name}", name=_short(name))


def unsubscribed_notice(t: Translator, name: str) -> str:
    return t._("Unsubscribed from {name}", name=_short(name))


def _page_suffix(t: Translator, page: int, pages: int) -> str:
    return t._(" (page {page} of {pages})", page=page + 1, pages=pages) if pages > 1 else ""


def subscriptions_text(t: Translator, names: Sequence[str], page: int = 0, pages: int = 1) -> str:
    if not names:
        return t._(NO_SUBSCRIPTIONS)
    listed = "\n".join(f"• {escape(name)}" for name in names)
    return (
        t._("<b>Your tags</b>{suffix}", suffix=_page_suffix(t, page, pages))
        + f"\n{listed}\n\n"
        + t._("Tap a tag to unsubscribe.")
    )


def tags_text(t: Translator, page: int, pages: int) -> str:
    return t._(
        "<b>Popular tags</b>{suffix}\nTap a tag to follow it; ✅ marks the ones you follow; "
        "tap again to unfollow.",
        suffix=_page_suffix(t, page, pages),
    )


def frequency_word(t: Translator, frequency: str) -> str:
    return t._(FREQUENCY_WORDS[frequency])


def describe_schedule(t: Translator, digest_time: time, frequency: str, weekday: int) -> str:
    when = t.clock(digest_time)
    if frequency == WEEKLY:
        return t._("weekly on {day} at {time}", day=t.weekday(weekday), time=when)
    return t._("daily at {time}", time=when)


def settings_text(
    t: Translator,
    *,
    digest_time: time,
    timezone: str,
    frequency: str,
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
    lines += digest_texts.layout_lines(t, show_tags=show_tags, compact=compact)
    lines += ["", t._("Change with /time, /timezone, /frequency, /language, /pause or /resume.")]
    return "\n".join(lines)


class StatsLike(Protocol):
    """What /stats shows (storage.repo.Stats is one)."""

    @property
    def articles(self) -> int: ...

    @property
    def tags(self) -> int: ...

    @property
    def subscribers_active(self) -> int: ...

    @property
    def subscribers_paused(self) -> int: ...

    @property
    def subscribers_blocked(self) -> int: ...

    @property
    def subscriptions(self) -> int: ...

    @property
    def digests_sent_24h(self) -> int: ...

    @property
    def chats(self) -> Mapping[str, int]: ...


def stats_text(t: Translator, view: StatsLike) -> str:
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
                private=view.chats["private"],
                groups=view.chats["group"],
                channels=view.chats["channel"],
            ),
            t._("Subscriptions: {count}", count=view.subscriptions),
            t._("Digests sent in the last 24 h: {count}", count=view.digests_sent_24h),
        ]
    )


_ADDED_HEADINGS = {
    "added": N_("✅ Article stored"),
    "updated": N_("♻️ Article already known; updated"),
    "unchanged": N_("☑️ Article already known; nothing changed"),
}


def added_text(
    t: Translator,
    *,
    article_id: int,
    title: str,
    tags: Sequence[str],
    summary: str,
    outcome: str,
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
    lines = [
        f"<code>{i}</code> {echo(title, LIST_TITLE)} · {t.day_month(added)}"
        for i, title, added in rows
    ]
    return t._("<b>Latest articles</b>") + "\n" + "\n".join(lines)


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
    shown = " ".join(typed.split())[:MAX_ECHO]
    problem = t._("'{typed}' is not an article id.", typed=shown) if shown else t._("Which id?")
    return usage(t, command, "42", problem)


# ---- stories

STORY_SHOWN = 25  # /story lists at most this many of a story's articles,
STORY_BUDGET = 3_500  # in this many UTF-16 units, leaving room for the head and the hint


class StoryLine(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def title(self) -> str: ...


def story_text(t: Translator, article_id: int, members: Sequence[StoryLine]) -> str:
    """/story: the story of ``article_id``, earliest article first."""
    if len(members) <= 1:
        return t._(
            "Article {id} is a story of its own: no other article reports it.", id=article_id
        )
    head = t.ngettext(
        "<b>The story of article {id}</b>: {n} article",
        "<b>The story of article {id}</b>: {n} articles",
        len(members),
        id=article_id,
    )
    lines: list[str] = []
    used = 0
    for m in members[:STORY_SHOWN]:
        line = (
            f"<code>{m.id}</code> {echo(m.source, 30)} · {t.stamp(m.published_at)} · "
            f"{echo(m.title, 80)}"
        )
        # Telegram counts UTF-16 units of the visible text: an emoji is two, a flag four.
        size = tg_len(line) + 1
        if used + size > STORY_BUDGET:
            break
        lines.append(line)
        used += size
    if len(members) > len(lines):
        lines.append(t._("… and {n} more", n=len(members) - len(lines)))
    hint = t._("Take one out with {example}.", example=code(f"/split {members[-1].id}"))
    return "\n".join([head, *lines, "", hint])


def split_done(t: Translator, article_id: int, others: int) -> str:
    if not others:
        return t._(
            "Article {id} is a story of its own already; nothing to take out of.", id=article_id
        )
    return t.ngettext(
        "✂️ Article {id} is a story of its own now; {n} other article keeps the story.",
        "✂️ Article {id} is a story of its own now; {n} other articles keep the story.",
        others,
        id=article_id,
    )


def merge_problem(t: Translator, typed: str) -> str:
    shown = " ".join(typed.split())[:MAX_ECHO]
    problem = (
        t._("'{typed}' is not two article ids.", typed=shown)
        if shown
        else t._("Which two articles?")
    )
    return usage(t, "merge", "42 57", problem)


def merge_same(t: Translator, first: int, second: int) -> str:
    if first == second:
        return t._("That is one article twice; name two different ones.")
    return t._("Articles {a} and {b} are one story already.", a=first, b=second)


def merged(t: Translator, article_id: int, count: int) -> str:
    return t.ngettext(
        "🔗 Joined: the story now has {n} article. /story {id} shows it.",
        "🔗 Joined: the story now has {n} articles. /story {id} shows it.",
        count,
        id=article_id,
    )


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
    lines = [
        f"<code>{i}</code> {echo(title, LIST_TITLE)} · {t.day_month(when)}"
        for i, title, when in rows
    ]
    hint = t._("{example} brings one back.", example=code(f"/undelete {rows[0][0]}"))
    return "\n".join([t._("<b>Deleted articles</b>"), *lines, "", hint])


def kept(t: Translator, article_id: int, title: str) -> str:
    return t._("Kept article {id}: {title}", id=article_id, title=bold(title))


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


# ---- updates and errors

SLOW_DOWN = N_(
    "You are sending messages faster than I can answer; I'll skip the next ones for a few seconds."
)
TOO_FAST = N_("Too fast, try again in a moment.")


def input_problem(t: Translator, error: BaseException) -> str:
    return t._("Sorry, I can't use that: {problem}", problem=echo(t.problem(error), 2 * MAX_ECHO))


def split_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into as few messages as fit ``limit`` (counted on the HTML, which is
    never shorter than what Telegram counts); a line is never cut."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-16-le")) // 2
        if current and size + 1 + length > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        size += length + (1 if current else 0)
        current.append(line)
    if current:
        messages.append("\n".join(current))
    return messages


# ---- digests


# The digest's own words (header, entries, source line, story list): bot.digest_texts.
ORIGINAL_ARTICLE = N_("Original article")


# ---- feeds


def feed_add_usage(t: Translator) -> str:
    return usage(t, "feed_add", "https://example.com/rss.xml economy, Europe", t._("Which feed?"))


def feed_tags_usage(t: Translator) -> str:
    return usage(t, "feed_tags", "3 economy, Europe", t._("Which feed, and which tags?"))


NO_FEEDS = N_("No feeds yet. Add one with <code>/feed_add https://example.com/rss.xml</code>.")
FEEDS_EXPORT_CAPTION = N_("Your feeds as OPML. Send this file back to me to import them.")
# What /feeds shows of each feed: with these caps a page of FEEDS_PAGE_SIZE always fits
# one message.
FEED_TITLE = 60
FEED_URL = 120
FEED_TAGS = 100
FEED_ERROR = 150
FEED_MOVED_URL = 40
MAX_REASONS = 12  # an OPML import lists at most this many failures (they fit one message)


def feed_id_problem(t: Translator, command: str, typed: str) -> str:
    shown = " ".join(typed.split())[:MAX_ECHO]
    problem = (
        t._("'{typed}' is not a feed id; /feeds lists them.", typed=shown)
        if shown
        else t._("Which feed?")
    )
    return usage(t, command, "3", problem)


def no_such_feed(t: Translator, feed_id: int) -> str:
    return t._("There is no feed {id}. /feeds lists them.", id=feed_id)


def feed_not_added(t: Translator, error: BaseException) -> str:
    return t._("❌ Feed not added: {problem}", problem=echo(t.problem(error), 300))


def dropped_entries(t: Translator, dropped: int) -> str:
    """Why a feed's older entries were not read."""
    return t.ngettext(
        "{count} older entry dropped: only the newest {limit} of a feed are read.",
        "{count} older entries dropped: only the newest {limit} of a feed are read.",
        dropped,
        count=t.number(dropped),
        limit=t.number(MAX_ENTRIES),
    )


def feed_added(
    t: Translator,
    *,
    feed_id: int,
    title: str,
    entries: int,
    added: int,
    tags: Sequence[str],
    skipped: int,
    dropped: int = 0,
) -> str:
    lines = [
        t._("✅ Feed {id} added: {title}", id=feed_id, title=bold(title, FEED_TITLE)),
        t.ngettext(
            "{count} entry found", "{count} entries found", entries, count=t.number(entries)
        )
        + ", "
        + t.ngettext(
            "{count} new article.", "{count} new articles.", added, count=t.number(added)
        ),
    ]
    if dropped:
        lines.append(dropped_entries(t, dropped))
    lines.append(
        t._("Tags: {tags}", tags=echo(", ".join(tags), FEED_TAGS))
        if tags
        else t._("Tags: none (entry categories only)")
    )
    if skipped:
        lines.append(
            t.ngettext(
                "{n} entry skipped (no title and no text).",
                "{n} entries skipped (no title and no text).",
                skipped,
            )
        )
    return "\n".join(lines)


def feed_removed(t: Translator, feed_id: int, title: str) -> str:
    return t._(
        "Feed {id} removed: {title}. It is no longer polled; its articles stay.",
        id=feed_id,
        title=bold(title, FEED_TITLE),
    )


def feed_tags_set(t: Translator, feed_id: int, tags: Sequence[str]) -> str:
    shown = echo(", ".join(tags), FEED_TAGS) if tags else t._("none")
    return t._(
        "Feed {id} tags: {tags}. Its entries get them from its next poll.", id=feed_id, tags=shown
    )


def feed_tags_problem(t: Translator, problem: str) -> str:
    return usage(t, "feed_tags", "3 economy, Europe", problem)


class FeedLike(Protocol):
    """A feed as listed (bot.feedpolicy.FeedView is one)."""

    @property
    def feed_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def polled_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def failures(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def added_24h(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def moved_to(self) -> str | None: ...


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _status(t: Translator, feed: FeedLike) -> str:
    if feed.status == "ok":
        return t._("✅ ok")
    if feed.status == "new":
        return t._("⏳ not polled yet")
    error = echo(feed.error or "", FEED_ERROR)
    if feed.status == "broken":
        return t.ngettext(
            "⛔ broken ({n} poll in a row): {error}",
            "⛔ broken ({n} polls in a row): {error}",
            feed.failures,
            error=error,
        )
    return t.ngettext(
        "⚠️ failing ({n} poll in a row): {error}",
        "⚠️ failing ({n} polls in a row): {error}",
        feed.failures,
        error=error,
    )


def _polled(feed: FeedLike) -> str:
    return f"{feed.polled_at:%d %b %H:%M} UTC" if feed.polled_at else "never"


def feeds_text(t: Translator, feeds: Sequence[FeedLike], page: int, pages: int, total: int) -> str:
    if not feeds:
        return t._(NO_FEEDS)
    if pages > 1:
        head = t._(
            "<b>Feeds</b> ({total}), page {page} of {pages}",
            total=total,
            page=page + 1,
            pages=pages,
        )
    else:
        head = t._("<b>Feeds</b> ({total})", total=total)
    blocks = [head]
    for feed in feeds:
        tags = echo(", ".join(feed.tags), FEED_TAGS) if feed.tags else t._("no tags")
        polled = (
            t._("{day} {time} UTC", day=t.day_month(feed.polled_at), time=t.clock(feed.polled_at))
            if feed.polled_at
            else t._("never")
        )
        blocks.append(
            f"<code>{feed.feed_id}</code> <b>{echo(feed.title, FEED_TITLE)}</b>\n"
            f"{echo(feed.url, FEED_URL)}\n"
            + t._("Tags: {tags}", tags=tags)
            + "\n"
            + t._("Last poll: {when} · {status}", when=polled, status=_status(t, feed))
            + "\n"
            + t._("Added in 24 h: {count}", count=feed.added_24h)
            + "".join(f"\n{note}" for note in _notes(t, feed))
        )
    return "\n\n".join(blocks)


def _notes(t: Translator, feed: FeedLike) -> list[str]:
    """What the last poll did that the admin should know beyond its status."""
    notes = []
    if feed.dropped:
        notes.append(dropped_entries(t, feed.dropped))
    if feed.moved_to:
        notes.append(
            t._(
                "↪ Moved permanently to {url}, the address of another feed: this one stays "
                "at its own. Remove one of the two.",
                url=echo(feed.moved_to, FEED_MOVED_URL),
            )
        )
    return notes


class OpmlOutcome(Protocol):
    @property
    def added(self) -> Sequence[object]: ...
    @property
    def already(self) -> Sequence[str]: ...
    @property
    def failed(self) -> Sequence[tuple[str, BaseException]]: ...


def opml_imported(t: Translator, report: OpmlOutcome) -> str:
    lines = [
        t._(
            "📥 OPML import done: {added} added, {already} already there, {failed} failed",
            added=len(report.added),
            already=len(report.already),
            failed=len(report.failed),
        )
    ]
    for url, reason in report.failed[:MAX_REASONS]:
        lines.append(f"• {echo(url, FEED_URL)}: {echo(t.problem(reason), FEED_ERROR)}")
    if len(report.failed) > MAX_REASONS:
        lines.append(t._("… and {count} more", count=len(report.failed) - MAX_REASONS))
    return "\n".join(lines)


def not_opml(t: Translator, error: BaseException) -> str:
    return t._(
        "❌ Not imported: that file is not OPML ({problem}).",
        problem=echo(t.problem(error), 200),
    )


def opml_importing(t: Translator, stored: int) -> str:
    """The answer to an .opml file whose feeds are being fetched in the background."""
    return t.ngettext(
        "📥 {count} feed from that file stored; it is being fetched in the background, "
        "and a summary follows when that is done. /feeds works meanwhile.",
        "📥 {count} feeds from that file stored; they are being fetched in the background, "
        "and a summary follows when that is done. /feeds works meanwhile.",
        stored,
        count=t.number(stored),
    )


# ---- feeds on the command line (plain text)


class PollLike(Protocol):
    """What one poll did (bot.feeds.PollResult is one)."""

    @property
    def feed_id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def failures(self) -> int: ...
    @property
    def not_modified(self) -> bool: ...
    @property
    def entries(self) -> int: ...
    @property
    def added(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def skipped(self) -> Sequence[str]: ...
    @property
    def dropped(self) -> int: ...
    @property
    def moved_to(self) -> str | None: ...
    @property
    def duplicate(self) -> tuple[int, str] | None: ...


def _dropped_line(dropped: int) -> str:
    return (
        f"{_count(dropped, 'older entry', 'older entries')} dropped "
        f"(only the newest {MAX_ENTRIES} of a feed are read)"
    )


def poll_line(result: PollLike) -> str:
    """One line per feed polled, for `newsbot poll`."""
    head = f"feed {result.feed_id} {result.url}"
    if result.error is not None:
        return (
            f"{head}: failed ({_count(result.failures, 'time', 'times')} in a row): {result.error}"
        )
    if result.not_modified:
        line = f"{head}: not modified"
    else:
        line = (
            f"{head}: {_count(result.entries, 'entry', 'entries')}, "
            f"{result.added} added, {result.updated} updated"
        )
    if result.dropped:
        line += f", {_dropped_line(result.dropped)}"
    if result.skipped:
        line += f", {len(result.skipped)} skipped ({'; '.join(result.skipped[:3])})"
    if result.moved_to:
        line += "; moved permanently, address updated"
    if result.duplicate:
        other, url = result.duplicate
        line += (
            f"; moved permanently to {url}, which feed {other} already has: "
            "address kept (remove one of the two)"
        )
    return line


class AddedLike(Protocol):
    @property
    def feed_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def entries(self) -> int: ...
    @property
    def added(self) -> int: ...
    @property
    def dropped(self) -> int: ...


def feed_added_line(added: AddedLike) -> str:
    """`newsbot feeds add`'s answer."""
    line = (
        f"feed {added.feed_id} added: {added.title} ({added.url}): "
        f"{_count(added.entries, 'entry', 'entries')}, {added.added} new"
    )
    if added.dropped:
        line += f"; {_dropped_line(added.dropped)}"
    return line


def feed_row(feed: FeedLike) -> str:
    """One feed, for `newsbot feeds list` (tab-separated)."""
    status = (
        feed.status
        if feed.status in ("ok", "new")
        else (f"{feed.status} ({feed.failures} in a row): {feed.error or ''}")
    )
    return "\t".join(
        [
            str(feed.feed_id),
            feed.title,
            feed.url,
            ", ".join(feed.tags) or "-",
            _polled(feed),
            status,
            f"{feed.added_24h} in 24 h",
        ]
    )


# ---- keywords and search


class TermProblemLike(Protocol):
    """What is wrong with typed terms (bot.keywords.TermError is one)."""

    @property
    def problem(self) -> str: ...
    @property
    def item(self) -> str: ...
    @property
    def limit(self) -> int: ...


FOLLOW_EXAMPLE = 'ukraine "peace talks" negotiat*'
WORD_EXAMPLES = {
    "follow": FOLLOW_EXAMPLE,
    "unfollow": "ukraine",
    "mute": "football",
    "unmute": "football",
    "search": "peace talks",
}
_TERM_PROBLEMS = {
    "unbalanced_quotes": N_('A quote is not closed: put a phrase between two " marks.'),
    "no_words": N_("“{item}” has no letters or digits to look for."),
    "short_prefix": N_(
        "“{item}” is too short for a prefix: put * after at least {limit} letters."
    ),
}


def term_problem(t: Translator, command: str, error: TermProblemLike) -> str:
    """The answer to a /follow, /unfollow, /mute, /unmute or /search that cannot be read."""
    example = WORD_EXAMPLES[command]
    search = command == "search"
    if error.problem == "empty":
        what = t._("What should I search for?") if search else t._("Which words?")
        return usage(t, command, example, what)
    if error.problem == "too_many":
        count = int(error.item)
        if search:
            problem = t.ngettext(
                "That is {n} search term; at most {limit}.",
                "That is {n} search terms; at most {limit}.",
                count,
                limit=error.limit,
            )
        else:
            problem = t.ngettext(
                "That is {n} word or phrase; at most {limit}.",
                "That is {n} words or phrases; at most {limit}.",
                count,
                limit=error.limit,
            )
        return usage(t, command, example, problem)
    if error.problem == "too_long":
        if not error.item:
            return usage(
                t,
                command,
                example,
                t._("That is too long: at most {limit} characters.", limit=error.limit),
            )
        return t._(
            "⚠️ “{item}” is too long: a word or phrase has at most {limit} characters.",
            item=echo(error.item),
            limit=error.limit,
        )
    template = _TERM_PROBLEMS[error.problem]
    item = " ".join(error.item.split())[:MAX_ECHO]
    return "⚠️ " + escape(t._(template, item=item, limit=error.limit))


class WordsOutcome(Protocol):
    """What /follow or /mute did (bot.search.WordsResult is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def added(self) -> Sequence[str]: ...
    @property
    def already(self) -> Sequence[str]: ...
    @property
    def switched(self) -> Sequence[str]: ...
    @property
    def over_limit(self) -> Sequence[str]: ...
    @property
    def limit(self) -> int: ...


class RemoveOutcome(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def removed(self) -> Sequence[str]: ...
    @property
    def missing(self) -> Sequence[str]: ...


def words_lines(t: Translator, result: WordsOutcome) -> list[str]:
    mute = result.kind == "mute"
    lines: list[str] = []
    for shown in result.added:
        word = bold(shown)
        lines.append(
            t._("🔇 Muted {word}", word=word) if mute else t._("✅ Following {word}", word=word)
        )
    for shown in result.switched:
        word = bold(shown)
        lines.append(
            t._("🔇 Muted {word} (it was followed until now)", word=word)
            if mute
            else t._("✅ Following {word} (it was muted until now)", word=word)
        )
    for shown in result.already:
        word = bold(shown)
        lines.append(
            t._("☑️ Already muted {word}", word=word)
            if mute
            else t._("☑️ Already following {word}", word=word)
        )
    if result.over_limit:
        words = _quoted(result.over_limit)
        if mute:
            lines.append(
                t.ngettext(
                    "⚠️ Not muted {words}: you may have at most {n} muted word. "
                    "/unmute some first.",
                    "⚠️ Not muted {words}: you may have at most {n} muted words. "
                    "/unmute some first.",
                    result.limit,
                    words=words,
                )
            )
        else:
            lines.append(
                t.ngettext(
                    "⚠️ Not following {words}: you may have at most {n} followed word. "
                    "/unfollow some first.",
                    "⚠️ Not following {words}: you may have at most {n} followed words. "
                    "/unfollow some first.",
                    result.limit,
                    words=words,
                )
            )
    if result.added or result.switched:
        lines.append(
            t._("Articles containing them are left out of your digests.")
            if mute
            else t._("Your digests now also include articles containing them.")
        )
    return lines


def remove_lines(t: Translator, result: RemoveOutcome) -> list[str]:
    mute = result.kind == "mute"
    lines: list[str] = []
    for shown in result.removed:
        word = bold(shown)
        lines.append(
            t._("🔈 Unmuted {word}", word=word)
            if mute
            else t._("🗑 Stopped following {word}", word=word)
        )
    for shown in result.missing:
        word = echo(shown)
        lines.append(
            t._("You weren't muting “{word}”", word=word)
            if mute
            else t._("You weren't following “{word}”", word=word)
        )
    return lines


def words_text(
    t: Translator, rows: Sequence[tuple[str, bool]], page: int = 0, pages: int = 1
) -> str:
    """/subscriptions' list of words: (shown form, muted)."""
    followed = [f"• {escape(shown)}" for shown, muted in rows if not muted]
    muted = [f"• {escape(shown)}" for shown, is_muted in rows if is_muted]
    parts = [t._("<b>Your words</b>{suffix}", suffix=_page_suffix(t, page, pages))]
    if followed:
        parts += [t._("Following:"), *followed]
    if muted:
        parts += [t._("Muted:"), *muted]
    parts += ["", t._("Tap a word to stop following or muting it.")]
    return "\n".join(parts)


NO_WORDS = N_("You follow and mute no words.")


def word_button(shown: str, muted: bool) -> str:
    return f"✖ {'🔇 ' if muted else ''}{shown}"


def word_removed_notice(t: Translator, shown: str, muted: bool) -> str:
    word = _short(shown)
    return (
        t._("Unmuted {word}", word=word) if muted else t._("Stopped following {word}", word=word)
    )


SEARCH_MARK = "🔎 "
SEARCH_MORE = N_("More ▶")
SEARCH_GONE = N_("That search can no longer be paged; send /search again.")
SEARCH_TITLE = 200  # so that ten results always fit one message
SEARCH_SUMMARY = 150


def search_header(query: str) -> str:
    """The first line of a results message: plain text that bot.keyword_handlers reads
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


# ---- groups and channels

GROUP_ADMINS_ONLY = N_(
    "Only this group's administrators can change its digest. "
    "Anyone here can use /digest and /subscriptions."
)
GROUP_ADMINS_ONLY_NOTICE = N_("Only the group's administrators can change this.")
GROUP_WELCOME = N_(
    "👋 Thanks for adding me. I can send this group a short news digest every day on the "
    "tags its administrators choose, e.g. <code>/subscribe negotiations</code> and "
    "<code>/time 08:00</code>. /help lists every command."
)
CHANNEL_USAGE = N_(
    "To set up a channel's digest, make me an administrator of the channel who may post, "
    "then send <code>/channel @name</code>, <code>/channel -100…</code> or forward me a "
    "post from it. <code>/channel me</code> goes back to your own chat."
)
CHANNEL_IN_PRIVATE = N_("Please send /channel and /channels in your private chat with me.")
BACK_TO_ME = N_("Your commands act for your own chat again.")
NO_CHANNELS = N_("You have linked no channels yet.")
OWN_CHAT_BUTTON = N_("👤 My own chat")


def chat_name(t: Translator, title: str | None, chat_id: int) -> str:
    return title or t._("chat {id}", id=chat_id)


def channel_not_found(t: Translator, typed: str) -> str:
    return t._(
        "I can't see the chat “{typed}”. Add me to the channel as an administrator who may "
        "post, then try again.",
        typed=echo(typed),
    )


def not_a_channel(t: Translator, title: str) -> str:
    return t._("{title} is not a channel.", title=bold(title, MAX_ECHO))


def bot_not_channel_admin(t: Translator, title: str) -> str:
    return t._(
        "I am not an administrator of {title} who may post messages. Make me one, then try again.",
        title=bold(title, MAX_ECHO),
    )


def user_not_channel_admin(t: Translator, title: str) -> str:
    return t._(
        "Only the administrators of {title} can set up its digest.", title=bold(title, MAX_ECHO)
    )


def channel_linked(t: Translator, title: str) -> str:
    return t._(
        "✅ Linked {title}. Your commands here now set up its digest: /subscribe, /time, "
        "/settings and the rest. /channels switches between your chats; "
        "<code>/channel me</code> goes back to your own.",
        title=bold(title, MAX_ECHO),
    )


def no_longer_admin(t: Translator, title: str) -> str:
    return t._(
        "You are no longer an administrator of {title}, so your commands act for your own "
        "chat again.",
        title=bold(title, MAX_ECHO),
    )


def acting_for(t: Translator, title: str) -> str:
    """/channel without arguments while a chat is selected."""
    return t._(
        "Your commands act for {title}. <code>/channel me</code> goes back to your own chat.",
        title=bold(title, MAX_ECHO),
    )


def channels_text(t: Translator, chats: Sequence[tuple[str, bool]]) -> str:
    """The chats a person linked: (name, selected) each."""
    lines = [t._("<b>Your chats</b>")]
    lines += [f"{'✅' if selected else '•'} {escape(name)}" for name, selected in chats]
    lines += ["", t._("Tap a chat to make your commands act for it.")]
    return "\n".join(lines)


def not_admin_any_more(t: Translator, name: str) -> str:
    """A button's notice: it acts for a channel its presser no longer administers."""
    return t._("You are no longer an administrator of {name}.", name=_short(name))


def acting_header(t: Translator, name: str) -> str:
    """The first line of a reply about a linked channel, said in the private chat."""
    return t._("📢 For {name}:", name=bold(name, MAX_ECHO))


POST_DIGEST_BUTTON = N_("📢 Post it now")
CANCEL_BUTTON = N_("Cancel")
DIGEST_NOT_POSTED = N_("Not posted.")


def post_digest_question(t: Translator, name: str) -> str:
    return t._(
        "Post the digest of {name} in the channel now, for all its readers? "
        "(Your own digest: <code>/channel me</code>, then /digest.)",
        name=bold(name, MAX_ECHO),
    )


def nothing_new_for(t: Translator, name: str) -> str:
    return t._(
        "Nothing new for {name} since its last digest; nothing was posted.",
        name=bold(name, MAX_ECHO),
    )


def follows_nothing(t: Translator, name: str) -> str:
    return t._(
        "{name} follows no tags or words yet, so there is nothing to post. "
        "Try <code>/subscribe negotiations</code>.",
        name=bold(name, MAX_ECHO),
    )


def digest_posted(t: Translator, name: str, outcome: str) -> str:
    """What became of a linked channel's digest posted now (a bot.send.SendResult)."""
    shown = bold(name, MAX_ECHO)
    if outcome == "sent":
        return t._("✅ Posted the digest in {name}.", name=shown)
    if outcome == "blocked":
        return t._(
            "I can no longer post in {name}: I was removed, or may not post there. Make me "
            "an administrator who may post, then try again.",
            name=shown,
        )
    if outcome == "postponed":
        return t._(
            "Telegram did not take the digest for {name} just now; I'll post it in a few minutes.",
            name=shown,
        )
    return t._(
        "Telegram refused the digest for {name}; its articles wait for the next one.",
        name=shown,
    )


def selected_notice(t: Translator, name: str) -> str:
    return t._("Your commands act for {name}", name=_short(name))


def destination(t: Translator, thread_id: int | None) -> str:
    """Where a forum supergroup's digests go."""
    if thread_id is None:
        return t._("Digests go to: the General topic")
    return t._("Digests go to: topic {id}", id=thread_id)


TOPIC_CHOOSE_AGAIN = N_(
    "Digests come here, to General, from now on. To choose a topic again, an administrator "
    "sends any command in it, e.g. /settings."
)


def topic_fallback(t: Translator, thread_id: int, *, closed: bool) -> str:
    """Said in General when the topic digests went to refused one (closed or deleted)."""
    if closed:
        gone = t._(
            "⚠️ Topic {id}, where this group's digests were posted, is closed.", id=thread_id
        )
    else:
        gone = t._(
            "⚠️ Topic {id}, where this group's digests were posted, was deleted.", id=thread_id
        )
    return gone + "\n" + t._(TOPIC_CHOOSE_AGAIN)


def topic_reply_refused(t: Translator, thread_id: int, *, closed: bool, moved: bool) -> str:
    """Said in General when a reply in a topic was refused; ``moved``: it was the digests'
    topic, which is General now."""
    if closed:
        refused = t._(
            "I can't answer in topic {id}: it is closed. Reopen it, or send the command in an "
            "open topic or here.",
            id=thread_id,
        )
    else:
        refused = t._(
            "I can't answer in topic {id}: it was deleted. Send the command in another topic "
            "or here.",
            id=thread_id,
        )
    return refused + ("\n" + t._(TOPIC_CHOOSE_AGAIN) if moved else "")
