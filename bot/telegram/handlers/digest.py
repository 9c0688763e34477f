"""/digest: the digest now, and in a channel the question before posting it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot import texts
from bot.delivery.compose import DigestNow, digest_now
from bot.delivery.outbox import Outbound
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
from bot.telegram.keyboards import post_digest_keyboard
from bot.telegram.send import SendResult, send_digest
from storage.models import Subscriber

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


async def _compose_now(context: BotContext, update: Update, chat_id: int) -> DigestNow:
    """Compose the digest of ``chat_id`` (the acting chat) now."""

    async def new_row(session: AsyncSession) -> Subscriber:
        return await subscriber_of(session, update, context)

    presence = context.state.presence
    async with context.sessions.begin() as session:
        return await digest_now(
            session,
            chat_id,
            fallback=new_row,
            policy=context.settings.digest,
            now=context.now(),
            bot_username=context.bot.username,
            # A process whose heartbeat is late may be taken for dead meanwhile: its
            # digest is then no one's, and only its lease frees it.
            owner=presence.id if presence is not None and not presence.lost else None,
        )


async def _send_now(context: BotContext, outbound: Outbound) -> SendResult:
    return await send_digest(
        context.bot,
        context.sessions,
        outbound,
        clock=context.state.clock,
        policy=context.state.retry_policy,
    )


async def _digest_here(update: Update, context: BotContext) -> None:
    now = await _compose_now(context, update, chat_id_of(update))
    if now.outbound is None:
        await message_of(update).reply_text(
            context.t._(texts.NOTHING_NEW if now.follows else texts.NO_SUBSCRIPTIONS)
        )
        return
    await _send_now(context, now.outbound)


async def on_post_digest(update: Update, context: BotContext) -> None:
    """Post the linked channel's digest there now, and say what became of it."""
    query, button = pressed(update)
    assert isinstance(button, buttons.PostDigest)
    await query.answer()  # now: a digest paced to a channel's 20 a minute takes a while
    acting, t = context.acting, context.t
    assert acting is not None
    name = texts.chat_name(t, acting.title, acting.chat_id)
    now = await _compose_now(context, update, acting.chat_id)
    if now.outbound is None:
        said = texts.nothing_new_for(t, name) if now.follows else texts.follows_nothing(t, name)
    else:
        said = texts.digest_posted(t, name, await _send_now(context, now.outbound))
    await show(query, said, None)


async def on_cancel_digest(update: Update, context: BotContext) -> None:
    query, _ = pressed(update)
    await query.answer()
    await show(query, context.t._(texts.DIGEST_NOT_POSTED), None)
