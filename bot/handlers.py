"""Subscriber commands and buttons. Each handler: read the input, call one use case, reply.

Registration is in `bot.app`; callback data is decoded by `bot.buttons`, and each kind of
button has its own handler here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot import buttons, service, texts
from bot.buttons import Button
from bot.chats import chat_type_of
from bot.compose import Outbound, compose_digest
from bot.context import BotContext, message_of
from bot.digest import is_story_payload, parse_payload, render_article
from bot.i18n import Translator, choose, translator
from bot.keyboards import (
    language_keyboard,
    layout_keyboard,
    post_digest_keyboard,
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
from bot.send import SendResult, send_digest
from bot.story_handlers import show_story
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


def _elsewhere(context: BotContext) -> str | None:
    """The name of the chat the update acts for when it is not the chat it came from (a
    channel linked from a private chat), else None."""
    acting = context.acting
    if acting is None or acting.here:
        return None
    return texts.chat_name(context.t, acting.title, acting.chat_id)


def for_chat(context: BotContext, text: str) -> str:
    """``text``, headed by the chat it is about when that is not the chat it is said in:
    a person acting for a linked channel always sees which chat a reply is about."""
    name = _elsewhere(context)
    return text if name is None else texts.acting_header(context.t, name) + "\n" + text


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Answer a command that acts for a chat (see `for_chat`)."""
    await message_of(update).reply_text(for_chat(context, text), reply_markup=markup)


