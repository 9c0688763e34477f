"""What the bot says. Pure functions returning Telegram HTML; all outside text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class SubscribeResult:
    subscribed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    without_articles: list[str] = field(default_factory=list)
    suggestions: dict[str, list[str]] = field(default_factory=dict)
    too_long: list[str] = field(default_factory=list)


def subscribe_reply(result: SubscribeResult) -> str:
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
        choices = " or ".join(f"<b>{escape(o)}</b>" for o in options)
        lines.append(f"❓ I don't know the tag “{escape(typed)}”. Did you mean {choices}?")
    lines += [f"⚠️ “{escape(name[:60])}…” is too long for a tag" for name in result.too_long]
    return "\n".join(lines)


def unsubscribe_reply(removed: Sequence[str], missing: Sequence[str]) -> str:
    lines = [f"🗑 Unsubscribed from <b>{escape(name)}</b>" for name in removed]
    lines += [f"You weren't subscribed to “{escape(name)}”" for name in missing]
    return "\n".join(lines)


def subscriptions_text(names: Sequence[str]) -> str:
    if not names:
        return NO_SUBSCRIPTIONS
    listed = "\n".join(f"• {escape(name)}" for name in names)
    return f"<b>Your tags</b>\n{listed}\n\nTap a tag to unsubscribe."


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


def article_list(rows: Sequence[tuple[int, str, datetime]]) -> str:
    if not rows:
        return "No articles yet. Add one with /add."
    lines = [f"<code>{i}</code> {escape(title)} · {added:%d %b}" for i, title, added in rows]
    return "<b>Latest articles</b>\n" + "\n".join(lines)


# ---- digests


def digest_header(count: int) -> str:
    """The first line of a digest (plain text: the renderer escapes and bolds it)."""
    return f"📰 Your digest: {count} new {'article' if count == 1 else 'articles'}"


def more_waiting(remaining: int, *, manual: bool) -> str:
    """The last line of a digest that had more articles than fit (plain text)."""
    noun = "article" if remaining == 1 else "articles"
    hint = "send /digest for more now" if manual else "they come in your next digest"
    return f"+{remaining} more {noun} waiting; {hint}"
