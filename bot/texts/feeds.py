"""Feeds: /feeds, /feed_add, /feed_remove, /feed_tags, OPML."""

from __future__ import annotations

from collections.abc import Sequence

from bot.articles.plaintext import shorten
from bot.feeds.model import FeedAdded, OpmlReport
from bot.feeds.parse import MAX_ENTRIES
from bot.feeds.policy import FeedStatus, FeedView
from bot.i18n import N_, Translator
from bot.texts.common import MAX_ECHO, bold, echo, usage

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
    shown = shorten(typed, MAX_ECHO, fold=True)
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


def feed_added(t: Translator, feed: FeedAdded) -> str:
    entries, added = feed.entries, feed.added
    lines = [
        t._("✅ Feed {id} added: {title}", id=feed.feed_id, title=bold(feed.title, FEED_TITLE)),
        t.ngettext(
            "{count} entry found", "{count} entries found", entries, count=t.number(entries)
        )
        + ", "
        + t.ngettext(
            "{count} new article.", "{count} new articles.", added, count=t.number(added)
        ),
    ]
    if feed.dropped:
        lines.append(dropped_entries(t, feed.dropped))
    lines.append(
        t._("Tags: {tags}", tags=echo(", ".join(feed.tags), FEED_TAGS))
        if feed.tags
        else t._("Tags: none (entry categories only)")
    )
    if feed.skipped:
        lines.append(
            t.ngettext(
                "{n} entry skipped (no title and no text).",
                "{n} entries skipped (no title and no text).",
                len(feed.skipped),
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


def _status(t: Translator, feed: FeedView) -> str:
    if feed.status is FeedStatus.OK:
        return t._("✅ ok")
    if feed.status is FeedStatus.NEW:
        return t._("⏳ not polled yet")
    error = echo(feed.error or "", FEED_ERROR)
    if feed.status is FeedStatus.BROKEN:
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


def feeds_text(t: Translator, feeds: Sequence[FeedView], page: int, pages: int, total: int) -> str:
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


def _notes(t: Translator, feed: FeedView) -> list[str]:
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


def opml_imported(t: Translator, report: OpmlReport) -> str:
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
