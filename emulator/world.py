"""The world the bot lives in: its users and their private chats, groups and channels,
the messages in them, shared files, and the updates waiting for the bot.

Users act here through the control API (``emulator.control``), the bot through the Bot
API (``emulator.botapi``); each chat keeps a log of what happened in it for tests to read.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ChatType

from emulator.chats import ANONYMOUS_ADMIN, CHAT_KINDS, FULL_INFO, STATUSES, GroupChat, Member
from emulator.errors import ApiError
from emulator.limits import Gate, PaidSeconds
from emulator.utf16 import utf16_len
from emulator.webhook import Webhook


@dataclass
class ChatLog:
    """What happened in one chat, in order; ``changed`` is set at each new event."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram marks at the start of a text, if it is one."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


class World:
    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Newsbot",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        self.new_update = asyncio.Condition()
        self.message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, ChatLog] = defaultdict(ChatLog)
        self.sequence = itertools.count(1)
        self.files: dict[str, tuple[str, bytes]] = {}
        self.inline_queries: dict[str, int] = {}  # query id -> the user who typed it
        self.file_ids = itertools.count(1)
        self.blocked: set[int] = set()
        self.missing: set[int] = set()
        self.groups: dict[int, GroupChat] = {}
        self.names: dict[int, str] = {}  # first names users had in groups
        # The command menu per language_code ("" for everyone), as setMyCommands set it.
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.languages: dict[int, str] = {}  # a user's Telegram language ("en" if unset)
        self.queries: dict[str, int] = {}  # callback query id -> the chat it came from
        self.counters: defaultdict[str, int] = defaultdict(int)
        self.gate = Gate(self.counters)  # faults and flood limits
        self.paid_seconds = PaidSeconds()  # what paid broadcasts would cost
        # Set by Emulator.stop(): parked long polls and event waits return at once.
        self.closing = asyncio.Event()
        self.webhook = Webhook(self)  # set by setWebhook: updates are posted, not polled

    # -------------------------------------------------------------- everyone's

    def user(self, user_id: int, first_name: str) -> dict[str, Any]:
        """The Bot API User object of a person."""
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": self.languages.get(user_id, "en"),
        }

    def bot_as_user(self) -> dict[str, Any]:
        """The bot as a User object in messages and member lists."""
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    def chat(self, chat_id: int, first_name: str) -> dict[str, Any]:
        """A registered group's or channel's Chat object, else a private chat's."""
        if (chat := self.groups.get(chat_id)) is not None:
            return chat.as_chat()
        return {"id": chat_id, "type": ChatType.PRIVATE.value, "first_name": first_name}

    def message(
        self,
        chat_id: int,
        sender: dict[str, Any] | None,
        first_name: str = "User",
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A new message in a chat, without its content: who sent it (None: the chat
        itself, as a channel posts), the chat, the date, the topic."""
        message: dict[str, Any] = {"message_id": next(self.message_ids[chat_id])}
        if sender is None:
            message["sender_chat"] = self.chat(chat_id, first_name)
        else:
            message["from"] = sender
        message["chat"] = self.chat(chat_id, first_name)
        message["date"] = int(time.time())
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return message

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        async with self.new_update:
            update["update_id"] = next(self.update_ids)
            self.updates.append(update)
            self.new_update.notify_all()
        return update

    def log(self, chat_id: int, kind: str, payload: dict[str, Any]) -> None:
        log = self.chats[chat_id]
        log.events.append(
            {"seq": next(self.sequence), "kind": kind, "at": time.monotonic(), **payload}
        )
        log.changed.set()
        log.changed = asyncio.Event()

    def store_file(self, file_name: str, content: bytes) -> dict[str, Any]:
        """Keep a sent file for getFile and download; its Document object."""
        number = next(self.file_ids)
        file_id = f"file-{number}"
        self.files[file_id] = (f"documents/file_{number}_{file_name}", content)
        return {
            "file_id": file_id,
            "file_unique_id": f"u{number}",
            "file_name": file_name,
            "file_size": len(content),
        }

    # -------------------------------------------------------------- what users do

    async def _from_user(self, chat_id: int, kind: str, message: dict[str, Any]) -> dict[str, Any]:
        """Log what the user sent and hand it to the bot as an update."""
        self.log(chat_id, kind, message)
        await self.push_update({"message": message})
        return message

    async def _text(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        message["text"] = text
        if entities := command_entities(text):
            message["entities"] = entities
        return await self._from_user(message["chat"]["id"], "user_message", message)

    async def _document(
        self, message: dict[str, Any], file_name: str, content: bytes, caption: str | None
    ) -> dict[str, Any]:
        """The user's message carries a file (stored for getFile), and its caption with a
        command's entity."""
        message["document"] = self.store_file(file_name, content) | {
            "mime_type": "text/plain" if file_name.endswith(".txt") else "application/octet-stream"
        }
        if caption:
            message["caption"] = caption
            if entities := command_entities(caption):
                message["caption_entities"] = entities
        return await self._from_user(message["chat"]["id"], "user_document", message)

    def _in_private(self, user_id: int, first_name: str) -> dict[str, Any]:
        return self.message(user_id, self.user(user_id, first_name), first_name)

    def _writer(self, chat_id: int, user_id: int, first_name: str) -> GroupChat:
        """The group a user writes in (not a channel: only its administrators post)."""
        chat = self.group(chat_id)
        chat.refuse_users_writing()
        self.names[user_id] = first_name
        return chat

    async def user_text(self, user_id: int, text: str, first_name: str) -> dict[str, Any]:
        return await self._text(self._in_private(user_id, first_name), text)

    async def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None,
        anonymous: bool,
        first_name: str,
    ) -> dict[str, Any]:
        """A user (or, anonymous, an administrator as the group) writes in a group."""
        chat = self._writer(chat_id, user_id, first_name)
        sender = ANONYMOUS_ADMIN if anonymous else self.user(user_id, first_name)
        message = self.message(chat_id, dict(sender), thread_id=thread_id)
        if anonymous:
            message["sender_chat"] = chat.as_chat()
        return await self._text(message, text)

    async def document(
        self,
        chat_id: int | None,
        user_id: int,
        file_name: str,
        content: bytes,
        caption: str | None,
        first_name: str,
    ) -> dict[str, Any]:
        """A user sends a file to the bot (``chat_id`` None: in their private chat) or
        shares one in a group."""
        if chat_id is None:
            message = self._in_private(user_id, first_name)
        else:
            self._writer(chat_id, user_id, first_name)
            message = self.message(chat_id, self.user(user_id, first_name))
        return await self._document(message, file_name, content, caption)

    async def press(
        self,
        chat_id: int | None,
        user_id: int,
        message_id: int | None,
        data: str | None,
        first_name: str,
        *,
        inline_message_id: str | None = None,
        game_short_name: str | None = None,
    ) -> dict[str, Any]:
        """The user presses a button under the bot's message in a chat (``chat_id`` None:
        their private one), or (``inline_message_id``) under a message sent in inline
        mode, which has no chat. A press carries ``data``, or ``game_short_name`` for a
        game's button, or (as some clients send) neither. The bot's answer is logged in
        the chat."""
        private = chat_id is None
        if chat_id is None:
            chat_id = user_id
        else:
            self.group(chat_id)
        query: dict[str, Any] = {
            "id": str(next(self.sequence)),
            "from": self.user(user_id, first_name),
            "chat_instance": str(chat_id),
        }
        if inline_message_id is not None:
            query["inline_message_id"] = inline_message_id
        else:
            message = self.messages.get((chat_id, message_id or 0))
            if message is None:
                raise ApiError(400, f"no bot message {message_id} in chat {chat_id}")
            query["message"] = message
        if not private:
            self.names[user_id] = first_name
        if data is not None:
            query["data"] = data
        if game_short_name is not None:
            query["game_short_name"] = game_short_name
        self.queries[str(query["id"])] = chat_id
        pressed: dict[str, Any] = {"message_id": message_id, "data": data}
        pressed |= {"inline_message_id": inline_message_id} if private else {"user_id": user_id}
        self.log(chat_id, "user_press", pressed)
        await self.push_update({"callback_query": query})
        return query

    async def user_inline_query(
        self, user_id: int, query: str, offset: str, first_name: str
    ) -> dict[str, Any]:
        """The user types ``@bot query`` in any chat (``offset``: the page asked for)."""
        inline = {
            "id": str(next(self.sequence)),
            "from": self.user(user_id, first_name),
            "query": query,
            "offset": offset,
        }
        self.inline_queries[str(inline["id"])] = user_id
        self.log(user_id, "user_inline_query", {"query": query, "offset": offset})
        await self.push_update({"inline_query": inline})
        return inline

    async def forward_channel_post(
        self, user_id: int, channel_id: int, text: str, first_name: str
    ) -> dict[str, Any]:
        """The user forwards a post of a channel to the bot's private chat."""
        channel = self.group(channel_id)
        if channel.type != ChatType.CHANNEL:
            raise ApiError(400, f"chat {channel_id} is not a channel")
        post_id = next(self.message_ids[channel_id])
        posted = int(time.time()) - 60
        origin = {
            "type": "channel",
            "chat": channel.as_chat(),
            "message_id": post_id,
            "date": posted,
        }
        message = self._in_private(user_id, first_name) | {
            "forward_origin": origin,
            "forward_from_chat": channel.as_chat(),
            "forward_from_message_id": post_id,
            "forward_date": posted,
            "text": text,
        }
        return await self._from_user(user_id, "user_message", message)

    # -------------------------------------------------------------- groups and channels

    def group(self, chat_id: int) -> GroupChat:
        chat = self.groups.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def resolve(self, chat_id: Any) -> int:
        """A chat id, or a public chat's "@username" (any case), as an id."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            for chat in self.groups.values():
                if chat.username and chat.username.lower() == wanted:
                    return chat.id
            raise ApiError(400, "Bad Request: chat not found")
        return int(chat_id)

    def create_chat(
        self, chat_id: int, kind: str, title: str, username: str | None, forum: bool
    ) -> dict[str, Any]:
        if kind not in CHAT_KINDS:
            raise ApiError(400, f"kind must be one of {', '.join(CHAT_KINDS)}, not {kind!r}")
        if chat_id >= 0:
            raise ApiError(400, "groups and channels have negative ids")
        if chat_id in self.groups:
            raise ApiError(400, f"chat {chat_id} already exists")
        if forum and kind != ChatType.SUPERGROUP:
            raise ApiError(400, "only supergroups can be forums")
        chat = GroupChat(chat_id, kind, title, username or None, is_forum=forum)
        self.groups[chat_id] = chat
        return chat.as_chat()

    def chat_member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """The Bot API ChatMember object of a user in a group or channel."""
        if user_id == self.bot_user["id"]:
            user = self.bot_as_user()
        else:
            user = {"id": user_id, "is_bot": False, "first_name": self.names.get(user_id, "User")}
        return self.group(chat_id).chat_member(user_id, user)

    def chat_full_info(self, chat_id: int) -> dict[str, Any]:
        """getChat: a registered chat, or a private one with the user (any positive id)."""
        if chat_id not in self.groups and (chat_id <= 0 or chat_id in self.missing):
            raise ApiError(400, "Bad Request: chat not found")
        return self.chat(chat_id, "User") | FULL_INFO

    def _by(self, chat: GroupChat, by_user_id: int | None) -> dict[str, Any]:
        """Who did something to a chat: ``by_user_id``, else its first administrator."""
        by = chat.admin_other_than(self.bot_user["id"]) if by_user_id is None else by_user_id
        return self.user(by, self.names.get(by, "User"))

    async def set_member(
        self, chat_id: int, user_id: int, member: Member, by_user_id: int | None
    ) -> dict[str, Any]:
        """Set a user's standing; when the user is the bot, the bot hears of it as Telegram
        tells it: a my_chat_member update."""
        chat = self.group(chat_id)
        if member.status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        old = self.chat_member(chat_id, user_id)
        chat.members[user_id] = member
        new = self.chat_member(chat_id, user_id)
        if user_id == self.bot_user["id"]:
            change = {
                "chat": chat.as_chat(),
                "from": self._by(chat, by_user_id),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
            await self.push_update({"my_chat_member": change})
        return new

    async def migrate_group(
        self, chat_id: int, new_chat_id: int, by_user_id: int | None
    ) -> dict[str, Any]:
        """The group becomes a supergroup with a new id, as Telegram upgrades one: a
        service message in each, and the old id is refused from then on."""
        old = self.group(chat_id)
        if old.type != ChatType.GROUP or old.migrated_to is not None:
            raise ApiError(400, f"chat {chat_id} is not a basic group")
        if new_chat_id in self.groups or new_chat_id >= 0:
            raise ApiError(400, f"{new_chat_id} cannot be the supergroup's id")
        new = GroupChat(new_chat_id, ChatType.SUPERGROUP, old.title, members=dict(old.members))
        self.groups[new_chat_id] = new
        old.migrated_to = new_chat_id
        sender = self._by(old, by_user_id)
        farewell = self.message(chat_id, sender) | {"migrate_to_chat_id": new_chat_id}
        welcome = self.message(new_chat_id, sender) | {"migrate_from_chat_id": chat_id}
        for message in (farewell, welcome):
            self.log(message["chat"]["id"], "service", {"message": message})
            await self.push_update({"message": message})
        return new.as_chat()

    # -------------------------------------------------------------- what the bot does

    def check_bot_may_send(
        self, chat_id: int, params: dict[str, Any], what: str, *, posting: bool = True
    ) -> int | None:
        """Refuse what Telegram refuses the bot in a group or channel; the topic the
        message goes to, if any."""
        chat = self.groups.get(chat_id)
        if chat is None:
            return None
        return chat.check_bot_may_send(self.bot_user["id"], params, what, posting=posting)

    def bot_message(self, chat_id: int, thread_id: int | None) -> dict[str, Any]:
        """A new message of the bot's: in a channel it is the channel that speaks,
        elsewhere the bot."""
        group = self.groups.get(chat_id)
        channel = group is not None and group.type == ChatType.CHANNEL
        return self.message(chat_id, None if channel else self.bot_as_user(), thread_id=thread_id)

    def sent(self, message: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """The bot sent ``message``: it is kept (users may press its buttons) and logged
        in its chat with ``event``'s fields (the HTML the bot wrote, a file's content)."""
        chat_id = message["chat"]["id"]
        self.messages[(chat_id, message["message_id"])] = message
        self.counters["messages"] += 1
        self.log(chat_id, "message", {"message": message, **event})
        return message
