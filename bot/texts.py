"""What the bot says. Pure functions returning Telegram HTML; all outside text is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from html import escape
from typing import Protocol

from bot.schedule import describe_schedule, tzinfo_for

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "Every command, one line each"),
    ("subscribe", "Follow tags: /subscribe negotiations, economy"),
    ("unsubscribe", "Stop following tags"),
    ("subscriptions", "Your tags, with buttons to unsubscribe"),
    ("tags", "Popular tags; tap to follow or unfollow"),
    ("follow", 'Follow words in any article: /follow ukraine "peace talks" negotiat*'),
    ("unfollow", "Stop following words"),
    ("mute", "Never get articles with these words: /mute football"),
    ("unmute", "Stop muting words"),
    ("search", "Search the last 90 days: /search peace talks"),
    ("digest", "Your digest now: what is new since the last one"),
    ("settings", "Your delivery time, timezone and frequency"),
    ("time", "Digest time, e.g. /time 07:30"),
    ("timezone", "Your timezone, e.g. /timezone Europe/Kyiv or UTC+03:00"),
    ("frequency", "daily, or weekly with a day: /frequency weekly mon"),
    ("pause", "Stop scheduled digests for now"),
    ("resume", "Start scheduled digests again"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("add", "Add an article: /add + the article text, or send a .txt file"),
    ("delete", "Delete an article: /delete 42"),
    ("articles", "The latest articles with their ids"),
    ("stats", "Counts of articles, tags, subscribers and digests"),
    ("feeds", "News feeds polled for articles, with their status"),
    ("feed_add", "Add a feed: /feed_add https://example.com/rss economy, Europe"),
    ("feed_remove", "Stop polling a feed: /feed_remove 3 (its articles stay)"),
    ("feed_tags", "Replace a feed's tags: /feed_tags 3 economy, Europe"),
    ("feeds_export", "The feeds as an OPML file; send an .opml file to import one"),
)

WELCOME = (
    "👋 <b>Welcome to newsbot.</b>\n"
    "I send you a short news digest on the tags you follow, once a day at your own "
    "local time: a headline, one summary line and a link per article, never the same "
    "article twice.\n\n"
    "Follow a tag with /subscribe, e.g. <code>/subscribe negotiations</code>, or tap a "
    "popular tag below. /tags lists them all; /help lists every command."
)
NO_ARTICLE = "That article is no longer available."
NOT_UNDERSTOOD = "I only understand commands. Send /help to see them."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see the ones I know."
ADMIN_ONLY = "Sorry, only the bot's admins can do that."
SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."
NOTHING_NEW = "Nothing new on your tags right now; I'll include new articles in your next digest."
NO_SUBSCRIPTIONS = (
    "You don't follow any tags yet. Try <code>/subscribe negotiations</code>, or pick from /tags."
)
NO_TAGS = "There are no tags yet: no articles have been added."


def help_text(is_admin: bool) -> str:
    lines = ["<b>Commands</b>"] + [f"/{name} — {escape(about)}" for name, about in COMMANDS]
    if is_admin:
        lines += ["", "<b>Admin</b>"] + [f"/{n} — {escape(about)}" for n, about in ADMIN_COMMANDS]
    return "\n".join(lines)


def usage(command: str, example: str, problem: str = "") -> str:
    prefix = f"{escape(problem)}\n" if problem else ""
    return f"{prefix}Usage: <code>/{command} {escape(example)}</code>"


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


def _did_you_mean(options: Sequence[Suggested]) -> str:
    return " or ".join(f"<b>{escape(o.name)}</b>" for o in options)


def subscribe_lines(result: SubscribeOutcome) -> list[str]:
    lines: list[str] = []
    for name in result.subscribed:
        note = (
            " — no articles with this tag yet; they'll come when added"
            if (name in result.without_articles)
            else ""
        )
        lines.append(f"✅ Subscribed to <b>{escape(name)}</b>{note}")
    lines += [f"☑️ Already subscribed to <b>{escape(name)}</b>" for name in result.already]
    for typed, options in result.suggestions.items():
        lines.append(
            f"❓ I don't know the tag “{echo(typed)}”. Did you mean {_did_you_mean(options)}?"
        )
    lines += [f"⚠️ “{echo(name)}” is too long for a tag" for name in result.too_long]
    if result.over_pending_limit:
        names = ", ".join(f"“{echo(n)}”" for n in result.over_pending_limit)
        lines.append(
            f"⏳ Not subscribed to {names}: you already wait for {result.pending_limit} tags "
            "that have no articles yet. /unsubscribe from one of them first."
        )
    return lines


def unsubscribe_lines(result: UnsubscribeOutcome) -> list[str]:
    lines = [f"🗑 Unsubscribed from <b>{escape(name)}</b>" for name in result.removed]
    for name in result.missing:
        options = result.suggestions.get(name)
        hint = f". Did you mean {_did_you_mean(options)}?" if options else ""
        lines.append(f"You weren't subscribed to “{echo(name)}”{hint}")
    return lines


SUBSCRIBE_USAGE = usage("subscribe", "negotiations, United Kingdom", "Which tags?")
UNSUBSCRIBE_USAGE = usage("unsubscribe", "negotiations", "Which tags? /subscriptions lists yours.")


def too_many_tags(count: int, limit: int) -> str:
    return f"That is {count} tags; send at most {limit} at a time."


def subscribe_button(name: str) -> str:
    return f"✅ Subscribe to {name}"


def unsubscribe_button(name: str) -> str:
    return f"✖ Unsubscribe from {name}"


def tag_button(name: str, count: int, subscribed: bool) -> str:
    mark = "✅ " if subscribed else ""
    return f"{mark}{name} ({count})"


def unsubscribe_tag_button(name: str) -> str:
    return f"✖ {name}"


PREVIOUS = "◀ Previous"
NEXT = "Next ▶"
BUTTON_INVALID = "This button is no longer valid."
TAG_GONE = "That tag no longer exists."


def subscribed_line(name: str) -> str:
    return f"✅ Subscribed to <b>{escape(name)}</b>"


def unsubscribed_line(name: str) -> str:
    return f"🗑 Unsubscribed from <b>{escape(name)}</b>"


NOTICE_NAME = 150  # a button's notice holds at most 200 characters


def _short(name: str) -> str:
    return name if len(name) <= NOTICE_NAME else name[: NOTICE_NAME - 1] + "…"


def subscribed_notice(name: str) -> str:
    return f"Subscribed to {_short(name)}"


def unsubscribed_notice(name: str) -> str:
    return f"Unsubscribed from {_short(name)}"


def subscriptions_text(names: Sequence[str], page: int = 0, pages: int = 1) -> str:
    if not names:
        return NO_SUBSCRIPTIONS
    listed = "\n".join(f"• {escape(name)}" for name in names)
    suffix = f" (page {page + 1} of {pages})" if pages > 1 else ""
    return f"<b>Your tags</b>{suffix}\n{listed}\n\nTap a tag to unsubscribe."


def tags_text(page: int, pages: int) -> str:
    suffix = f" (page {page + 1} of {pages})" if pages > 1 else ""
    return (
        f"<b>Popular tags</b>{suffix}\nTap a tag to follow it; ✅ marks the ones you follow; "
        "tap again to unfollow."
    )


def settings_text(
    *,
    digest_time: time,
    timezone: str,
    frequency: str,
    weekday: int,
    paused: bool,
    next_due_at: datetime,
) -> str:
    local_next = next_due_at.astimezone(tzinfo_for(timezone))
    state = "⏸ paused — /resume to start again" if paused else "▶️ active"
    return (
        "<b>Your settings</b>\n"
        f"Digest: {describe_schedule(digest_time, frequency, weekday)}\n"
        f"Timezone: {escape(timezone)}\n"
        f"Frequency: {frequency}\n"
        f"State: {state}\n"
        + ("" if paused else f"Next digest: {local_next.strftime('%a %d %b, %H:%M')}\n")
        + "\nChange with /time, /timezone, /frequency, /pause or /resume."
    )


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


def stats_text(view: StatsLike) -> str:
    return (
        "<b>Stats</b>\n"
        f"Articles: {view.articles}\n"
        f"Tags in use: {view.tags}\n"
        f"Subscribers: {view.subscribers_active} active, {view.subscribers_paused} paused, "
        f"{view.subscribers_blocked} blocked\n"
        f"Subscriptions: {view.subscriptions}\n"
        f"Digests sent in the last 24 h: {view.digests_sent_24h}"
    )


def added_text(
    *, article_id: int, title: str, tags: Sequence[str], summary: str, outcome: str
) -> str:
    heading = {
        "added": "✅ Article stored",
        "updated": "♻️ Article already known; updated",
        "unchanged": "☑️ Article already known; nothing changed",
    }[outcome]
    return (
        f"{heading}\n"
        f"ID: {article_id}\n"
        f"Title: <b>{escape(title)}</b>\n"
        f"Tags: {escape(', '.join(tags))}\n"
        f"Summary: {escape(summary)}"
    )


LIST_TITLE = 100  # a listing shows this much of each title, so 15 rows always fit


def article_list(rows: Sequence[tuple[int, str, datetime]]) -> str:
    if not rows:
        return "No articles yet. Add one with /add."
    lines = [
        f"<code>{i}</code> {echo(title, LIST_TITLE)} · {added:%d %b}" for i, title, added in rows
    ]
    return "<b>Latest articles</b>\n" + "\n".join(lines)


ADD_USAGE = (
    "Send the article in the same message, after /add on its own line, "
    "or send it as a .txt file. The format is in the README."
)
TXT_ONLY = "Please send an article as a .txt file, or feeds as an .opml file."
DELETE_BUTTON = "🗑 Delete"
KEEP_BUTTON = "Keep it"


def file_too_big(limit: int) -> str:
    return f"That file is over {limit:,} bytes; not stored."


def not_stored(problem: str) -> str:
    return f"❌ Not stored: {escape(problem)}"


def no_such_article(article_id: int) -> str:
    return f"There is no article {article_id}. /articles lists them."


def article_id_problem(typed: str) -> str:
    shown = " ".join(typed.split())[:MAX_ECHO]
    return usage("delete", "42", f"'{shown}' is not an article id." if shown else "Which id?")


def confirm_delete(article_id: int, title: str) -> str:
    return f"Delete article {article_id}: <b>{escape(title)}</b>?"


def deleted(article_id: int, title: str) -> str:
    return f"🗑 Deleted article {article_id}: <b>{escape(title)}</b>"


def kept(article_id: int, title: str) -> str:
    return f"Kept article {article_id}: <b>{escape(title)}</b>"


# ---- settings

SAVED = "Saved."


def current_time(digest_time: time) -> str:
    return (
        f"Your digest comes at {digest_time:%H:%M} your time.\n"
        "Change it with e.g. <code>/time 07:30</code>"
    )


def current_timezone(name: str) -> str:
    return (
        f"Your timezone is {escape(name)}.\n"
        "Change it with e.g. <code>/timezone Europe/Kyiv</code>, <code>/timezone Kyiv</code> "
        "or <code>/timezone UTC+03:00</code>"
    )


def time_problem(problem: str) -> str:
    return usage("time", "07:30", problem)


def timezone_problem(problem: str, suggestions: Sequence[str]) -> str:
    hint = f". Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    return (
        usage("timezone", "Europe/Kyiv", problem + hint) + " or <code>/timezone UTC+03:00</code>"
    )


FREQUENCY_EXAMPLE = "daily</code> or <code>/frequency weekly monday"


def frequency_problem(words: Sequence[str], problem: str = "") -> str:
    if not problem:
        problem = f"'{' '.join(words)}' is not daily or weekly." if words else "How often?"
    return f"{echo(problem, 2 * MAX_ECHO)}\nUsage: <code>/frequency {FREQUENCY_EXAMPLE}</code>"


# ---- updates and errors

SLOW_DOWN = (
    "You are sending messages faster than I can answer; I'll skip the next ones for a few seconds."
)


def input_problem(problem: str) -> str:
    return f"Sorry, I can't use that: {echo(problem, 2 * MAX_ECHO)}"


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


def digest_header(count: int) -> str:
    """The first line of a digest (plain text: the renderer escapes and bolds it)."""
    return f"📰 Your digest: {count} new {'article' if count == 1 else 'articles'}"


def more_waiting(remaining: int, *, manual: bool) -> str:
    """The last line of a digest that had more articles than fit (plain text)."""
    noun = "article" if remaining == 1 else "articles"
    hint = "send /digest for more now" if manual else "they come in your next digest"
    return f"+{remaining} more {noun} waiting; {hint}"


# ---- feeds

FEED_ADD_USAGE = usage("feed_add", "https://example.com/rss.xml economy, Europe", "Which feed?")
FEED_TAGS_USAGE = usage("feed_tags", "3 economy, Europe", "Which feed, and which tags?")
NO_FEEDS = "No feeds yet. Add one with <code>/feed_add https://example.com/rss.xml</code>."
FEEDS_EXPORT_CAPTION = "Your feeds as OPML. Send this file back to me to import them."
# What /feeds shows of each feed: with these caps a page of FEEDS_PAGE_SIZE always fits
# one message.
FEED_TITLE = 60
FEED_URL = 120
FEED_TAGS = 100
FEED_ERROR = 150
MAX_REASONS = 12  # an OPML import lists at most this many failures (they fit one message)


def feed_id_problem(command: str, typed: str) -> str:
    shown = " ".join(typed.split())[:MAX_ECHO]
    problem = f"'{shown}' is not a feed id; /feeds lists them." if shown else "Which feed?"
    return usage(command, "3", problem)


def no_such_feed(feed_id: int) -> str:
    return f"There is no feed {feed_id}. /feeds lists them."


def feed_not_added(problem: str) -> str:
    return f"❌ Feed not added: {echo(problem, 300)}"


def feed_added(
    *, feed_id: int, title: str, entries: int, added: int, tags: Sequence[str], skipped: int
) -> str:
    lines = [
        f"✅ Feed {feed_id} added: <b>{echo(title, FEED_TITLE)}</b>",
        f"{_count(entries, 'entry', 'entries')} found, {added} new {_noun(added, 'article')}.",
        f"Tags: {echo(', '.join(tags), FEED_TAGS)}"
        if tags
        else "Tags: none (entry categories only)",
    ]
    if skipped:
        lines.append(f"{_count(skipped, 'entry', 'entries')} skipped (no title and no text).")
    return "\n".join(lines)


def feed_removed(feed_id: int, title: str) -> str:
    return (
        f"Feed {feed_id} removed: <b>{echo(title, FEED_TITLE)}</b>. "
        "It is no longer polled; its articles stay."
    )


def feed_tags_set(feed_id: int, tags: Sequence[str]) -> str:
    shown = echo(", ".join(tags), FEED_TAGS) if tags else "none"
    return f"Feed {feed_id} tags: {shown}. Its entries get them from its next poll."


def feed_tags_problem(problem: str) -> str:
    return usage("feed_tags", "3 economy, Europe", problem)


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


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _noun(n: int, one: str) -> str:
    return one if n == 1 else f"{one}s"


def _status(feed: FeedLike) -> str:
    if feed.status == "ok":
        return "✅ ok"
    if feed.status == "new":
        return "⏳ not polled yet"
    mark = "⛔ broken" if feed.status == "broken" else "⚠️ failing"
    polls = _count(feed.failures, "poll", "polls")
    return f"{mark} ({polls} in a row): {echo(feed.error or '', FEED_ERROR)}"


def _polled(feed: FeedLike) -> str:
    return f"{feed.polled_at:%d %b %H:%M} UTC" if feed.polled_at else "never"


def feeds_text(feeds: Sequence[FeedLike], page: int, pages: int, total: int) -> str:
    if not feeds:
        return NO_FEEDS
    head = f"<b>Feeds</b> ({total})" + (f", page {page + 1} of {pages}" if pages > 1 else "")
    blocks = [head]
    for feed in feeds:
        tags = echo(", ".join(feed.tags), FEED_TAGS) if feed.tags else "no tags"
        blocks.append(
            f"<code>{feed.feed_id}</code> <b>{echo(feed.title, FEED_TITLE)}</b>\n"
            f"{echo(feed.url, FEED_URL)}\n"
            f"Tags: {tags}\n"
            f"Last poll: {_polled(feed)} · {_status(feed)}\n"
            f"Added in 24 h: {feed.added_24h}"
        )
    return "\n\n".join(blocks)


class OpmlOutcome(Protocol):
    @property
    def added(self) -> Sequence[object]: ...
    @property
    def already(self) -> Sequence[str]: ...
    @property
    def failed(self) -> Sequence[tuple[str, str]]: ...


def opml_imported(report: OpmlOutcome) -> str:
    lines = [
        f"{len(report.added)} added, {len(report.already)} already there, "
        f"{len(report.failed)} failed"
    ]
    for url, reason in report.failed[:MAX_REASONS]:
        lines.append(f"• {echo(url, FEED_URL)}: {echo(reason, FEED_ERROR)}")
    if len(report.failed) > MAX_REASONS:
        lines.append(f"… and {len(report.failed) - MAX_REASONS} more")
    return "\n".join(lines)


def not_opml(problem: str) -> str:
    return f"❌ Not imported: that file is not OPML ({echo(problem, 200)})."


OPML_IMPORTING = "Importing the feeds in that file; each is fetched once. This can take a minute."


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
    def moved_to(self) -> str | None: ...


def poll_line(result: PollLike) -> str:
    """One line per feed polled, for `newsbot poll`."""
    head = f"feed {result.feed_id} {result.url}"
    if result.error is not None:
        return (
            f"{head}: failed ({_count(result.failures, 'time', 'times')} in a row): {result.error}"
        )
    if result.not_modified:
        return f"{head}: not modified"
    line = (
        f"{head}: {_count(result.entries, 'entry', 'entries')}, "
        f"{result.added} added, {result.updated} updated"
    )
    if result.skipped:
        line += f", {len(result.skipped)} skipped ({'; '.join(result.skipped[:3])})"
    if result.moved_to:
        line += "; moved permanently, address updated"
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


def feed_added_line(added: AddedLike) -> str:
    """`newsbot feeds add`'s answer."""
    return (
        f"feed {added.feed_id} added: {added.title} ({added.url}): "
        f"{_count(added.entries, 'entry', 'entries')}, {added.added} new"
    )


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
    "unbalanced_quotes": 'A quote is not closed: put a phrase between two " marks.',
    "no_words": "“{item}” has no letters or digits to look for.",
    "short_prefix": "“{item}” is too short for a prefix: put * after at least {limit} letters.",
}


