"""/privacy, /mydata and /forget with its confirmation buttons. Each handler reads the
input, calls one use case of bot.privacy and replies.

They act for the chat a command acts for (bot.chats): a person's own chat, the channel
they linked and selected, or the group it is sent in. In a group or channel only its
administrators may export or delete its data; a confirmation button carries the chat it
was shown for, and when it was shown.
"""

from __future__ import annotations

import logging
import tempfile
from typing import IO, Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import Application

from bot import texts
from bot.i18n import Translator
from bot.privacy import service as privacy
from bot.privacy.retention import LEDGER_MARGIN
from bot.telegram import buttons
from bot.telegram.chats import is_admin, sent_by_the_chat
from bot.telegram.context import BotContext, ChatData, message_of
from bot.telegram.handlers import chats as chat_handlers
from bot.telegram.handlers.common import for_chat, pressed, show
from storage.models import ChatType

logger = logging.getLogger(__name__)

MAX_UPLOAD = 50 * 1024 * 1024  # what Telegram takes from a bot (sendDocument)
FUTURE_SLACK = 60  # seconds a confirmation may seem to come from the future (clock skew)


def _ledger_days(context: BotContext) -> int:
    return context.settings.digest_max_age_days + LEDGER_MARGIN.days


async def privacy_command(update: Update, context: BotContext) -> None:
    """Everyone, in every chat: the policy needs no permission to read."""
    settings = context.settings
    await message_of(update).reply_text(
        texts.privacy_text(
            context.t,
            retention_days=settings.digest_retention_days,
            ledger_days=_ledger_days(context),
            blocked_days=settings.forget_blocked_days,
            contact=settings.operator_contact or None,
            policy_url=settings.privacy_policy_url or None,
        )
    )


async def may_manage_data(update: Update, context: BotContext) -> bool:
    """A person in their own private chat; a group's administrators (an anonymous one
    too); a linked channel's administrator (as bot.chat_handlers.may_change decides).
    A group's member is told that only administrators may."""
    chat, acting, user = update.effective_chat, context.acting, update.effective_user
    if acting is None or chat is None or not acting.here or chat.type == Chat.PRIVATE:
        return await chat_handlers.may_change(update, context)
    if sent_by_the_chat(update) or (
        user is not None
        and await is_admin(context.bot, context.state.admins, acting.chat_id, user.id)
    ):
        return True
    t = context.t
    if update.callback_query is not None:
        await update.callback_query.answer(t._(texts.DATA_ADMINS_ONLY_NOTICE))
    else:
        await message_of(update).reply_text(t._(texts.DATA_ADMINS_ONLY))
    return False


def _name(context: BotContext) -> str:
    acting = context.acting
    assert acting is not None
    return texts.chat_name(context.t, acting.title, acting.chat_id)


async def mydata(update: Update, context: BotContext) -> None:
    """One JSON document with everything stored about the chat, written to a temporary
    file as it is read and uploaded from there (never whole in memory)."""
    acting, t = context.acting, context.t
    assert acting is not None
    message = message_of(update)
    with tempfile.TemporaryFile() as file:
        async with context.sessions() as session:
            found = await privacy.export_chat(session, acting.chat_id, file, context.now())
        if not found:
            await message.reply_text(for_chat(context, t._(texts.NOTHING_STORED)))
            return
        size = file.tell()
        if size > MAX_UPLOAD:
            await message.reply_text(texts.export_too_big(t, size // (1024 * 1024)))
            return
        file.seek(0)
        await message.reply_document(
            as_upload(file, privacy.export_name(acting.chat_id)),
            caption=texts.export_caption(t, _name(context)),
        )
    logger.info("chat %s exported its data (%d bytes)", acting.chat_id, size)


def as_upload(file: IO[bytes], name: str) -> InputFile:
    """The file as python-telegram-bot uploads it without reading it first: the HTTP
    layer (bot.http) streams it from disk."""
    return InputFile(file, filename=name, read_file_handle=False)


def _keyboard(t: Translator, chat: int, issued: int) -> InlineKeyboardMarkup:
    def button(label: str, data: buttons.Button) -> InlineKeyboardButton:
        return InlineKeyboardButton(t._(label), callback_data=buttons.encode(data))

    return InlineKeyboardMarkup(
        [
            [
                button(texts.FORGET_BUTTON, buttons.ConfirmForget(issued, chat)),
                button(texts.CANCEL_BUTTON, buttons.CancelForget(chat)),
            ]
        ]
    )


async def forget(update: Update, context: BotContext) -> None:
    """Ask first: a button deletes, within CONFIRM_SECONDS."""
    acting, t = context.acting, context.t
    assert acting is not None
    async with context.sessions.begin() as session:
        chat = await privacy.chat_to_forget(
            session,
            acting.chat_id,
            context.settings,
            context.now(),
            language=t.code,
            chat_type=acting.chat_type,
            title=acting.title,
        )
    if chat is None:
        await message_of(update).reply_text(for_chat(context, t._(texts.NOTHING_STORED)))
        return
    issued = int(context.now().timestamp())
    await message_of(update).reply_text(
        texts.confirm_forget(t, _name(context)), reply_markup=_keyboard(t, chat, issued)
    )


async def may_confirm(update: Update, context: BotContext) -> bool:
    """A confirmation is answered specifically when it cannot delete: its chat is gone
    (already deleted), it is not this chat's (forged), it expired, or it claims to come
    from the future; otherwise the presser must be allowed (`may_manage_data`)."""
    query, button = pressed(update)
    assert isinstance(button, buttons.ConfirmForget)
    t = context.t
    if context.acting is None:
        gone = context.refusal == texts.CHAT_GONE_PRESS
        await query.answer(t._(texts.FORGET_ALREADY if gone else texts.FORGET_FORGED))
        return False
    now = int(context.now().timestamp())
    if button.issued > now + FUTURE_SLACK:
        await query.answer(t._(texts.FORGET_FORGED))
        return False
    if now - button.issued > privacy.CONFIRM_SECONDS:
        await query.answer(t._(texts.FORGET_EXPIRED))
        return False
    return await may_manage_data(update, context)


async def on_confirm(update: Update, context: BotContext) -> None:
    query, _ = pressed(update)
    acting, t = context.acting, context.t
    assert acting is not None
    await query.answer()
    name = _name(context)
    forgotten = await privacy.forget_chat(
        context.sessions,
        acting.chat_id,
        stops=context.state.deliverer.stops,
        private=acting.chat_type == ChatType.PRIVATE,
    )
    forget_cached(context.application, acting.chat_id)
    if forgotten is None:
        await show(query, t._(texts.FORGET_ALREADY), None)
        return
    await show(query, texts.forgotten(t, name, forgotten), None)


async def on_cancel(update: Update, context: BotContext) -> None:
    query, _ = pressed(update)
    await query.answer()
    await show(query, context.t._(texts.FORGET_CANCELLED), None)


def forget_cached(app: Application[Any, Any, Any, ChatData, Any, Any], chat_id: int) -> None:
    """What this process remembers about a forgotten chat goes too: its language, and
    any private chat's choice to act for it (a linked channel)."""
    app.drop_chat_data(chat_id)
    for data in app.chat_data.values():
        if data.target is not None and data.target.chat_id == chat_id:
            data.target, data.target_known = None, False
