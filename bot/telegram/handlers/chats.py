"""Groups and channels: which chat an update acts for, who may change it, linking a
channel from a private chat, and the bot's own membership (added, removed, migrated).

Registration is in `bot.app`, which wraps the subscriber commands in `changes` or
`reads` (see `bot.chats` for the rules).
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMemberAdministrator, ChatMemberOwner, MessageOriginChannel, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot import texts
from bot.i18n import choose
from bot.subscriptions import chats
from bot.telegram import buttons
from bot.telegram.chats import GROUPS, Acting, chat_type_of, is_admin, sent_by_the_chat
from bot.telegram.context import BotContext, message_of
from bot.telegram.handlers.common import args_text, is_private, pressed, subscriber_of
from bot.telegram.keyboards import chats_keyboard
from storage.models import ChatType

logger = logging.getLogger(__name__)

ACTIVE = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)


# ---------------------------------------------------------------- before every handler


async def know_chat(update: Update, context: BotContext) -> None:
    """The chat's language and the chat its commands act for, read once per process.
    A private chat the bot does not know yet gets its sender's Telegram language, when
    the bot speaks it; a group or channel gets DEFAULT_LANGUAGE."""
    chat, data = update.effective_chat, context.chat_data
    if chat is None or data is None:
        return
    private = chat.type == Chat.PRIVATE
    if data.language is None or (private and not data.target_known):
        async with context.sessions() as session:
            if data.language is None:
                user = update.effective_user
                asked = user.language_code if user and private else None
                stored = await chats.language_of(session, chat.id)
                data.language = stored or choose(asked, context.settings.default_language)
            if private and not data.target_known:
                target = await chats.selected(session, chat.id)
                data.target = (
                    None
                    if target is None
                    else Acting(target.chat_id, target.chat_type, target.title, here=False)
                )
                data.target_known = True
    button = buttons.decode(update.callback_query.data) if update.callback_query else None
    chat_of_button = buttons.chat_of(button) if button is not None else None
    if chat_of_button is not None:
        context.acting = await _acting_for_press(update, context, chat_of_button)
    elif private and data.target is not None:
        context.acting = data.target
    else:
        context.acting = Acting(chat.id, chat_type_of(chat), chat.title, here=True)


async def _acting_for_press(
    update: Update, context: BotContext, subscriber_id: int
) -> Acting | None:
    """The chat a pressed button acts for: the one it was shown for, never the chat its
    presser selected since. None when it is gone, or not the presser's to act for (a
    forged button, say); `may_change` and `may_read` then refuse it. Whether they
    still administer a linked channel is asked there."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    async with context.sessions() as session:
        row = await chats.by_id(session, subscriber_id)
        if row is None:
            context.refusal = texts.CHAT_GONE_PRESS
            return None
        if row.chat_id == chat.id:
            return Acting(chat.id, chat_type_of(chat), chat.title, here=True)
        linked = (
            chat.type == Chat.PRIVATE
            and user is not None
            and await chats.manages(session, user.id, row.id)
        )
    if not linked:
        context.refusal = texts.BUTTON_INVALID
        return None
    return Acting(row.chat_id, row.chat_type, row.title, here=False)


# ---------------------------------------------------------------- who may do what


async def may_change(update: Update, context: BotContext) -> bool:
    """Anyone in their own private chat; a group's administrators (an anonymous one
    too); a channel's administrator who linked it. Everyone else is told, politely."""
    chat, acting, user = update.effective_chat, context.acting, update.effective_user
    if acting is None:  # a pressed button's chat is gone, or not theirs to act for
        await _refuse_press(update, context)
        return False
    if chat is None or (acting.here and chat.type == Chat.PRIVATE):
        return True
    if chat.type == Chat.CHANNEL:
        return False
    allowed = (acting.here and sent_by_the_chat(update)) or (
        user is not None
        and await is_admin(context.bot, context.state.admins, acting.chat_id, user.id)
    )
    if allowed:
        if acting.here and chat.is_forum:
            await _follow_topic(update, context)
        return True
    await _refuse(update, context)
    return False


async def may_read(update: Update, context: BotContext) -> bool:
    """Everyone in a group; for a linked channel, only while they administer it."""
    acting = context.acting
    if acting is not None and acting.here:
        return True
    return await may_change(update, context)


async def _refuse_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(context.t._(context.refusal or texts.BUTTON_INVALID))