def term_problem(command: str, error: TermProblemLike) -> str:
    """The answer to a /follow, /unfollow, /mute, /unmute or /search that cannot be read."""
    example = WORD_EXAMPLES[command]
    if error.problem == "empty":
        what = "What should I search for?" if command == "search" else "Which words?"
        return usage(command, example, what)
    if error.problem == "too_many":
        noun = "search terms" if command == "search" else "words or phrases"
        return usage(command, example, f"That is {error.item} {noun}; at most {error.limit}.")
    if error.problem == "too_long":
        if not error.item:
            return usage(command, example, f"That is too long: at most {error.limit} characters.")
        return (
            f"⚠️ “{echo(error.item)}” is too long: a word or phrase has at most "
            f"{error.limit} characters."
        )
    template = _TERM_PROBLEMS[error.problem]
    return "⚠️ " + escape(
        template.format(item=" ".join(error.item.split())[:MAX_ECHO], limit=error.limit)
    )


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


def words_lines(result: WordsOutcome) -> list[str]:
    mute = result.kind == "mute"
    done = "🔇 Muted" if mute else "✅ Following"
    lines = [f"{done} <b>{escape(shown)}</b>" for shown in result.added]
    was = "followed" if mute else "muted"
    lines += [
        f"{done} <b>{escape(shown)}</b> (it was {was} until now)" for shown in result.switched
    ]
    already = "Already muted" if mute else "Already following"
    lines += [f"☑️ {already} <b>{escape(shown)}</b>" for shown in result.already]
    if result.over_limit:
        shown = ", ".join(f"“{echo(s)}”" for s in result.over_limit)
        undo = "/unmute" if mute else "/unfollow"
        lines.append(
            f"⚠️ Not {'muted' if mute else 'following'} {shown}: you may have at most "
            f"{result.limit} {'muted' if mute else 'followed'} words. {undo} some first."
        )
    if result.added or result.switched:
        lines.append(
            "Articles containing them are left out of your digests."
            if mute
            else "Your digests now also include articles containing them."
        )
    return lines


