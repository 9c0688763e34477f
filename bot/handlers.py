"""Subscriber commands and buttons. Each handler: read the input, call one use case, reply."""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import admin, service, texts
from bot.compose import compose_digest
from bot.context import BotContext, message_of
from bot.digest import parse_payload, render_article
from bot.keyboards import PAGE, START_PAGE, TOGGLE, UNSUBSCRIBE, tag_keyboard, unsubscribe_keyboard
from bot.schedule import (
    DAILY,
    FREQUENCIES,
    WEEKLY,
    ScheduleError,
    parse_digest_time,
    parse_timezone,
    parse_weekday,
    reschedule,
)
from bot.send import send_digest
from bot.tags import Tag, split_tag_list
from storage import repo
from storage.models import DigestKind, Subscriber

logger = logging.getLogger(__name__)


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def _subscriber(session: AsyncSession, update: Update, context: BotContext) -> Subscriber:
    """The chat's subscriber row, created with the default schedule on first contact."""
    return await service.ensure_subscriber(
        session, _chat_id(update), context.settings, context.now()
    )


def _args_text(context: BotContext) -> str:
    return " ".join(context.args or [])


async def start(update: Update, context: BotContext) -> None:
    payload = context.args[0] if context.args else ""
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        if subscriber.blocked:  # they came back: deliver again
            subscriber.blocked = False
            reschedule(subscriber, context.now())
        if payload:
            article_id = parse_payload(payload)
            article = await repo.get_article(session, article_id) if article_id else None
            tags = await repo.tags_of_articles(session, [article.id]) if article else {}
        else:
            buttons, _ = await service.tag_page(session, subscriber, 0, size=service.START_TAGS)
    message = message_of(update)
    if not payload:
        markup = tag_keyboard(buttons, page=START_PAGE) if buttons else None
        await message.reply_text(texts.WELCOME, reply_markup=markup)
        return
    if article is None:
        await message.reply_text(texts.NO_ARTICLE)
        return
    for part in render_article(
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        tags=tags[article.id],
        body=article.body,
        url=article.url,
        limit=MessageLimit.MAX_TEXT_LENGTH,
    ):
        await message.reply_text(part)


