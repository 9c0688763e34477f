"""/settings, /time, /timezone, /frequency, /pause, /resume and /language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot import texts
from bot.i18n import Translator, translator
from bot.subscriptions.schedule import (
    Frequency,
    ScheduleError,
    parse_digest_time,
    parse_frequency,
    parse_timezone,
    reschedule,
)
from bot.telegram import buttons
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.common import (
    acts_here,
    args_text,
    for_chat,
    pressed,
    reply,
    show,
    subscriber_of,
)
from bot.telegram.keyboards import language_keyboard, layout_keyboard
from storage.models import ChatType, Subscriber

# ---------------------------------------------------------------- settings


async def settings(update: Update, context: BotContext) -> None:
    """The settings name the chat they are of (a group, a linked channel)."""
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
    await message_of(update).reply_text(
        _settings_text(update, context.t, subscriber), reply_markup=_layout(context.t, subscriber)
    )


def _layout(t: Translator, subscriber: Subscriber) -> InlineKeyboardMarkup:
    return layout_keyboard(
        t, show_tags=subscriber.show_tags, compact=subscriber.compact, chat=subscriber.id
    )


async def on_digest_layout(update: Update, context: BotContext) -> None:
    """Under /settings: tags shown or hidden, full or compact layout; the settings are
    redrawn with the buttons that switch back. A double tap sets what is set already."""
    query, button = pressed(update)
    assert isinstance(button, buttons.DigestTags | buttons.DigestLayout)
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        if isinstance(button, buttons.DigestTags):
            subscriber.show_tags = button.on
        else:
            subscriber.compact = button.compact
    await query.answer()
    t = context.t
    text = for_chat(context, t._(texts.SAVED) + "\n\n" + _settings_text(update, t, subscriber))
    await show(query, text, _layout(t, subscriber))


def _settings_text(update: Update, t: Translator, subscriber: Subscriber) -> str:
    chat = update.effective_chat
    return texts.settings_text(
        t,
        digest_time=subscriber.digest_time,
        timezone=subscriber.timezone,
        frequency=Frequency(subscriber.frequency),
        weekday=subscriber.weekday,
        paused=subscriber.paused,
        next_due_at=subscriber.next_due_at,
        chat_title=None if subscriber.chat_type is ChatType.PRIVATE else subscriber.title,
        forum=bool(chat and chat.is_forum),
        thread_id=subscriber.thread_id,
        show_tags=subscriber.show_tags,
        compact=subscriber.compact,
    )


async def _change(update: Update, context: BotContext, **changes: object) -> None:
    """Apply settings changes, recompute the next digest time, and show the settings."""
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
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
    typed = args_text(context)
    if not typed.strip():
        async with context.sessions.begin() as session:
            subscriber = await subscriber_of(session, update, context)
        await reply(update, context, current(context.t, getattr(subscriber, field)))
        return
    try:
        value = parse(typed)
    except ScheduleError as error:
        await reply(update, context, problem(context.t, error))
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
        await reply(update, context, texts.frequency_problem(context.t, words, error))
        return
    await _change(update, context, frequency=frequency, weekday=weekday)


async def pause(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=True)


async def resume(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=False)


# ---------------------------------------------------------------- language


async def language(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
    t = translator(subscriber.language)
    await reply(
        update, context, texts.language_text(t), language_keyboard(t.code, chat=subscriber.id)
    )


async def on_set_language(update: Update, context: BotContext) -> None:
    """Switch the chat's language; the reply and the redrawn buttons are in the new one."""
    query, button = pressed(update)
    assert isinstance(button, buttons.SetLanguage)
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        subscriber.language = button.code
    if context.chat_data is not None and acts_here(context):
        context.chat_data.language = button.code
    t = translator(button.code)
    await query.answer(texts.language_set(t))
    markup = language_keyboard(t.code, chat=button.chat)
    await show(query, for_chat(context, texts.language_text(t)), markup)
