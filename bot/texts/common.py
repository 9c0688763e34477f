"""What every feature says alike: the commands, /start and /help, refusals, buttons' notices."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple

from bot.articles.plaintext import shorten
from bot.i18n import N_, Msg, Translator
from bot.telegram.lengths import utf16_len
from bot.words.keywords import SEARCH_DAYS


class Command(NamedTuple):
    """A command of the menu and /help; ``admin``: for the bot's admins only."""

    name: str
    about: Msg
    admin: bool = False


def _admin(name: str, about: Msg) -> Command:
    return Command(name, about, admin=True)


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("What this bot does")),
    Command("help", N_("Every command, one line each")),
    Command("subscribe", N_("Follow tags: /subscribe negotiations, economy")),
    Command("unsubscribe", N_("Stop following tags")),
    Command("subscriptions", N_("Your tags, with buttons to unsubscribe")),
    Command("tags", N_("Popular tags; tap to follow or unfollow")),
    Command("follow", N_('Follow words in any article: /follow ukraine "peace talks" negotiat*')),
    Command("unfollow", N_("Stop following words")),
    Command("mute", N_("Never get articles with these words: /mute football")),
    Command("unmute", N_("Stop muting words")),
    Command("search", N_("Search the last {days} days: /search peace talks")),
    Command("digest", N_("Your digest now: what is new since the last one")),
    Command("settings", N_("Your delivery time, timezone, frequency and language")),
    Command("time", N_("Digest time, e.g. /time 07:30")),
    Command("timezone", N_("Your timezone, e.g. /timezone Europe/Kyiv or UTC+03:00")),
    Command("frequency", N_("daily, or weekly with a day: /frequency weekly mon")),
    Command("language", N_("The language I speak to you in")),
    Command("channel", N_("Set up a channel's digest: /channel @name")),
    Command("channels", N_("The channels you set up; pick the one your commands act for")),
    Command("pause", N_("Stop scheduled digests for now")),
    Command("resume", N_("Start scheduled digests again")),
    Command("privacy", N_("What I store about this chat, and for how long")),
    Command("mydata", N_("Everything I store about this chat, as a file")),
    Command("forget", N_("Delete everything I store about this chat")),
    _admin("add", N_("Add an article: /add + the article text, or send a .txt file")),
    _admin("delete", N_("Delete an article: /delete 42")),
    _admin("undelete", N_("Bring back a deleted article: /undelete 42")),
    _admin("deleted", N_("The articles admins deleted, with their ids")),
    _admin("articles", N_("The latest articles with their ids")),
    _admin("stats", N_("Counts of articles, tags, subscribers and digests")),
    _admin("story", N_("An article's story, its articles from every source: /story 42")),
    _admin("split", N_("Take an article out of its story: /split 42")),
    _admin("merge", N_("Join the stories of two articles: /merge 42 57")),
    _admin("feeds", N_("News feeds polled for articles, with their status")),
    _admin("feed_add", N_("Add a feed: /feed_add https://example.com/rss economy, Europe")),
    _admin("feed_remove", N_("Stop polling a feed: /feed_remove 3 (its articles stay)")),
    _admin("feed_tags", N_("Replace a feed's tags: /feed_tags 3 economy, Europe")),
    _admin("feeds_export", N_("The feeds as an OPML file; send an .opml file to import one")),
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
    lines += [f"/{name} — {escape(about)}" for name, about in menu(t)]
    if is_admin:
        lines += ["", t._("<b>Admin</b>")]
        lines += [f"/{name} — {escape(about)}" for name, about in _said(t, admin=True)]
    return "\n".join(lines)


def menu(t: Translator, *, admin: bool = False) -> list[tuple[str, str]]:
    """The command menu in ``t``'s language (setMyCommands); with ``admin``, the admins'
    commands after everyone's."""
    return _said(t, admin=False) + (_said(t, admin=True) if admin else [])


def _said(t: Translator, *, admin: bool) -> list[tuple[str, str]]:
    """Everyone's commands, or the admins' only, in ``t``'s language."""
    return [(c.name, t._(c.about, days=SEARCH_DAYS)) for c in COMMANDS if c.admin == admin]


def bold(text: str, limit: int | None = None) -> str:
    """Outside text in bold, escaped (and shortened to ``limit``, when given)."""
    return f"<b>{escape(text) if limit is None else echo(text, limit)}</b>"


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def usage(t: Translator, command: str, example: str, problem: str = "") -> str:
    """A usage line; ``problem`` (plain text, already in ``t``'s language) goes first."""
    prefix = f"{escape(problem)}\n" if problem else ""
    return prefix + t._("Usage: {example}", example=code(f"/{command} {example}"))


# ---- the flood throttle

SLOW_DOWN = N_(
    "You are sending messages faster than I can answer; I'll skip the next ones for a few seconds."
)
TOO_FAST = N_("Too fast, try again in a moment.")


# ---- buttons

CANCEL_BUTTON = N_("Cancel")  # under a question: do nothing
PREVIOUS = N_("◀ Previous")
NEXT = N_("Next ▶")
BUTTON_INVALID = N_("This button is no longer valid.")


# ---- what people typed, quoted back

MAX_ECHO = 60  # how much of what someone typed is quoted back


def echo(typed: str, limit: int = MAX_ECHO) -> str:
    """What someone typed, quoted back safely: shortened, then escaped."""
    return escape(shorten(typed, limit, fold=True))


# ---- presses of every other shape the Bot API allows (each a short notice, at most 200)

EMPTY_PRESS = N_("This button carries nothing to do.")
FOREIGN_PRESS = N_("This button is not one of mine, so it does nothing here.")
INLINE_PRESS = N_("Buttons work in a chat with me, not under shared messages.")
GAME_PRESS = N_("I have no games.")
CHAT_GONE_PRESS = N_("This button is of a chat I no longer serve. Send /start to begin again.")


def input_problem(t: Translator, error: BaseException) -> str:
    return t._("Sorry, I can't use that: {problem}", problem=echo(t.problem(error), 2 * MAX_ECHO))


def split_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into as few messages as fit ``limit`` (counted on the HTML, which is
    never shorter than what Telegram counts); a line is never cut."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = utf16_len(line)
        if current and size + 1 + length > limit:
            messages.append("\n".join(current))
            current, size = [], 0
        size += length + (1 if current else 0)
        current.append(line)
    if current:
        messages.append("\n".join(current))
    return messages


NOTICE_NAME = 150  # a button's notice holds at most 200 characters


def short_name(name: str) -> str:
    return shorten(name, NOTICE_NAME)


def quoted(names: Sequence[str]) -> str:
    return ", ".join(f"“{echo(n)}”" for n in names)


def page_suffix(t: Translator, page: int, pages: int) -> str:
    return t._(" (page {page} of {pages})", page=page + 1, pages=pages) if pages > 1 else ""