async def help_command(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(texts.help_text(context.sender_is_admin(update)))


MAX_TAGS_PER_COMMAND = 20


async def _typed_tags(
    update: Update, context: BotContext, command: str, example: str, question: str
) -> list[Tag] | None:
    """The tags after the command, or None once the user was told what is wrong."""
    tags = split_tag_list(_args_text(context))
    if not tags:
        await message_of(update).reply_text(texts.usage(command, example, question))
        return None
    if len(tags) > MAX_TAGS_PER_COMMAND:
        await message_of(update).reply_text(
            f"That is {len(tags)} tags; send at most {MAX_TAGS_PER_COMMAND} at a time."
        )
        return None
    return tags


async def subscribe(update: Update, context: BotContext) -> None:
    tags = await _typed_tags(
        update, context, "subscribe", "negotiations, United Kingdom", "Which tags?"
    )
    if tags is None:
        return
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        result = await service.subscribe(session, subscriber, tags, context.now())
    await message_of(update).reply_text(texts.subscribe_reply(result))


async def unsubscribe(update: Update, context: BotContext) -> None:
    tags = await _typed_tags(
        update, context, "unsubscribe", "negotiations", "Which tags? /subscriptions lists yours."
    )
    if tags is None:
        return
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        removed, missing = await service.unsubscribe(session, subscriber, tags)
    await message_of(update).reply_text(texts.unsubscribe_reply(removed, missing))


async def _subscriptions_view(
    context: BotContext, subscriber: Subscriber
) -> tuple[str, InlineKeyboardMarkup | None]:
    async with context.sessions() as session:
        tags = await repo.subscribed_tags(session, subscriber.id)
    markup = unsubscribe_keyboard([(t.id, t.name) for t in tags]) if tags else None
    return texts.subscriptions_text([t.name for t in tags]), markup


async def subscriptions(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
    text, markup = await _subscriptions_view(context, subscriber)
    await message_of(update).reply_text(text, reply_markup=markup)


async def tags(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        buttons, pages = await service.tag_page(session, subscriber, 0)
    if not buttons:
        await message_of(update).reply_text(texts.NO_TAGS)
        return
    await message_of(update).reply_text(
        texts.tags_text(0, pages), reply_markup=tag_keyboard(buttons, page=0, pages=pages)
    )


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
        has_tags = outbound is not None or bool(await repo.subscribed_tags(session, subscriber.id))
    if outbound is None:
        await message_of(update).reply_text(
            texts.NOTHING_NEW if has_tags else texts.NO_SUBSCRIPTIONS
        )
        return
    await send_digest(
        context.bot,
        context.sessions,
        outbound,
        clock=context.state.clock,
        policy=context.state.retry_policy,
    )


async def settings(update: Update, context: BotContext) -> None:
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
    await message_of(update).reply_text(_settings_text(subscriber))


def _settings_text(subscriber: Subscriber) -> str:
    return texts.settings_text(
        digest_time=subscriber.digest_time,
        timezone=subscriber.timezone,
        frequency=subscriber.frequency,
        weekday=subscriber.weekday,
        paused=subscriber.paused,
        next_due_at=subscriber.next_due_at,
    )


async def _change(update: Update, context: BotContext, **changes: object) -> None:
    """Apply settings changes, recompute the next digest time, and show the settings."""
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        for name, value in changes.items():
            setattr(subscriber, name, value)
        reschedule(subscriber, context.now())
    await message_of(update).reply_text("Saved.\n\n" + _settings_text(subscriber))


async def set_time(update: Update, context: BotContext) -> None:
    try:
        value = parse_digest_time(_args_text(context))
    except ScheduleError as error:
        await message_of(update).reply_text(texts.usage("time", "07:30", str(error)))
        return
    await _change(update, context, digest_time=value)


async def set_timezone(update: Update, context: BotContext) -> None:
    try:
        value = parse_timezone(_args_text(context))
    except ScheduleError as error:
        await message_of(update).reply_text(
            texts.usage("timezone", "Europe/Kyiv", str(error))
            + " or <code>/timezone UTC+03:00</code>"
        )
        return
    await _change(update, context, timezone=value)


async def set_frequency(update: Update, context: BotContext) -> None:
    args = [a.casefold() for a in context.args or []]
    example = "daily</code> or <code>/frequency weekly monday"
    if (
        not args
        or args[0] not in FREQUENCIES
        or len(args) > 2
        or (args[0] == DAILY and len(args) > 1)
    ):
        problem = f"'{' '.join(args)}' is not daily or weekly." if args else "How often?"
        await message_of(update).reply_text(f"{problem}\nUsage: <code>/frequency {example}</code>")
        return
    weekday = 0
    if args[0] == WEEKLY and len(args) == 2:
        try:
            weekday = parse_weekday(args[1])
        except ScheduleError as error:
            await message_of(update).reply_text(
                f"{error}\nUsage: <code>/frequency {example}</code>"
            )
            return
    await _change(update, context, frequency=args[0], weekday=weekday)


async def pause(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=True)


async def resume(update: Update, context: BotContext) -> None:
    await _change(update, context, paused=False)


async def button(update: Update, context: BotContext) -> None:
    """Every inline button: toggling tags, paging /tags, unsubscribing."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    kind, _, rest = query.data.partition(":")
    now = context.now()
    notice = ""
    markup: InlineKeyboardMarkup | None
    async with context.sessions.begin() as session:
        subscriber = await _subscriber(session, update, context)
        if kind == TOGGLE:
            tag_id, _, page_text = rest.partition(":")
            toggled = await service.toggle(session, subscriber, int(tag_id), now)
            if toggled:
                tag, on = toggled
                notice = f"{'Subscribed to' if on else 'Unsubscribed from'} {tag.name}"
            page = 0 if page_text == START_PAGE else int(page_text)
            size = service.START_TAGS if page_text == START_PAGE else service.TAGS_PAGE_SIZE
            buttons, pages = await service.tag_page(session, subscriber, page, size=size)
            if page_text == START_PAGE:
                text, markup = texts.WELCOME, tag_keyboard(buttons, page=START_PAGE)
            else:
                text = texts.tags_text(page, pages)
                markup = tag_keyboard(buttons, page=page, pages=pages)
        elif kind == PAGE:
            page = int(rest)
            buttons, pages = await service.tag_page(session, subscriber, page)
            text, markup = (
                texts.tags_text(page, pages),
                tag_keyboard(buttons, page=page, pages=pages),
            )
        elif kind == UNSUBSCRIBE:
            gone = await repo.tag_by_id(session, int(rest))
            if gone and await repo.unsubscribe(session, subscriber.id, [gone.id]):
                notice = f"Unsubscribed from {gone.name}"
        else:
            await query.answer("This button is no longer valid.")
            return
    if kind == UNSUBSCRIBE:
        text, markup = await _subscriptions_view(context, subscriber)
    await query.answer(notice or None)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message:  # a double tap changes nothing: fine
            raise


async def unknown_command(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(texts.UNKNOWN_COMMAND)


async def not_understood(update: Update, context: BotContext) -> None:
    await message_of(update).reply_text(texts.NOT_UNDERSTOOD)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    trace = "".join(traceback.format_exception(error)) if error else ""
    logger.error("unhandled error while handling %s\n%s", update, trace)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.SOMETHING_WRONG)
        except Exception:
            logger.exception("could not tell the user about the error")


def add_handlers(app: Application) -> None:  # type: ignore[type-arg]
    commands = {
        "start": start,
        "help": help_command,
        "subscribe": subscribe,
        "unsubscribe": unsubscribe,
        "subscriptions": subscriptions,
        "tags": tags,
        "digest": digest,
        "settings": settings,
        "time": set_time,
        "timezone": set_timezone,
        "frequency": set_frequency,
        "pause": pause,
        "resume": resume,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback))
    admin.add_handlers(app)
    app.add_handler(CallbackQueryHandler(button))
    # Last: anything no handler above took.
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, not_understood))
    app.add_error_handler(on_error)
