"""Subscriber commands and buttons. Each handler: read the input, call one use case, reply.

Registration is in `bot.app`; callback data is decoded by `bot.buttons`, and each kind of
button has its own handler here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot import buttons, service, texts
from bot.buttons import Button
from bot.chats import chat_type_of
from bot.compose import compose_digest
from bot.context import BotContext, message_of
from bot.digest import parse_payload, render_article
from bot.i18n import Translator, translator
from bot.keyboards import (
    language_keyboard,
    subscriptions_keyboard,
    suggestions_keyboard,
    tag_keyboard,
)
from bot.schedule import (
    ScheduleError,
    parse_digest_time,
    parse_frequency,
    parse_timezone,
    reschedule,
    tzinfo_for,
)
from bot.send import send_digest
from bot.tags import Tag, split_tag_list
from storage import keywords as words_repo
from storage import repo
from storage.models import ChatType, DigestKind, Subscriber

logger = logging.getLogger(__name__)

MAX_TAGS_PER_COMMAND = 20


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def _subscriber(session: AsyncSession, update: Update, context: BotContext) -> Subscriber:
    """The row of the chat the command acts for (this chat, or the channel a person
    linked and selected), created with the default schedule on first contact."""
    acting = context.acting
    if acting is None or acting.here:
        chat = update.effective_chat
        assert chat is not None
        known = context.chat_data.language if context.chat_data is not None else None
        return await service.ensure_subscriber(
            session,
            chat.id,
            context.settings,
            context.now(),
            language=known,
            chat_type=chat_type_of(chat),
            title=chat.title,
        )
    return await service.ensure_subscriber(
        session,
        acting.chat_id,
        context.settings,
        context.now(),
        chat_type=acting.chat_type,
        title=acting.title,
    )


def _args_text(context: BotContext) -> str:
    return " ".join(context.args or [])


async def reply_lines(
    update: Update, lines: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    """Lines as few messages as fit Telegram's limit; the buttons go under the last."""
    parts = texts.split_lines(lines, MessageLimit.MAX_TEXT_LENGTH)
    for number, part in enumerate(parts, start=1):
        await message_of(update).reply_text(
            part, reply_markup=markup if number == len(parts) else None
        )


def pressed(update: Update) -> tuple[CallbackQuery, Button]:
    """The pressed button; its handler was chosen because the data decodes (bot.app)."""
    query = update.callback_query
    assert query is not None
    button = buttons.decode(query.data)
    assert button is not None
    return query, button


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Redraw the pressed message; a double tap that changes nothing is fine."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message:
            raise


# ---------------------------------------------------------------- start and help


