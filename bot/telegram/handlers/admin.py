"""Admin commands: adding and deleting articles, listing them, counting things."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from telegram import Update

from bot import texts
from bot.articles import service as articles_service
from bot.articles.format import (
    MAX_ARTICLE_BYTES,
    ArticleFormatError,
    parse_article,
    parse_article_bytes,
)
from bot.i18n import Translator
from bot.stories import grouping
from bot.subscriptions import service
from bot.telegram import buttons
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.common import args_text, pressed, show
from bot.telegram.keyboards import delete_keyboard, undelete_keyboard
from bot.words.search import store_articles
from storage.models import Article
from storage.records import Outcome, ParsedArticle

logger = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
_ADD_PREFIX = re.compile(r"^/add(@\w+)?[ \t]*\n?", re.IGNORECASE)
LATEST = 15


def admin_only(handler: Handler) -> Handler:
    """Anyone not in ADMIN_IDS gets a polite refusal, and nothing runs; the first refusal
    of a process tells the operator, in the log, how to make that person an admin."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if context.sender_is_admin(update):
            await handler(update, context)
            return
        _hint_admin_ids(context, update)
        if update.callback_query is not None:
            await update.callback_query.answer(context.t._(texts.ADMIN_ONLY))
        else:
            await message_of(update).reply_text(context.t._(texts.ADMIN_ONLY))

    return guarded


def _hint_admin_ids(context: BotContext, update: Update) -> None:
    """Say once per process, in the log, which setting makes the refused user an admin:
    an operator trying their own bot for the first time is refused here."""
    user = update.effective_user
    if user is None or context.state.admin_hint_logged:
        return
    context.state.admin_hint_logged = True
    ids = sorted(context.settings.admin_ids)
    wanted = ",".join(str(i) for i in [*ids, user.id])
    now = "ADMIN_IDS is empty" if not ids else f"ADMIN_IDS is {','.join(map(str, ids))}"
    logger.warning(
        "user id %d was refused an admin command: %s. To make them an admin, set "
        "ADMIN_IDS=%s in .env (or the environment) and restart the bot. (Said once.)",
        user.id,
        now,
        wanted,
    )


async def _store(update: Update, context: BotContext, parse: Callable[[], ParsedArticle]) -> None:
    """Parse, then store in one transaction; a parse error stores nothing."""
    message = message_of(update)
    try:
        article = parse()
    except ArticleFormatError as error:
        await message.reply_text(texts.not_stored(context.t, error))
        return
    async with context.sessions.begin() as session:
        [(row, outcome)] = await store_articles(session, [article], now=context.now())
    if outcome is Outcome.DELETED:
        await message.reply_text(texts.skipped_deleted(context.t, row.id, row.title))
        return
    await message.reply_text(
        texts.added_text(
            context.t,
            article_id=row.id,
            title=article.title,
            tags=[t.name for t in article.tags],
            summary=article.summary,
            outcome=outcome,
        )
    )


@admin_only
async def add(update: Update, context: BotContext) -> None:
    text = _ADD_PREFIX.sub("", message_of(update).text or "", count=1)
    if not text.strip():
        await message_of(update).reply_text(texts.add_usage(context.t))
        return
    await _store(update, context, lambda: parse_article(text))


@admin_only
async def document(update: Update, context: BotContext) -> None:
    message = message_of(update)
    doc = message.document
    assert doc is not None
    if not (doc.file_name or "").lower().endswith(".txt"):
        await message.reply_text(context.t._(texts.TXT_ONLY))
        return
    if doc.file_size and doc.file_size > MAX_ARTICLE_BYTES:
        await message.reply_text(texts.file_too_big(context.t, MAX_ARTICLE_BYTES))
        return
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    await _store(update, context, lambda: parse_article_bytes(data))


@admin_only
async def delete(update: Update, context: BotContext) -> None:
    """Ask first. A deleted article leaves every view and no import stores it again;
    /undelete brings it back (see bot.articles.service.delete)."""
    typed = args_text(context)
    article_id = service.parse_id(typed)
    if article_id is None:
        await message_of(update).reply_text(texts.article_id_problem(context.t, typed))
        return
    async with context.sessions() as session:
        article = await service.article(session, article_id)
    if article is None:
        await message_of(update).reply_text(texts.no_such_article(context.t, article_id))
        return
    if article.deleted_at is not None:
        await message_of(update).reply_text(
            texts.already_deleted(context.t, article.id, article.title)
        )
        return
    await message_of(update).reply_text(
        texts.confirm_delete(context.t, article.id, article.title),
        reply_markup=delete_keyboard(context.t, article.id),
    )


