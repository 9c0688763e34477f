"""A story's reports for a reader: the "Show all N reports" button under a digest entry
opens the bot's deep link ``/start s<story id>``, answered here with every report of the
story (headline link, source, time), so that no report grouping put in a story is ever
out of a reader's reach. It works from a private chat, a group or a channel: the button
is a URL, and the answer comes in the reader's private chat with the bot.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import MessageLimit

from bot import texts
from bot.delivery.compose import article_link
from bot.delivery.digest import parse_story_payload
from bot.delivery.entry import cut
from bot.stories import grouping
from bot.subscriptions.schedule import tzinfo_for
from bot.telegram.buttons import MAX_ID
from bot.telegram.context import BotContext, message_of
from storage.models import Subscriber

MAX_TITLE = 300  # characters of a report's headline in the list
MAX_SOURCE = 40


async def show_story(
    update: Update, context: BotContext, subscriber: Subscriber, payload: str
) -> None:
    """Answer ``/start s<id>``: the story's reports, earliest first, or why there are none."""
    t, message = context.t, message_of(update)
    story_id = parse_story_payload(payload)
    if story_id is None:
        await message.reply_text(texts.not_a_story_link(t))
        return
    if story_id > MAX_ID:  # no row can have it: not worth a query
        await message.reply_text(texts.never_a_story(t, story_id))
        return
    async with context.sessions.begin() as session:
        reports, never = await grouping.reports(session, story_id)
    if not reports:
        gone = texts.never_a_story(t, story_id) if never else texts.story_gone(t)
        await message.reply_text(gone)
        return
    zone = tzinfo_for(subscriber.timezone)
    username = context.bot.username
    lines = [texts.story_heading(t, len(reports), cut(reports[0].title.strip(), 100))]
    for report in reports:
        link = article_link(username, report)
        title = escape(cut(" ".join(report.title.split()), MAX_TITLE))
        source = cut(" ".join(report.source.split()), MAX_SOURCE)
        when = t.moment(report.published_at.astimezone(zone))
        lines.append(f'• <a href="{escape(link)}">{title}</a>\n  <i>{escape(source)} · {when}</i>')
    for part in texts.split_lines(lines, MessageLimit.MAX_TEXT_LENGTH):
        await message.reply_text(part)