async def start(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    article_id = parse_payload(payload) if payload else None
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        if subscriber.blocked:  # they came back: deliver again
            subscriber.blocked = False
            reschedule(subscriber, context.now())
        if article_id is None:
            tags, _ = await service.tag_page(session, subscriber, 0, size=service.START_TAGS)
        else:
            article = await service.article(session, article_id)
            if article is not None and article.deleted_at is not None:
                article = None  # deleted by an admin: "no longer available"
            never = article is None and article_id > await repo.last_article_id(session)
            tags_of = await repo.tags_of_articles(session, [article.id]) if article else {}
    message, t = message_of(update), context.t
    if article_id is None:  # plain /start, or a payload that is not an article's
        markup = tag_keyboard(t, tags, page=None) if tags else None
        await message.reply_text(t._(texts.WELCOME), reply_markup=markup)
        return
    if article is None:
        gone = texts.never_an_article(t, article_id) if never else t._(texts.NO_ARTICLE)
        await message.reply_text(gone)
        return
    for part in render_article(
        t,
        title=article.title,
        source=article.source,
        published_at=article.published_at.astimezone(tzinfo_for(subscriber.timezone)),
        tags=tags_of[article.id],
        body=article.body,
        url=article.url,
        limit=MessageLimit.MAX_TEXT_LENGTH,
    ):
        await message.reply_text(part)


async def help_command(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(
        texts.help_text(context.t, context.sender_is_admin(update))
    )


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == Chat.PRIVATE


async def unknown_command(update: Update, context: BotContext) -> None:
    """In a group a command no handler took may be another bot's: no answer there."""
    if _private(update):
        await message_of(update).reply_text(context.t._(texts.UNKNOWN_COMMAND))


async def not_understood(update: Update, context: BotContext) -> None:
    if _private(update):  # people talk to each other in groups
        await message_of(update).reply_text(context.t._(texts.NOT_UNDERSTOOD))


# ---------------------------------------------------------------- tags


async def _typed_tags(update: Update, context: BotContext, usage: str) -> list[Tag] | None:
    """The tags after the command, or None once the user was told what is wrong."""
    tags = split_tag_list(_args_text(context))
    if not tags:
        await message_of(update).reply_text(usage)
        return None
    if len(tags) > MAX_TAGS_PER_COMMAND:
        await message_of(update).reply_text(
            texts.too_many_tags(context.t, len(tags), MAX_TAGS_PER_COMMAND)
        )
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
        subscriber = await _subscriber(session, update, context)
        if follow:
            added = await service.subscribe(session, subscriber, tags, context.now())
            lines, suggestions = texts.subscribe_lines(t, added), added.suggestions
        else:
            removed = await service.unsubscribe(session, subscriber, tags)
            lines, suggestions = texts.unsubscribe_lines(t, removed), removed.suggestions
    options = [o for found in suggestions.values() for o in found]
    await reply_lines(update, lines, suggestions_keyboard(t, options, follow=follow))


async def _subscriptions_view(
    t: Translator, session: AsyncSession, subscriber: Subscriber, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    view = await service.subscriptions_page(session, subscriber, page)
    markup = (
        subscriptions_keyboard(t, view.tags, page=view.page, pages=view.pages)
        if view.tags
        else None
    )
    names = [tag.name for tag in view.tags]
    return texts.subscriptions_text(t, names, view.page, view.pages), markup


async def tags(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        found, pages = await service.tag_page(session, subscriber, 0)
    if not found:
        await message_of(update).reply_text(context.t._(texts.NO_TAGS))
        return
    await message_of(update).reply_text(
        texts.tags_text(context.t, 0, pages),
        reply_markup=tag_keyboard(context.t, found, page=0, pages=pages),
    )


async def on_toggle(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.ToggleTag)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
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
        await show(query, t._(texts.WELCOME), tag_keyboard(t, found, page=None))
    else:
        await _show_tag_page(t, query, found, button.page, pages)


async def on_tags_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.TagsPage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        found, pages = await service.tag_page(session, subscriber, button.page)
    await query.answer()
    if not found:
        await show(query, context.t._(texts.NO_TAGS), None)
        return
    await _show_tag_page(context.t, query, found, button.page, pages)


async def _show_tag_page(
    t: Translator,
    query: CallbackQuery,
    found: Sequence[service.TagButton],
    wanted: int,
    pages: int,
) -> None:
    """Redraw a /tags page: ``wanted``, or the last one when the list got shorter."""
    page = min(wanted, pages - 1)
    await show(
        query, texts.tags_text(t, page, pages), tag_keyboard(t, found, page=page, pages=pages)
    )


async def on_unsubscribe(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.Unsubscribe)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        gone = await service.unfollow(session, subscriber, button.tag_id)
        text, markup = await _subscriptions_view(context.t, session, subscriber, button.page)
    await query.answer(texts.unsubscribed_notice(context.t, gone.name) if gone else None)
    await show(query, text, markup)


async def on_subscriptions_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.SubscriptionsPage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        text, markup = await _subscriptions_view(context.t, session, subscriber, button.page)
    await query.answer()
    await show(query, text, markup)


async def on_subscribe_suggested(update: Update, context: BotContext) -> None:
    await _on_suggested(update, context, follow=True)


async def on_unsubscribe_suggested(update: Update, context: BotContext) -> None:
    await _on_suggested(update, context, follow=False)


async def _on_suggested(update: Update, context: BotContext, *, follow: bool) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.SubscribeSuggested | buttons.UnsubscribeSuggested)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
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
        await message_of(update).reply_text(texts.subscribed_line(t, tag.name))
    else:
        await query.answer(texts.unsubscribed_notice(t, tag.name))
        await message_of(update).reply_text(texts.unsubscribed_line(t, tag.name))


async def on_stale_button(update: Update, context: BotContext) -> None:
    """Data no handler above decodes: forged, or from a version of the bot long gone."""
    assert update.callback_query is not None
    await update.callback_query.answer(context.t._(texts.BUTTON_INVALID))


# ---------------------------------------------------------------- digest


async def digest(update: Update, context: BotContext) -> None:
    now = context.now()
    chat_id = _chat_id(update)
    async with context.sessions.begin() as session:
        # Lock the row so a scheduled digest composed at this moment cannot pick the
        # same articles (PostgreSQL; SQLite serializes writers anyway).
        subscriber = await repo.get_subscriber(
            session, chat_id, for_update=True
        ) or await _subscriber(session, update, context)
        outbound = await compose_digest(
            session,
            subscriber,
            settings=context.settings,
            now=now,
            kind=DigestKind.MANUAL,
            bot_username=context.bot.username,
        )
        has_tags = (
            outbound is not None
            or bool(await repo.subscribed_tags(session, subscriber.id))
            or bool(await words_repo.subscriber_words(session, subscriber.id))
        )
    if outbound is None:
        await message_of(update).reply_text(
            context.t._(texts.NOTHING_NEW if has_tags else texts.NO_SUBSCRIPTIONS)
        )
        return
    await send_digest(
        context.bot,
        context.sessions,
        outbound,
        clock=context.state.clock,
        policy=context.state.retry_policy,
    )


# ---------------------------------------------------------------- settings


async def settings(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
    await message_of(update).reply_text(_settings_text(update, context.t, subscriber))


def _settings_text(update: Update, t: Translator, subscriber: Subscriber) -> str:
    chat = update.effective_chat
    return texts.settings_text(
        t,
        digest_time=subscriber.digest_time,
        timezone=subscriber.timezone,
        frequency=subscriber.frequency,
        weekday=subscriber.weekday,
        paused=subscriber.paused,
        next_due_at=subscriber.next_due_at,
        chat_title=None if subscriber.chat_type is ChatType.PRIVATE else subscriber.title,
        forum=bool(chat and chat.is_forum),
        thread_id=subscriber.thread_id,
    )


async def _change(update: Update, context: BotContext, **changes: object) -> None:
    """Apply settings changes, recompute the next digest time, and show the settings."""
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        for name, value in changes.items():
            setattr(subscriber, name, value)
        reschedule(subscriber, context.now())
    t = context.t
    await message_of(update).reply_text(
        t._(texts.SAVED) + "\n\n" + _settings_text(update, t, subscriber)
    )


async def _show_or_set(
    update: Update,
    context: BotContext,
    field: str,
    parse: Callable[[str], object],
    current: Callable[[Translator, Any], str],
    problem: Callable[[Translator, ScheduleError], str],
) -> None:
    """Without arguments show the subscriber's ``field``; otherwise parse it and save it."""
    typed = _args_text(context)
    if not typed.strip():
        async with context.sessions.begin() as session:
            subscriber = await _subscriber(session, update, context)
        await message_of(update).reply_text(current(context.t, getattr(subscriber, field)))
        return
    try:
        value = parse(typed)
    except ScheduleError as error:
        await message_of(update).reply_text(problem(context.t, error))
        return
    await _change(update, context, **{field: value})


def _timezone_problem(t: Translator, error: ScheduleError) -> str:
    return texts.timezone_problem(t, error, error.suggestions)


async def set_time(update: Update, context: BotContext) -> None:
    await _show_or_set(
        update, context, "digest_time", parse_digest_time, texts.current_time, texts.time_problem
    )


async def set_timezone(update: Update, context: BotContext) -> None:
    await _show_or_set(
        update, context, "timezone", parse_timezone, texts.current_timezone, _timezone_problem
    )


async def set_frequency(update: Update, context: BotContext) -> None:
    words = [a.casefold() for a in context.args or []]
    try:
        frequency, weekday = parse_frequency(words)
    except ScheduleError as error:
        await message_of(update).reply_text(texts.frequency_problem(context.t, words, error))
        return
    await _change(update, context, frequency=frequency, weekday=weekday)


async def pause(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=True)


async def resume(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=False)


# ---------------------------------------------------------------- language


async def language(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
    t = translator(subscriber.language)
    await message_of(update).reply_text(
        texts.language_text(t), reply_markup=language_keyboard(t.code)
    )


async def on_set_language(update: Update, context: BotContext) -> None:
    """Switch the chat's language; the reply and the redrawn buttons are in the new one."""
    query, button = pressed(update)
    assert isinstance(button, buttons.SetLanguage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        subscriber.language = button.code
    here = context.acting is None or context.acting.here
    if context.chat_data is not None and here:
        context.chat_data.language = button.code
    t = translator(button.code)
    await query.answer(texts.language_set(t))
    await show(query, texts.language_text(t), language_keyboard(t.code))