async def _refuse(update: Update, context: BotContext) -> None:
    t, acting = context.t, context.acting
    assert acting is not None
    selected = context.chat_data.target if context.chat_data is not None else None
    name = texts.chat_name(t, acting.title, acting.chat_id)
    if acting.here:
        long, short = t._(texts.GROUP_ADMINS_ONLY), t._(texts.GROUP_ADMINS_ONLY_NOTICE)
    elif selected is not None and selected.chat_id == acting.chat_id:
        # No longer an administrator of the channel they act for: back to their own chat.
        long = texts.of_chat(t, texts.NO_LONGER_ADMIN, name)
        short = texts.of_chat_notice(t, texts.NO_LONGER_ADMIN, name)
        await _select(update, context, None)
    else:  # an older button of a channel they no longer administer
        short = texts.not_admin_any_more(t, name)
        long = short
    if update.callback_query is not None:
        await update.callback_query.answer(short)
    else:
        await message_of(update).reply_text(long)


async def _follow_topic(update: Update, context: BotContext) -> None:
    """An administrator's command in a forum topic makes it the digests' destination
    (one in General makes General the destination again). Read from the database each
    time, not remembered: a delivery (in any process) that finds the topic closed or
    deleted moves the digests to General, and the next command in that topic, reopened,
    must choose it again."""
    message = update.message  # a button press under an older message chooses nothing
    if message is None:
        return
    thread = message.message_thread_id if message.is_topic_message else None
    async with context.sessions.begin() as session:
        subscriber = await subscriber_of(session, update, context)
        if subscriber.thread_id != thread:
            subscriber.thread_id = thread


# ---------------------------------------------------------------- linking a channel


async def channel(update: Update, context: BotContext) -> None:
    """/channel @name, /channel -100…, /channel me, or /channel alone (where am I)."""
    t, message = context.t, message_of(update)
    if not is_private(update):
        await message.reply_text(t._(texts.CHANNEL_IN_PRIVATE))
        return
    typed = args_text(context)
    if typed.casefold() in {"me", t._("me").casefold()}:
        await _select(update, context, None)
        await message.reply_text(t._(texts.BACK_TO_ME))
        return
    if not typed:
        acting = context.acting
        if acting is not None and not acting.here:
            name = texts.chat_name(t, acting.title, acting.chat_id)
            await message.reply_text(texts.of_chat(t, texts.ACTING_FOR, name))
        else:
            await message.reply_text(t._(texts.CHANNEL_USAGE))
        return
    ref: int | str = int(typed) if typed.lstrip("-").isdecimal() and len(typed) < 20 else typed
    await _link(update, context, ref, typed)


async def forwarded_post(update: Update, context: BotContext) -> None:
    """A post forwarded from a channel links that channel, like /channel would."""
    origin = message_of(update).forward_origin
    if isinstance(origin, MessageOriginChannel):
        await _link(update, context, origin.chat.id, origin.chat.title or str(origin.chat.id))
    else:
        await message_of(update).reply_text(context.t._(texts.NOT_UNDERSTOOD))


async def _link(update: Update, context: BotContext, ref: int | str, typed: str) -> None:
    t, message, user = context.t, message_of(update), update.effective_user
    assert user is not None
    try:
        found = await context.bot.get_chat(ref)
    except TelegramError:
        await message.reply_text(texts.channel_not_found(t, typed))
        return
    title = found.title or typed
    if found.type != Chat.CHANNEL:
        await message.reply_text(texts.of_chat(t, texts.NOT_A_CHANNEL, title))
        return
    if not await _bot_may_post(context, found.id):
        await message.reply_text(texts.of_chat(t, texts.BOT_NOT_CHANNEL_ADMIN, title))
        return
    context.state.admins.forget(found.id)  # ask afresh: this decides who may link it
    if not await is_admin(context.bot, context.state.admins, found.id, user.id):
        await message.reply_text(texts.of_chat(t, texts.USER_NOT_CHANNEL_ADMIN, title))
        return
    target = Acting(found.id, ChatType.CHANNEL, title, here=False)
    context.acting = target
    async with context.sessions.begin() as session:
        row = await subscriber_of(session, update, context)
        await chats.link(session, user.id, row, context.now())
    if context.chat_data is not None:
        context.chat_data.target, context.chat_data.target_known = target, True
    await message.reply_text(texts.of_chat(t, texts.CHANNEL_LINKED, title))