def remove_lines(result: RemoveOutcome) -> list[str]:
    mute = result.kind == "mute"
    done = "🔈 Unmuted" if mute else "🗑 Stopped following"
    lines = [f"{done} <b>{escape(shown)}</b>" for shown in result.removed]
    not_yet = "You weren't muting" if mute else "You weren't following"
    lines += [f"{not_yet} “{echo(shown)}”" for shown in result.missing]
    return lines


def words_text(rows: Sequence[tuple[str, bool]], page: int = 0, pages: int = 1) -> str:
    """/subscriptions' list of words: (shown form, muted)."""
    suffix = f" (page {page + 1} of {pages})" if pages > 1 else ""
    followed = [f"• {escape(shown)}" for shown, muted in rows if not muted]
    muted = [f"• {escape(shown)}" for shown, is_muted in rows if is_muted]
    parts = [f"<b>Your words</b>{suffix}"]
    if followed:
        parts += ["Following:", *followed]
    if muted:
        parts += ["Muted:", *muted]
    parts += ["", "Tap a word to stop following or muting it."]
    return "\n".join(parts)


NO_WORDS = "You follow and mute no words."


def word_button(shown: str, muted: bool) -> str:
    return f"✖ {'🔇 ' if muted else ''}{shown}"


def word_removed_notice(shown: str, muted: bool) -> str:
    return f"{'Unmuted' if muted else 'Stopped following'} {_short(shown)}"


