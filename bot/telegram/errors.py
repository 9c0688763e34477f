"""The error handler: what reaches it was not answered by a handler.

An error a person's input caused (a value a parser refused, a message Telegram refused)
is logged as one line, and the same line at most once a minute; anything else is a bug
and is logged with its traceback. Either way the person gets an answer, and a pressed
button stops spinning.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import texts
from bot.i18n import Problem
from bot.ops.logs import LogLimiter
from bot.subscriptions import chats
from bot.subscriptions.schedule import ScheduleError
from bot.telegram.context import BotContext
from bot.telegram.send import TopicRefusal, topic_refusal

logger = logging.getLogger(__name__)


# Errors whose cause is what someone sent, not our code.
INPUT_ERRORS: tuple[type[Exception], ...] = (ScheduleError, BadRequest, Forbidden)


# Each distinct line is logged once a minute at the most (logging is per process, and so
# is this); the lines remembered are bounded.
_limiter = LogLimiter()


def _one_line(error: BaseException) -> str:
    """The error in one line, without what the person typed: a `Problem` by its
    template (its values are their input), anything else by its text."""
    said = error.template if isinstance(error, Problem) else str(error)
    return f"{type(error).__name__}: {' '.join(said.split())[:300]}"


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    assert error is not None
    user_input = isinstance(error, INPUT_ERRORS)
    if user_input:
        line = f"input refused: {_one_line(error)}"
        if _limiter.allow(line):
            logger.warning(line)
    else:
        logger.error("unhandled error while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    if update.effective_chat is None:  # a press under an inline-mode message
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer(context.t._(texts.BUTTON_INVALID))
        return
    refusal = topic_refusal(error) if isinstance(error, TelegramError) else None
    message = update.effective_message
    if refusal is not None and message is not None and message.is_topic_message:
        await _topic_refused(update, context, message.message_thread_id or 0, refusal)
        return
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(context.t._(texts.BUTTON_INVALID))
        return
    if isinstance(error, Forbidden):
        return  # they blocked the bot: nothing reaches them
    # A message Telegram refused (BadRequest) gets the plain apology, which it accepts.
    if user_input and not isinstance(error, TelegramError):
        reply = texts.input_problem(context.t, error)
    else:
        reply = context.t._(texts.SOMETHING_WRONG)
    try:
        await context.bot.send_message(update.effective_chat.id, reply)
    except TelegramError as failure:
        logger.warning(
            "could not tell chat %s about an error: %s", update.effective_chat.id, failure
        )


async def _topic_refused(
    update: Update, context: BotContext, thread_id: int, refusal: TopicRefusal
) -> None:
    """A reply refused because its forum topic is closed or deleted: said in General
    (never the apology), and a topic that was the digests' destination is General now."""
    chat = update.effective_chat
    assert chat is not None
    async with context.sessions.begin() as session:
        row = await chats.by_chat(session, chat.id)
        moved = row is not None and row.thread_id == thread_id
        if row is not None and moved:
            row.thread_id = None
    closed = refusal is TopicRefusal.CLOSED
    reply = texts.topic_reply_refused(context.t, thread_id, closed=closed, moved=moved)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    try:
        await context.bot.send_message(chat.id, reply)
    except TelegramError as failure:  # General is closed too: nothing reaches the group
        logger.warning("could not tell chat %s its topic refused a reply: %s", chat.id, failure)