async def reply_lines(
    update: Update,
    context: BotContext,
    lines: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Lines as few messages as fit Telegram's limit; the buttons go under the last."""
    name = _elsewhere(context)
    if name is not None:
        lines = [texts.acting_header(context.t, name), *lines]
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
        # Their own chat, whichever chat they act for: it is the one they unblocked.
        own = (
            subscriber if _here(context) else await repo.get_subscriber(session, _chat_id(update))
        )
        if own is not None and own.blocked:  # they came back: deliver again
            own.blocked = False
            reschedule(own, context.now())
        if article_id is None:
            tags, _ = await service.tag_page(session, subscriber, 0, size=service.START_TAGS)
        else:
            article = await service.article(session, article_id)
            if article is not None and article.deleted_at is not None:
                article = None  # deleted by an admin: "no longer available"
            never = article is None and article_id > await repo.last_article_id(session)
            tags_of = await repo.tags_of_articles(session, [article.id]) if article else {}
    message, t = message_of(update), context.t
    if article_id is None and is_story_payload(payload):  # "Show all N reports"
        await show_story(update, context, subscriber, payload)
        return
    if article_id is None:  # plain /start, or a payload that is not an article's
        markup = tag_keyboard(t, tags, chat=subscriber.id, page=None) if tags else None
        await reply(update, context, t._(texts.WELCOME), markup)
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


def _here(context: BotContext) -> bool:
    """Whether the update acts for the chat it came from (not a linked channel)."""
    return context.acting is None or context.acting.here


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
        await reply(update, context, usage)
        return None
    if len(tags) > MAX_TAGS_PER_COMMAND:
        too_many = texts.too_many_tags(context.t, len(tags), MAX_TAGS_PER_COMMAND)
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
        subscriber = await _subscriber(session, update, context)
        if follow:
            added = await service.subscribe(session, subscriber, tags, context.now())
            lines, suggestions = texts.subscribe_lines(t, added), added.suggestions
        else:
            removed = await service.unsubscribe(session, subscriber, tags)
            lines, suggestions = texts.unsubscribe_lines(t, removed), removed.suggestions
    options = [o for found in suggestions.values() for o in found]
    markup = suggestions_keyboard(t, options, chat=subscriber.id, follow=follow)
    await reply_lines(update, context, lines, markup)


async def _subscriptions_view(
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
        subscriber = await _subscriber(session, update, context)
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
        markup = tag_keyboard(t, found, chat=button.chat, page=None)
        await show(query, for_chat(context, t._(texts.WELCOME)), markup)
    else:
        await _show_tag_page(context, query, found, button.page, pages, button.chat)


async def on_tags_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.TagsPage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        found, pages = await service.tag_page(session, subscriber, button.page)
    await query.answer()
    if not found:
        await show(query, for_chat(context, context.t._(texts.NO_TAGS)), None)
        return
    await _show_tag_page(context, query, found, button.page, pages, button.chat)


async def _show_tag_page(
    context: BotContext,
    query: CallbackQuery,
    found: Sequence[service.TagButton],
    wanted: int,
    pages: int,
    chat: int,
) -> None:
    """Redraw a /tags page: ``wanted``, or the last one when the list got shorter."""
    t, page = context.t, min(wanted, pages - 1)
    markup = tag_keyboard(t, found, chat=chat, page=page, pages=pages)
    await show(query, for_chat(context, texts.tags_text(t, page, pages)), markup)


async def on_unsubscribe(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.Unsubscribe)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        gone = await service.unfollow(session, subscriber, button.tag_id)
        text, markup = await _subscriptions_view(context.t, session, subscriber, button.page)
    await query.answer(texts.unsubscribed_notice(context.t, gone.name) if gone else None)
    await show(query, for_chat(context, text), markup)


async def on_subscriptions_page(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.SubscriptionsPage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        text, markup = await _subscriptions_view(context.t, session, subscriber, button.page)
    await query.answer()
    await show(query, for_chat(context, text), markup)


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
        await reply(update, context, texts.subscribed_line(t, tag.name))
    else:
        await query.answer(texts.unsubscribed_notice(t, tag.name))
        await reply(update, context, texts.unsubscribed_line(t, tag.name))


async def on_odd_press(update: Update, context: BotContext) -> None:
    """A press no handler above took: every shape the Bot API allows gets its own answer,
    and the button stops spinning."""
    query = update.callback_query
    assert query is not None
    t = press_translator(update, context)
    if query.game_short_name:
        said = texts.GAME_PRESS
    elif query.message is None:  # under a message sent in inline mode
        said = texts.INLINE_PRESS
    elif not query.data:
        said = texts.EMPTY_PRESS
    elif buttons.is_ours(query.data):  # forged, or from a version of the bot long gone
        said = texts.BUTTON_INVALID
    else:
        said = texts.FOREIGN_PRESS
    await query.answer(t._(said))


def press_translator(update: Update, context: BotContext) -> Translator:
    """The language to answer a press in: its chat's, else (a press under a message sent
    in inline mode has no chat) the presser's private chat's, else their Telegram's."""
    if context.chat_data is not None and context.chat_data.language:
        return context.t
    user = update.effective_user
    if user is None:
        return context.t
    known = context.application.chat_data.get(user.id)
    if known is not None and known.language:
        return translator(known.language)
    return translator(choose(user.language_code, context.settings.default_language))


# ---------------------------------------------------------------- digest


async def digest(update: Update, context: BotContext) -> None:
    """The digest of the chat the command acts for, like every command: this chat's now;
    a linked channel's only after a confirmation, since it posts there for everyone."""
    if _here(context):
        await _digest_here(update, context)
        return
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
    name = _elsewhere(context)
    assert name is not None
    await message_of(update).reply_text(
        texts.post_digest_question(context.t, name),
        reply_markup=post_digest_keyboard(context.t, subscriber.id),
    )


async def _compose_now(
    context: BotContext, subscriber_of: Callable[[AsyncSession], Awaitable[Subscriber]]
) -> tuple[Outbound | None, bool]:
    """Compose the acting chat's digest now: (the outbound digest or None, whether the
    chat follows anything). ``subscriber_of(session)`` gives its row, locked."""
    async with context.sessions.begin() as session:
        # Lock the row so a scheduled digest composed at this moment cannot pick the
        # same articles (PostgreSQL; SQLite serializes writers anyway).
        subscriber = await subscriber_of(session)
        outbound = await compose_digest(
            session,
            subscriber,
            settings=context.settings,
            now=context.now(),
            kind=DigestKind.MANUAL,
            bot_username=context.bot.username,
        )
        follows = (
            outbound is not None
            or bool(await repo.subscribed_tags(session, subscriber.id))
            or bool(await words_repo.subscriber_words(session, subscriber.id))
        )
    return outbound, follows


async def _send_now(context: BotContext, outbound: Outbound) -> SendResult:
    return await send_digest(
        context.bot,
        context.sessions,
        outbound,
        clock=context.state.clock,
        policy=context.state.retry_policy,
    )


async def _digest_here(update: Update, context: BotContext) -> None:
    chat_id = _chat_id(update)

    async def locked(session: AsyncSession) -> Subscriber:
        row = await repo.get_subscriber(session, chat_id, for_update=True)
        return row or await _subscriber(session, update, context)

    outbound, follows = await _compose_now(context, locked)
    if outbound is None:
        await message_of(update).reply_text(
            context.t._(texts.NOTHING_NEW if follows else texts.NO_SUBSCRIPTIONS)
        )
        return
    await _send_now(context, outbound)


async def on_post_digest(update: Update, context: BotContext) -> None:
    """Post the linked channel's digest there now, and say what became of it."""
    query, button = pressed(update)
    assert isinstance(button, buttons.PostDigest)
    await query.answer()  # now: a digest paced to a channel's 20 a minute takes a while
    acting, t = context.acting, context.t
    assert acting is not None
    name = texts.chat_name(t, acting.title, acting.chat_id)

    async def locked(session: AsyncSession) -> Subscriber:
        row = await repo.get_subscriber(session, acting.chat_id, for_update=True)
        return row or await _subscriber(session, update, context)

    outbound, follows = await _compose_now(context, locked)
    if outbound is None:
        said = texts.nothing_new_for(t, name) if follows else texts.follows_nothing(t, name)
    else:
        said = texts.digest_posted(t, name, await _send_now(context, outbound))
    await show(query, said, None)


async def on_cancel_digest(update: Update, context: BotContext) -> None:
    query, _ = pressed(update)
    await query.answer()
    await show(query, context.t._(texts.DIGEST_NOT_POSTED), None)


# ---------------------------------------------------------------- settings


async def settings(update: Update, context: BotContext) -> None:
    """The settings name the chat they are of (a group, a linked channel)."""
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
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
        subscriber = await _subscriber(session, update, context)
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
        frequency=subscriber.frequency,
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
        subscriber = await _subscriber(session, update, context)
    t = translator(subscriber.language)
    await reply(
        update, context, texts.language_text(t), language_keyboard(t.code, chat=subscriber.id)
    )


async def on_set_language(update: Update, context: BotContext) -> None:
    """Switch the chat's language; the reply and the redrawn buttons are in the new one."""
    query, button = pressed(update)
    assert isinstance(button, buttons.SetLanguage)
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        subscriber.language = button.code
    if context.chat_data is not None and _here(context):
        context.chat_data.language = button.code
    t = translator(button.code)
    await query.answer(texts.language_set(t))
    markup = language_keyboard(t.code, chat=button.chat)
    await show(query, for_chat(context, texts.language_text(t)), markup)
