"""Admin commands: adding and deleting articles, listing them, counting things."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from functools import wraps
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import texts
from bot.articles import (
    MAX_ARTICLE_BYTES,
    ArticleFormatError,
    ParsedArticle,
    parse_article,
    parse_article_bytes,
)
from bot.context import BotContext, message_of
from storage import repo

logger = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
_ADD_PREFIX = re.compile(r"^/add(@\w+)?[ \t]*\n?", re.IGNORECASE)
LATEST = 15


def admin_only(handler: Handler) -> Handler:
    """Anyone not in ADMIN_IDS gets a polite refusal, and nothing runs."""

    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not context.sender_is_admin(update):
            await message_of(update).reply_text(texts.ADMIN_ONLY)
            return
        await handler(update, context)

    return guarded


async def _store(update: Update, context: BotContext, parse: Callable[[], ParsedArticle]) -> None:
    """Parse, then store in one transaction; a parse error stores nothing."""
    message = message_of(update)
    try:
        article = parse()
    except ArticleFormatError as error:
        await message.reply_text(f"❌ Not stored: {escape(str(error))}")
        return
    async with context.sessions.begin() as session:
        row, outcome = await repo.upsert_article(session, article, now=context.now())
    await message.reply_text(
        texts.added_text(
            article_id=row.id,
            title=article.title,
            tags=[t.key for t in article.tags],
            summary=article.summary,
            outcome=outcome.value,
        )
    )


@admin_only
async def add(update: Update, context: BotContext) -> None:
    text = _ADD_PREFIX.sub("", message_of(update).text or "", count=1)
    if not text.strip():
        await message_of(update).reply_text(
            "Send the article in the same message, after /add on its own line, "
            "or send it as a .txt file. The format is in the README."
        )
        return
    await _store(update, context, lambda: parse_article(text))


@admin_only
async def document(update: Update, context: BotContext) -> None:
    message = message_of(update)
    doc = message.document
    assert doc is not None
    if not (doc.file_name or "").lower().endswith(".txt"):
        await message.reply_text("Please send the article as a .txt file.")
        return
    if doc.file_size and doc.file_size > MAX_ARTICLE_BYTES:
        await message.reply_text(f"That file is over {MAX_ARTICLE_BYTES:,} bytes; not stored.")
        return
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    await _store(update, context, lambda: parse_article_bytes(data))


@admin_only
async def delete(update: Update, context: BotContext) -> None:
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await message_of(update).reply_text(texts.usage("delete", "42", "Which article id?"))
        return
    async with context.sessions.begin() as session:
        article = await repo.delete_article(session, int(args[0]))
    if article is None:
        await message_of(update).reply_text(
            f"There is no article {args[0]}. /articles lists them."
        )
        return
    await message_of(update).reply_text(
        f"🗑 Deleted article {article.id}: <b>{escape(article.title)}</b>"
    )


@admin_only
async def articles(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        rows = await repo.latest_articles(session, LATEST)
    await message_of(update).reply_text(
        texts.article_list([(a.id, a.title, a.added_at) for a in rows])
    )


@admin_only
async def stats(update: Update, context: BotContext) -> None:
    async with context.sessions() as session:
        view = await repo.stats(session, context.now())
    await message_of(update).reply_text(texts.stats_text(view))


def add_handlers(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("add", add))
    app.add_handler(CommandHandler("delete", delete))
    app.add_handler(CommandHandler("articles", articles))
    app.add_handler(CommandHandler("stats", stats))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
