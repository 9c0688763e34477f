"""Admin commands for news feeds: /feeds, /feed_add, /feed_remove, /feed_tags,
/feeds_export and .opml uploads. Thin: bot.feeds.service does the work."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot import texts
from bot.feeds import views as feed_views
from bot.feeds.model import FeedProblem, OpmlReport, parse_feed_tags
from bot.feeds.opml import OpmlError
from bot.subscriptions import service
from bot.telegram import buttons
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.admin import admin_only
from bot.telegram.handlers.common import command_text, pressed, show
from bot.telegram.keyboards import feeds_keyboard

logger = logging.getLogger(__name__)

MAX_OPML_BYTES = 1_000_000
OPML_FILE_NAME = "newsbot-feeds.opml"


async def _feeds_view(context: BotContext, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    async with context.sessions() as session:
        views, shown, total = await feed_views.feeds_page(session, page, context.now())
    t = context.t
    text = texts.feeds_text(t, views, shown.number, shown.count, total)
    return text, feeds_keyboard(t, shown.number, shown.count)


@admin_only
async def list_feeds(update: Update, context: BotContext) -> None:
    text, markup = await _feeds_view(context, 0)
    await message_of(update).reply_text(text, reply_markup=markup)


@admin_only
async def on_feeds_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.FeedsPage)
    text, markup = await _feeds_view(context, button.page)
    await query.answer()
    await show(query, text, markup)


@admin_only
async def add_feed(update: Update, context: BotContext) -> None:
    message = message_of(update)
    url, _, tag_text = command_text(update).partition(" ")
    if not url:
        await message.reply_text(texts.feed_add_usage(context.t))
        return
    try:
        tags = parse_feed_tags(tag_text)
        added = await context.state.feeds.add(url, tags)
    except FeedProblem as problem:
        await message.reply_text(texts.feed_not_added(context.t, problem))
        return
    await message.reply_text(texts.feed_added(context.t, added))


@admin_only
async def remove_feed(update: Update, context: BotContext) -> None:
    typed = command_text(update)
    feed_id = service.parse_id(typed)
    if feed_id is None:
        await message_of(update).reply_text(texts.feed_id_problem(context.t, "feed_remove", typed))
        return
    async with context.sessions.begin() as session:
        feed = await feed_views.remove_feed(session, feed_id, context.now())
        title = feed.name or feed.title if feed else ""
    if feed is None:
        await message_of(update).reply_text(texts.no_such_feed(context.t, feed_id))
        return
    await message_of(update).reply_text(texts.feed_removed(context.t, feed_id, title))


@admin_only
async def set_feed_tags(update: Update, context: BotContext) -> None:
    message = message_of(update)
    typed, _, tag_text = command_text(update).partition(" ")
    feed_id = service.parse_id(typed)
    if feed_id is None:
        await message.reply_text(texts.feed_id_problem(context.t, "feed_tags", typed))
        return
    try:
        tags = parse_feed_tags(tag_text)
    except FeedProblem as problem:
        await message.reply_text(texts.feed_tags_problem(context.t, context.t.problem(problem)))
        return
    async with context.sessions.begin() as session:
        feed = await feed_views.set_feed_tags(session, feed_id, tags)
    if feed is None:
        await message.reply_text(texts.no_such_feed(context.t, feed_id))
        return
    await message.reply_text(texts.feed_tags_set(context.t, feed_id, [tag.name for tag in tags]))


@admin_only
async def export_feeds(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        document = await feed_views.export_opml(session)
    await message_of(update).reply_document(
        document, filename=OPML_FILE_NAME, caption=context.t._(texts.FEEDS_EXPORT_CAPTION)
    )


@admin_only
async def import_opml(update: Update, context: BotContext) -> None:
    """An .opml document an admin sent (bot.telegram.app routes .opml files here)."""
    message = message_of(update)
    doc = message.document
    assert doc is not None
    if doc.file_size and doc.file_size > MAX_OPML_BYTES:
        await message.reply_text(texts.file_too_big(context.t, MAX_OPML_BYTES))
        return
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    service = context.state.feeds
    try:
        imported = await service.import_opml(data)
    except OpmlError as error:
        await message.reply_text(texts.not_opml(context.t, error))
        return
    t = context.t
    if not imported.stored:  # nothing to fetch: the summary at once
        await message.reply_text(texts.opml_imported(t, await service.check_import(imported)))
        return
    await message.reply_text(texts.opml_importing(t, len(imported.stored)))
    # The fetches run on their own: this chat's next update (a /feeds, say) is handled
    # now, not after them; the summary comes as a message of its own.
    bot, chat_id = context.bot, message.chat_id

    async def report(done: OpmlReport) -> None:
        try:
            await bot.send_message(chat_id, texts.opml_imported(t, done))
        except TelegramError as error:
            logger.warning("could not send the OPML import summary to %s: %s", chat_id, error)

    service.check_in_background(imported, report)
