"""Every handler module, one per feature, and their registration (`add_handlers`)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.ops import metrics
from bot.telegram import buttons
from bot.telegram.chats import guard
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.errors import on_error
from bot.telegram.handlers import (
    admin,
    chats,
    common,
    digest,
    feeds,
    privacy,
    settings,
    start,
    tags,
    words,
)


class ButtonHandler(CallbackQueryHandler[BotContext, None]):
    """The presses of one kind of button: data that decodes to ``kind``, under a message
    in a chat. python-telegram-bot's own patterns let a press without data reach every
    handler, and one under an inline-mode message has no chat: both go to the last
    handler instead (`common.on_odd_press`)."""

    def __init__(self, kind: type[buttons.Button], callback: Any) -> None:
        super().__init__(callback)
        self.kind = kind

    def check_update(self, update: object) -> bool | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        query = update.callback_query
        return query.message is not None and isinstance(buttons.decode(query.data), self.kind)


def add_handlers(app: BotApplication) -> None:
    """Every handler, in the order they are tried, after the chat (its language, and the
    chat its commands act for) is known. In groups, the commands and buttons that change
    a chat's digest are for its administrators (`may_change`); the rest are for everyone
    (`may_read`); see bot.telegram.chats."""
    app.add_handler(TypeHandler(Update, chats.know_chat), group=-1)
    changes, reads = guard(chats.may_change), guard(chats.may_read)
    commands = {
        "start": start.start,
        "help": start.help_command,
        "subscribe": changes(tags.subscribe),
        "unsubscribe": changes(tags.unsubscribe),
        "subscriptions": reads(words.subscriptions),
        "follow": changes(words.follow),
        "unfollow": changes(words.unfollow),
        "mute": changes(words.mute),
        "unmute": changes(words.unmute),
        "search": words.search_command,
        "tags": changes(tags.tags),
        "digest": reads(digest.digest),
        "settings": changes(settings.settings),
        "time": changes(settings.set_time),
        "timezone": changes(settings.set_timezone),
        "frequency": changes(settings.set_frequency),
        "language": changes(settings.language),
        "pause": changes(settings.pause),
        "resume": changes(settings.resume),
        "channel": chats.channel,
        "channels": chats.channels,
        "privacy": privacy.privacy_command,
        "mydata": guard(privacy.may_manage_data)(privacy.mydata),
        "forget": guard(privacy.may_manage_data)(privacy.forget),
        "add": admin.add,
        "delete": admin.delete,
        "undelete": admin.undelete,
        "deleted": admin.deleted,
        "articles": admin.articles,
        "stats": admin.stats,
        "story": admin.story,
        "split": admin.split,
        "merge": admin.merge,
        "feeds": feeds.list_feeds,
        "feed_add": feeds.add_feed,
        "feed_remove": feeds.remove_feed,
        "feed_tags": feeds.set_feed_tags,
        "feeds_export": feeds.export_feeds,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback))
    metrics.known_commands(commands)  # each a label of the update-time histogram
    app.add_handler(ChatMemberHandler(chats.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chats.on_migrate))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.FORWARDED, chats.forwarded_post)
    )
    # Files are for the bot only in a private chat: in a group, one is chatter.
    files = filters.Document.ALL & filters.ChatType.PRIVATE
    app.add_handler(
        MessageHandler(files & filters.Document.FileExtension("opml"), feeds.import_opml)
    )
    app.add_handler(MessageHandler(files, admin.document))
    presses: dict[type[buttons.Button], Any] = {
        buttons.ToggleTag: changes(tags.on_toggle),
        buttons.TagsPage: reads(tags.on_tags_page),
        buttons.Unsubscribe: changes(tags.on_unsubscribe),
        buttons.SubscriptionsPage: reads(tags.on_subscriptions_page),
        buttons.SubscribeSuggested: changes(tags.on_subscribe_suggested),
        buttons.UnsubscribeSuggested: changes(tags.on_unsubscribe_suggested),
        buttons.FeedsPage: feeds.on_feeds_page,
        buttons.ConfirmDelete: admin.on_confirm_delete,
        buttons.KeepArticle: admin.on_keep_article,
        buttons.Undelete: admin.on_undelete,
        buttons.SearchPage: reads(words.on_search_page),
        buttons.RemoveWord: changes(words.on_remove_word),
        buttons.WordsPage: reads(words.on_words_page),
        buttons.SetLanguage: changes(settings.on_set_language),
        buttons.SelectChat: chats.on_select_chat,
        buttons.PostDigest: reads(digest.on_post_digest),
        buttons.CancelDigest: reads(digest.on_cancel_digest),
        buttons.ConfirmForget: guard(privacy.may_confirm)(privacy.on_confirm),
        buttons.CancelForget: changes(privacy.on_cancel),
        buttons.DigestTags: changes(settings.on_digest_layout),
        buttons.DigestLayout: changes(settings.on_digest_layout),
    }
    for kind, callback in presses.items():
        app.add_handler(ButtonHandler(kind, callback))
    app.add_handler(InlineQueryHandler(words.inline_search))
    # Last: anything no handler above took (no data, a game, an inline message, data
    # that is not a button of ours): each gets its own answer.
    app.add_handler(CallbackQueryHandler(common.on_odd_press))
    app.add_handler(MessageHandler(filters.COMMAND, start.unknown_command))
    app.add_handler(MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, start.not_understood))
    app.add_error_handler(on_error)