async def _bot_may_post(context: BotContext, chat_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, context.bot.id)
    except TelegramError:
        return False
    if isinstance(member, ChatMemberOwner):
        return True
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


async def _select(update: Update, context: BotContext, subscriber_id: int | None) -> None:
    user = update.effective_user
    assert user is not None
    target: Acting | None = None
    async with context.sessions.begin() as session:
        chosen = await chats.select(session, user.id, subscriber_id)
        if chosen is not None:
            target = Acting(chosen.chat_id, chosen.chat_type, chosen.title, here=False)
    if context.chat_data is not None:
        context.chat_data.target, context.chat_data.target_known = target, True
    context.acting = target


async def channels(update: Update, context: BotContext) -> None:
    """The chats a person linked, with a button each (and one for their own chat)."""
    t, message, user = context.t, message_of(update), update.effective_user
    if not is_private(update) or user is None:
        await message.reply_text(t._(texts.CHANNEL_IN_PRIVATE))
        return
    async with context.sessions() as session:
        linked = await chats.linked(session, user.id)
    if not linked:
        await message.reply_text(t._(texts.NO_CHANNELS) + "\n\n" + t._(texts.CHANNEL_USAGE))
        return
    shown = [(texts.chat_name(t, row.title, row.chat_id), chosen) for row, chosen in linked]
    choices = [(row.id, name) for (row, _), (name, _) in zip(linked, shown, strict=True)]
    await message.reply_text(
        texts.channels_text(t, shown), reply_markup=chats_keyboard(t, choices)
    )


async def on_select_chat(update: Update, context: BotContext) -> None:
    query, button = pressed(update)
    assert isinstance(button, buttons.SelectChat)
    t, user = context.t, update.effective_user
    assert user is not None
    if button.subscriber_id == 0:
        await _select(update, context, None)
        await query.answer(t._(texts.BACK_TO_ME))
        return
    async with context.sessions() as session:
        linked = {row.id: row for row, _ in await chats.linked(session, user.id)}
    row = linked.get(button.subscriber_id)
    if row is None:
        await query.answer(t._(texts.BUTTON_INVALID))
        return
    name = texts.chat_name(t, row.title, row.chat_id)
    if not await is_admin(context.bot, context.state.admins, row.chat_id, user.id):
        async with context.sessions.begin() as session:
            await chats.unlink(session, user.id, row.id)
        await query.answer(texts.of_chat_notice(t, texts.NO_LONGER_ADMIN, name))
        return
    await _select(update, context, row.id)
    await query.answer(texts.selected_notice(t, name))


# ---------------------------------------------------------------- the bot's membership


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot was added to a chat, removed, kicked, promoted or demoted (or a person
    blocked or unblocked it). Removed or demoted: nothing more is sent there; added or
    promoted again: digests resume."""
    change = update.my_chat_member
    assert change is not None
    chat, new, old = change.chat, change.new_chat_member, change.old_chat_member
    context.state.admins.forget(chat.id)
    active = new.status in ACTIVE and (
        chat.type != Chat.CHANNEL
        or isinstance(new, ChatMemberOwner)
        or (isinstance(new, ChatMemberAdministrator) and bool(new.can_post_messages))
    )
    async with context.sessions.begin() as session:
        row = await chats.by_chat(session, chat.id)
        if row is None and active and chat.type != Chat.PRIVATE:
            row = await subscriber_of(session, update, context)
        if row is not None:
            chats.set_active(row, active, chat.title, context.now())
    logger.info(
        "chat %s (%s): the bot is %s there now; %s",
        chat.id,
        chat.type,
        new.status,
        "active" if active else "nothing more is sent",
    )
    joined = old.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
    if active and joined and chat.type in GROUPS:
        try:
            await context.bot.send_message(chat.id, context.t._(texts.GROUP_WELCOME))
        except TelegramError as error:
            logger.warning("could not greet chat %s: %s", chat.id, error)


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its subscriptions, words, ledger and schedule move to
    the new id (Telegram says so in both chats; the first to arrive moves them)."""
    message = message_of(update)
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:  # pragma: no cover - the filter lets only these through
        return
    async with context.sessions.begin() as session:
        moved = await chats.move(session, old, new)
    if moved:
        context.application.migrate_chat_data(old_chat_id=old, new_chat_id=new)
        context.state.admins.forget(old)
        logger.info("group %s became supergroup %s; its digest moved with it", old, new)