SEARCH_MARK = "🔎 "
SEARCH_MORE = "More ▶"
SEARCH_GONE = "That search can no longer be paged; send /search again."
SEARCH_TITLE = 200  # so that ten results always fit one message
SEARCH_SUMMARY = 150


def search_header(query: str) -> str:
    """The first line of a results message: plain text that bot.keyword_handlers reads
    back (after the mark) to turn the page, so the query needs no storage."""
    return SEARCH_MARK + query


def query_of(first_line: str) -> str | None:
    """The query a results message answered, from its first line."""
    return first_line[len(SEARCH_MARK) :] if first_line.startswith(SEARCH_MARK) else None


def no_results(query: str) -> str:
    return f"{escape(search_header(query))}\nNo articles of the last 90 days match."


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def search_text(
    query: str, hits: Sequence[tuple[str, str, str, datetime]], *, first: int, more: bool
) -> str:
    """One page of results, numbered from ``first``: (title, summary, link, date) each."""
    last = first + len(hits) - 1
    lines = [
        escape(search_header(query)),
        f"Results {first}–{last}{'' if more else ' (the last)'}",
    ]
    for number, (title, summary, link, when) in enumerate(hits, start=first):
        lines.append("")
        lines.append(f"{number}. <b>{escape(_cut(title, SEARCH_TITLE))}</b>")
        if summary.strip():
            lines.append(escape(_cut(summary, SEARCH_SUMMARY)))
        lines.append(f'<a href="{escape(link)}">Read</a> · {when:%d %b %Y}')
    return "\n".join(lines)


INLINE_NOTHING = "No articles of the last 90 days match"
_INLINE_HINTS = {
    "empty": "Type words to search the news",
    "too_long": "Too long: at most 200 characters",
    "too_many": "Too many words: at most 10",
    "unbalanced_quotes": "Close the quote to search a phrase",
    "no_words": "Type letters or digits to search",
    "short_prefix": "Put * after at least 3 letters",
}


def inline_hint(problem: str) -> str:
    """The button over an empty inline answer, saying what to type instead."""
    return _INLINE_HINTS.get(problem, _INLINE_HINTS["empty"])


def inline_title(title: str) -> str:
    return _cut(title, 100)


def inline_description(summary: str, published: datetime) -> str:
    return f"{published:%d %b %Y} · {_cut(summary, 120)}"


def shared_article(title: str, summary: str, link: str, published: datetime) -> str:
    """The message an inline result sends into the chat it was picked in."""
    lines = [f"<b>{escape(_cut(title, 300))}</b>"]
    if summary.strip():
        lines.append(escape(_cut(summary, 400)))
    lines.append(f'<a href="{escape(link)}">Read</a> · {published:%d %b %Y}')
    return "\n".join(lines)
