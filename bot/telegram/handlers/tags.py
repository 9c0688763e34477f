"""Tags: /subscribe, /unsubscribe, /tags and their buttons."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Update

from bot import texts
from bot.articles.tags import split_tag_list
from bot.i18n import Translator
from bot.subscriptions import service
from bot.subscriptions.model import TagButton
from bot.telegram import buttons
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import (
    MAX_TAGS_PER_COMMAND,
    args_text,
    for_chat,
    pressed,
    redraw,
    reply,
    reply_lines,
    show,
    subscriber_of,
)
from bot.telegram.keyboards import (
    subscriptions_keyboard,
    suggestions_keyboard,
    tag_keyboard,
)
from storage.models import Subscriber
from storage.records import Tag

# ---------------------------------------------------------------- tags


async def _typed_tags(update: Update, context: BotContext, usage: str) -> list[Tag] | None:
    """The tags after the command, or None once the user was told what is wrong."""
    tags = split_tag_list(args_text(context))
    if not tags:
        await reply(update, context, usage)
        return None
    if len(tags) > MAX_TAGS_PER_COMMAND:
        too_many = texts.too_many_tags(context.t, len(tags), limit=MAX_TAGS_PER_COMMAND)
        await reply(update, context, too_many)
        return None
    return tags


async def subscribe(update: Update, context: BotContext) -> None:
    await _subscribe_typed(update, context, follow=True)


async def unsubscribe(update: Update, context: BotContext) -> None:
    await _subscribe_typed(update, context, follow=False)


async def _subscribe_typed(update: Update, context: BotContext, *, follow: bool) -> None:
    """/subscribe or /unsubscribe: the outcome per typed tag, with buttons for near misses."""
    t = context.t
    usage = texts.subscribe_usage(t) if follow else texts.unsubscribe_usage(t)
    tags = await _typed_tags(update, context, usage)
    if tags is None:
        return
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        if follow:
            added = await service.subscribe(session, subscriber, tags, context.now())
            lines, suggestions = texts.subscribe_lines(t, added), added.suggestions
        else:
            removed = await service.unsubscribe(session, subscriber, tags)
            lines, suggestions = texts.unsubscribe_lines(t, removed), removed.suggestions
    options = [o for found in suggestions.values() for o in found]
    markup = suggestions_keyboard(t, options, chat=subscriber.id, follow=follow)
    await reply_lines(update, context, lines, markup)


async def subscriptions_view(
    t: Translator, session: AsyncSession, subscriber: Subscriber, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    view = await service.subscriptions_page(session, subscriber, page)
    markup = (
        subscriptions_keyboard(t, view.tags, chat=subscriber.id, page=view.page, pages=view.pages)
        if view.tags
        else None
    )
    names = [tag.name for tag in view.tags]
    return texts.subscriptions_text(t, names, view.page, view.pages), markup


async def tags(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        found, pages = await service.tag_page(session, subscriber, 0)
    if not found:
        await reply(update, context, context.t._(texts.NO_TAGS))
        return
    await reply(
        update,
        context,
        texts.tags_text(context.t, 0, pages),
        tag_keyboard(context.t, found, chat=subscriber.id, page=0, pages=pages),
    )


async def on_toggle(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.ToggleTag)
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        toggled = await service.toggle(session, subscriber, button.tag_id, context.now())
        size = service.START_TAGS if button.page is None else service.TAGS_PAGE_SIZE
        found, pages = await service.tag_page(session, subscriber, button.page or 0, size=size)
    t = context.t
    if toggled is None:
        await query.answer(t._(texts.BUTTON_INVALID))
        return
    tag, on = toggled
    await query.answer(
        texts.subscribed_notice(t, tag.name) if on else texts.unsubscribed_notice(t, tag.name)
    )
    if button.page is None:
        markup = tag_keyboard(t, found, chat=button.chat, page=None)
        await show(query, for_chat(context, t._(texts.WELCOME)), markup)
    else:
        await _show_tag_page(context, query, found, button.page, pages, button.chat)


async def on_tags_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.TagsPage)
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        found, pages = await service.tag_page(session, subscriber, button.page)
    await query.answer()
    if not found:
        await show(query, for_chat(context, context.t._(texts.NO_TAGS)), None)
        return
    await _show_tag_page(context, query, found, button.page, pages, button.chat)


async def _show_tag_page(
    context: BotContext,
    query: CallbackQuery,
    found: Sequence[TagButton],
    wanted: int,
    pages: int,
    chat: int,
) -> None:
    """Redraw a /tags page: ``wanted``, or the last one when the list got shorter."""
    t, page = context.t, min(wanted, pages - 1)
    markup = tag_keyboard(t, found, chat=chat, page=page, pages=pages)
    await show(query, for_chat(context, texts.tags_text(t, page, pages)), markup)


async def on_unsubscribe(update: Update, context: BotContext) -> None:
    _, button = pressed(update)
    assert isinstance(button, buttons.Unsubscribe)

    async def remove(session: AsyncSession, subscriber: Subscriber) -> str | None:
        gone = await service.unfollow(session, subscriber, button.item)
        return texts.unsubscribed_notice(context.t, gone.name) if gone else None

    await redraw(update, context, subscriptions_view, button.page, remove)


async def on_subscriptions_page(update: Update, context: BotContext) -> None:
    _, button = pressed(update)
    assert isinstance(button, buttons.SubscriptionsPage)
    await redraw(update, context, subscriptions_view, button.page)


async def on_subscribe_suggested(update: Update, context: BotContext) -> None:
    await _on_suggested(update, context, follow=True)


async def on_unsubscribe_suggested(update: Update, context: BotContext) -> None:
    await _on_suggested(update, context, follow=False)


async def _on_suggested(update: Update, context: BotContext, *, follow: bool) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.SubscribeSuggested | buttons.UnsubscribeSuggested)
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        if follow:
            tag = await service.follow(session, subscriber, button.tag_id, context.now())
        else:
            tag = await service.unfollow(session, subscriber, button.tag_id)
    t = context.t
    if tag is None:
        await query.answer(t._(texts.BUTTON_INVALID))
        return
    if follow:
        await query.answer(texts.subscribed_notice(t, tag.name))
        await reply(update, context, texts.subscribed_line(t, tag.name))
    else:
        await query.answer(texts.unsubscribed_notice(t, tag.name))
        await reply(update, context, texts.unsubscribed_line(t, tag.name))
