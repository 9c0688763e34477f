"""/digest: the digest now, and in a channel the question before posting it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot import texts
from bot.delivery.compose import Outbound, compose_digest
from bot.telegram import buttons
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.common import (
    acts_here,
    chat_id_of,
    elsewhere,
    pressed,
    show,
    subscriber_of,
)
from bot.telegram.keyboards import (
    post_digest_keyboard,
)
from bot.telegram.send import SendResult, send_digest
from storage import keywords as words_repo
from storage import repo
from storage.models import DigestKind, Subscriber

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- digest


async def digest(update: Update, context: BotContext) -> None:
    """The digest of the chat the command acts for, like every command: this chat's now;
    a linked channel's only after a confirmation, since it posts there for everyone."""
    if acts_here(context):
        await _digest_here(update, context)
        return
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
    name = elsewhere(context)
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
    chat_id = chat_id_of(update)

    async def locked(session: AsyncSession) -> Subscriber:
        row = await repo.get_subscriber(session, chat_id, for_update=True)
        return row or await subscriber_of(session, update, context)

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
        return row or await subscriber_of(session, update, context)

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
