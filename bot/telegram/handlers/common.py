"""What every handler module shares: the chat's subscriber, replies, button presses,
and the answers to presses and messages no other handler takes.

Each handler: read the input, call one use case, reply. Registration is in
`bot.telegram.app`; callback data is decoded by `bot.telegram.buttons`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot import texts
from bot.i18n import Translator, choose, translator
from bot.subscriptions import service
from bot.telegram import buttons
from bot.telegram.buttons import Button
from bot.telegram.chats import chat_type_of
from bot.telegram.context import BotContext, message_of
from storage.models import Subscriber

MAX_TAGS_PER_COMMAND = 20


def chat_id_of(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def subscriber_of(session: AsyncSession, update: Update, context: BotContext) -> Subscriber:
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
            context.settings.defaults,
            context.now(),
            language=known,
            chat_type=chat_type_of(chat),
            title=chat.title,
        )
    return await service.ensure_subscriber(
        session,
        acting.chat_id,
        context.settings.defaults,
        context.now(),
        chat_type=acting.chat_type,
        title=acting.title,
    )


def args_text(context: BotContext) -> str:
    """A command's arguments (PTB's ``context.args``), one space between each."""
    return " ".join(context.args or [])


def command_text(update: Update) -> str:
    """What follows the command (``/cmd`` or ``/cmd@bot``) as typed, its spaces and line
    breaks kept: a phrase in quotes, a URL on the next line."""
    parts = (message_of(update).text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def elsewhere(context: BotContext) -> str | None:
    """The name of the chat the update acts for when it is not the chat it came from (a
    channel linked from a private chat), else None."""
    acting = context.acting
    if acting is None or acting.here:
        return None
    return texts.chat_name(context.t, acting.title, acting.chat_id)


def for_chat(context: BotContext, text: str) -> str:
    """``text``, headed by the chat it is about when that is not the chat it is said in:
    a person acting for a linked channel always sees which chat a reply is about."""
    name = elsewhere(context)
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
    name = elsewhere(context)
    if name is not None:
        lines = [texts.acting_header(context.t, name), *lines]
    parts = texts.split_lines(lines, MessageLimit.MAX_TEXT_LENGTH)
    for number, part in enumerate(parts, start=1):
        await message_of(update).reply_text(
            part, reply_markup=markup if number == len(parts) else None
        )


def pressed(update: Update) -> tuple[CallbackQuery, Button]:
    """The pressed button; its handler was chosen because the data decodes (bot.telegram.app)."""
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


View = Callable[
    [Translator, AsyncSession, Subscriber, int], Awaitable[tuple[str, InlineKeyboardMarkup | None]]
]
Change = Callable[[AsyncSession, Subscriber], Awaitable[str | None]]


async def redraw(
    update: Update, context: BotContext, view: View, page: int, change: Change | None = None
) -> None:
    """Redraw the pressed message as ``page`` of ``view``, after ``change`` (in the same
    transaction), which returns the press's notice."""
    query = update.callback_query
    assert query is not None
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        notice = await change(session, subscriber) if change is not None else None
        text, markup = await view(context.t, session, subscriber, page)
    await query.answer(notice)
    await show(query, for_chat(context, text), markup)


def acts_here(context: BotContext) -> bool:
    """Whether the update acts for the chat it came from (not a linked channel)."""
    return context.acting is None or context.acting.here


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == Chat.PRIVATE


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
