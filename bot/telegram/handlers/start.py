"""/start (with its deep links) and /help, and what the bot says to anything else."""

from __future__ import annotations

from telegram import Update
from telegram.constants import MessageLimit

from bot import texts
from bot.articles import service as articles_service
from bot.delivery.digest import is_story_payload, parse_payload, render_article
from bot.subscriptions import service
from bot.subscriptions.schedule import tzinfo_for
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.common import acts_here, chat_id_of, is_private, reply, subscriber_of
from bot.telegram.handlers.story import show_story
from bot.telegram.keyboards import tag_keyboard

# ---------------------------------------------------------------- start and help


async def start(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    article_id = parse_payload(payload) if payload else None
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        # Their own chat, whichever chat they act for: it is the one they unblocked.
        known = subscriber if acts_here(context) else None
        await service.came_back(session, chat_id_of(update), context.now(), known)
        if article_id is None:
            tags, _ = await service.tag_page(session, subscriber, 0, size=service.START_TAGS)
        else:
            linked = await articles_service.linked(session, article_id)
    message, t = message_of(update), context.t
    if article_id is None and is_story_payload(payload):  # "Show all N reports"
        await show_story(update, context, subscriber, payload)
        return
    if article_id is None:  # plain /start, or a payload that is not an article's
        markup = tag_keyboard(t, tags, chat=subscriber.id, page=None) if tags else None
        await reply(update, context, t._(texts.WELCOME), markup)
        return
    article = linked.article
    if article is None:
        gone = texts.never_an_article(t, article_id) if linked.never else t._(texts.NO_ARTICLE)
        await message.reply_text(gone)
        return
    for part in render_article(
        t,
        title=article.title,
        source=article.source,
        published_at=article.published_at.astimezone(tzinfo_for(subscriber.timezone)),
        tags=linked.tags,
        body=article.body,
        url=article.url,
        limit=MessageLimit.MAX_TEXT_LENGTH,
    ):
        await message.reply_text(part)


async def help_command(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(
        texts.help_text(context.t, context.sender_is_admin(update))
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """In a group a command no handler took may be another bot's: no answer there."""
    if is_private(update):
        await message_of(update).reply_text(context.t._(texts.UNKNOWN_COMMAND))


async def not_understood(update: Update, context: BotContext) -> None:
    if is_private(update):  # people talk to each other in groups
        await message_of(update).reply_text(context.t._(texts.NOT_UNDERSTOOD))