@admin_only
async def on_confirm_delete(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.ConfirmDelete)
    async with context.sessions.begin() as session:
        article = await articles_service.delete(session, button.article_id, context.now())
    await query.answer()
    if article is None:
        await show(query, texts.no_such_article(context.t, button.article_id), None)
        return
    await show(
        query,
        texts.deleted(context.t, article.id, article.title),
        undelete_keyboard(context.t, article.id),
    )


async def _undelete(context: BotContext, article_id: int) -> str:
    """Bring an article back; what to tell the admin."""
    async with context.sessions.begin() as session:
        article, was_deleted = await articles_service.undelete(session, article_id)
    if article is None:
        return texts.no_such_article(context.t, article_id)
    if not was_deleted:
        return texts.not_deleted(context.t, article.id, article.title)
    return texts.undeleted(context.t, article.id, article.title)


@admin_only
async def undelete(update: Update, context: BotContext) -> None:
    article_id = await _article_arg(update, context, "undelete")
    if article_id is not None:
        await message_of(update).reply_text(await _undelete(context, article_id))


@admin_only
async def on_undelete(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.Undelete)
    reply = await _undelete(context, button.article_id)
    await query.answer()
    await show(query, reply, None)


@admin_only
async def deleted(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        rows = await articles_service.deleted(session, LATEST)
    await message_of(update).reply_text(
        texts.deleted_list(context.t, [(a.id, a.title, a.deleted_at or a.added_at) for a in rows])
    )


@admin_only
async def on_keep_article(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.KeepArticle)
    async with context.sessions() as session:
        article = await service.article(session, button.article_id)
    await query.answer()
    await show(query, _about(context.t, button.article_id, article, texts.kept), None)


def _about(
    t: Translator,
    article_id: int,
    article: Article | None,
    outcome: Callable[[Translator, int, str], str],
) -> str:
    """``outcome`` for the article; or that there is no such article, or that an admin
    deleted it (another admin, meanwhile)."""
    if article is None:
        return texts.no_such_article(t, article_id)
    if article.deleted_at is not None:
        return texts.already_deleted(t, article.id, article.title)
    return outcome(t, article.id, article.title)


async def _missing(context: BotContext, article_id: int) -> str:
    """Why ``article_id`` names no article to act on: there is none, or it was deleted."""
    async with context.sessions() as session:
        article = await service.article(session, article_id)
    if article is None:
        return texts.no_such_article(context.t, article_id)
    return texts.already_deleted(context.t, article.id, article.title)


@admin_only
async def articles(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        rows = await articles_service.latest(session, LATEST)
    await message_of(update).reply_text(
        texts.article_list(context.t, [(a.id, a.title, a.added_at) for a in rows])
    )


@admin_only
async def stats(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        view = await articles_service.stats(session, context.now())
    await message_of(update).reply_text(texts.stats_text(context.t, view))


# ---------------------------------------------------------------- stories


async def _article_arg(update: Update, context: BotContext, command: str) -> int | None:
    """The one article id typed after ``command``; None (and the usage said) otherwise."""
    typed = args_text(context)
    article_id = service.parse_id(typed)
    if article_id is None:
        await message_of(update).reply_text(texts.article_id_problem(context.t, typed, command))
    return article_id


@admin_only
async def story(update: Update, context: BotContext) -> None:
    article_id = await _article_arg(update, context, "story")
    if article_id is None:
        return
    async with context.sessions() as session:
        members = await grouping.story(session, article_id)
    if members is None:
        await message_of(update).reply_text(await _missing(context, article_id))
        return
    await message_of(update).reply_text(texts.story_text(context.t, article_id, members))


@admin_only
async def split(update: Update, context: BotContext) -> None:
    article_id = await _article_arg(update, context, "split")
    if article_id is None:
        return
    async with context.sessions.begin() as session:
        others = await grouping.split(session, article_id)
    if others is None:
        await message_of(update).reply_text(await _missing(context, article_id))
        return
    await message_of(update).reply_text(texts.split_done(context.t, article_id, len(others)))


@admin_only
async def merge(update: Update, context: BotContext) -> None:
    typed = args_text(context)
    ids = [service.parse_id(part) for part in typed.replace(",", " ").split()]
    if len(ids) != 2 or None in ids:
        await message_of(update).reply_text(texts.merge_problem(context.t, typed))
        return
    first, second = (i for i in ids if i is not None)
    async with context.sessions.begin() as session:
        result = await grouping.merge_stories(session, first, second)
    t = context.t
    if result.missing is not None:
        reply = await _missing(context, result.missing)
    elif result.already:
        reply = texts.merge_same(t, first, second)
    else:
        # Named by an article the admin typed: the story's id may be a deleted article's.
        reply = texts.merged(t, min(first, second), result.count)
    await message_of(update).reply_text(reply)
