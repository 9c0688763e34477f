"""A Bot API emulator: a real HTTP server that answers the way Telegram does.

It serves ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` for the bot, and a
control API under ``/_emu/`` for tests, the demo and the benchmarks: inject what a user
types, sends or presses; set up groups, forum supergroups and channels and who is in them;
read what the bot sent; inject faults; enforce rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.constants import (
    InlineKeyboardButtonLimit,
    InlineQueryLimit,
    MessageLimit,
    PollingLimit,
)

from emulator.chats import (
    ANONYMOUS_ADMIN,
    CHAT_KINDS,
    FULL_INFO,
    STATUSES,
    GroupChat,
    Member,
)
from emulator.errors import ApiError, error_response
from emulator.html import EntityParseError, parse_html
from emulator.limits import Fault, Gate, Limits
from emulator.utf16 import utf16_len

logger = logging.getLogger(__name__)

_JSON_FIELDS = {
    "reply_markup",
    "link_preview_options",
    "commands",
    "allowed_updates",
    "scope",
    "results",
    "button",
}
_CALLBACK_DATA_MIN = InlineKeyboardButtonLimit.MIN_CALLBACK_DATA  # bytes
_CALLBACK_DATA_MAX = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
_SEND_METHODS = {"sendMessage", "editMessageText", "sendDocument"}


@dataclass
class ChatLog:
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


_TOKEN = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{1,100}")


def bot_id_of(token: str) -> int:
    """The bot's user id: the part of a token before the colon."""
    match = _TOKEN.fullmatch(token)
    return int(match.group(1)) if match else 1


class EmulatorState:
    def __init__(self, token: str, bot_username: str) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": bot_id_of(token),
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
        self.sleep_per_request = 0.0
        # Set by Emulator.stop(): parked long polls and event waits return at once.
        self.closing = asyncio.Event()

    # -------------------------------------------------------------- users' side

    def _user(self, user_id: int, first_name: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": self.languages.get(user_id, "en"),
        }

    def _chat(self, chat_id: int, first_name: str) -> dict[str, Any]:
        """A registered group's or channel's Chat object, else a private chat's."""
        if (chat := self.groups.get(chat_id)) is not None:
            return chat.as_chat()
        return {"id": chat_id, "type": "private", "first_name": first_name}

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        async with self.new_update:
            update["update_id"] = next(self.update_ids)
            self.updates.append(update)
            self.new_update.notify_all()
        return update

    def _user_message(self, user_id: int, first_name: str) -> dict[str, Any]:
        return {
            "message_id": next(self.message_ids[user_id]),
            "from": self._user(user_id, first_name),
            "chat": self._chat(user_id, first_name),
            "date": int(time.time()),
        }

    @staticmethod
    def _command_entities(text: str) -> list[dict[str, Any]]:
        if not text.startswith("/"):
            return []
        command = text.split(maxsplit=1)[0] if text.strip() else text
        return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]

    async def user_text(self, user_id: int, text: str, first_name: str) -> dict[str, Any]:
        message = self._user_message(user_id, first_name) | {"text": text}
        if entities := self._command_entities(text):
            message["entities"] = entities
        return await self._from_user(user_id, "user_message", message)

    async def _from_user(self, user_id: int, kind: str, message: dict[str, Any]) -> dict[str, Any]:
        """Log what the user sent and hand it to the bot as an update."""
        self._log(user_id, kind, message)
        await self.push_update({"message": message})
        return message

    def _document(self, file_name: str, content: bytes, caption: str | None) -> dict[str, Any]:
        """A sent file's fields of a Message: the document (stored for getFile), and its
        caption with a command's entity."""
        number = next(self.file_ids)
        file_id = f"file-{number}"
        self.files[file_id] = (f"documents/file_{number}_{file_name}", content)
        fields: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{number}",
                "file_name": file_name,
                "mime_type": "text/plain"
                if file_name.endswith(".txt")
                else "application/octet-stream",
                "file_size": len(content),
            }
        }
        if caption:
            fields["caption"] = caption
            if entities := self._command_entities(caption):
                fields["caption_entities"] = entities
        return fields

    async def user_document(
        self, user_id: int, file_name: str, content: bytes, caption: str | None, first_name: str
    ) -> dict[str, Any]:
        message = self._user_message(user_id, first_name) | self._document(
            file_name, content, caption
        )
        return await self._from_user(user_id, "user_document", message)

    async def user_press(
        self,
        user_id: int,
        message_id: int | None,
        data: str | None,
        first_name: str,
        *,
        inline_message_id: str | None = None,
        game_short_name: str | None = None,
    ) -> dict[str, Any]:
        """The user presses a button under the bot's message in their private chat, or
        (``inline_message_id``) under a message sent in inline mode, which has no chat.
        A press carries ``data``, or ``game_short_name`` for a game's button, or (as
        some clients send) neither."""
        query: dict[str, Any] = {
            "id": str(next(self.sequence)),
            "from": self._user(user_id, first_name),
            "chat_instance": str(user_id),
        }
        if inline_message_id is not None:
            query["inline_message_id"] = inline_message_id
        else:
            message = self.messages.get((user_id, message_id or 0))
            if message is None:
                raise ApiError(400, f"no bot message {message_id} in chat {user_id}")
            query["message"] = message
        if data is not None:
            query["data"] = data
        if game_short_name is not None:
            query["game_short_name"] = game_short_name
        self.queries[str(query["id"])] = user_id
        pressed = {"message_id": message_id, "data": data}
        self._log(user_id, "user_press", pressed | {"inline_message_id": inline_message_id})
        await self.push_update({"callback_query": query})
        return query

    async def user_inline_query(
        self, user_id: int, query: str, offset: str, first_name: str
    ) -> dict[str, Any]:
        """The user types ``@bot query`` in any chat (``offset``: the page asked for)."""
        inline = {
            "id": str(next(self.sequence)),
            "from": self._user(user_id, first_name),
            "query": query,
            "offset": offset,
        }
        self.inline_queries[str(inline["id"])] = user_id
        self._log(user_id, "user_inline_query", {"query": query, "offset": offset})
        await self.push_update({"inline_query": inline})
        return inline

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
        if forum and kind != "supergroup":
            raise ApiError(400, "only supergroups can be forums")
        chat = GroupChat(chat_id, kind, title, username or None, is_forum=forum)
        self.groups[chat_id] = chat
        return chat.as_chat()

    def _member_user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user["id"]:
            return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        return {"id": user_id, "is_bot": False, "first_name": self.names.get(user_id, "User")}

    def chat_member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """The Bot API ChatMember object of a user in a group or channel."""
        return self.group(chat_id).chat_member(user_id, self._member_user(user_id))

    def chat_full_info(self, chat_id: int) -> dict[str, Any]:
        """getChat: a registered chat, or a private one with the user (any positive id)."""
        if chat_id not in self.groups and (chat_id <= 0 or chat_id in self.missing):
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id, "User") | FULL_INFO

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
            by = chat.admin_other_than(self.bot_user["id"]) if by_user_id is None else by_user_id
            change = {
                "chat": chat.as_chat(),
                "from": self._user(by, self.names.get(by, "User")),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            }
            await self.push_update({"my_chat_member": change})
        return new

    def _group_message(self, chat: GroupChat, sender: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": next(self.message_ids[chat.id]),
            "from": sender,
            "chat": chat.as_chat(),
            "date": int(time.time()),
        }

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
        chat = self.group(chat_id)
        chat.refuse_users_writing()
        self.names[user_id] = first_name
        sender = ANONYMOUS_ADMIN if anonymous else self._user(user_id, first_name)
        message = self._group_message(chat, dict(sender))
        if anonymous:
            message["sender_chat"] = chat.as_chat()
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        message["text"] = text
        if entities := self._command_entities(text):
            message["entities"] = entities
        return await self._from_user(chat_id, "user_message", message)

    async def group_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        caption: str | None,
        first_name: str,
    ) -> dict[str, Any]:
        """A user shares a file in a group."""
        chat = self.group(chat_id)
        chat.refuse_users_writing()
        self.names[user_id] = first_name
        message = self._group_message(chat, self._user(user_id, first_name))
        message |= self._document(file_name, content, caption)
        return await self._from_user(chat_id, "user_document", message)

    async def group_press(
        self, chat_id: int, user_id: int, message_id: int, data: str, first_name: str
    ) -> dict[str, Any]:
        """A user presses a button under the bot's message in a group; the bot's answer
        is logged in the group's chat."""
        self.group(chat_id)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, f"no bot message {message_id} in chat {chat_id}")
        self.names[user_id] = first_name
        query = {
            "id": str(next(self.sequence)),
            "from": self._user(user_id, first_name),
            "message": message,
            "chat_instance": str(chat_id),
            "data": data,
        }
        self.queries[str(query["id"])] = chat_id
        self._log(
            chat_id, "user_press", {"message_id": message_id, "data": data, "user_id": user_id}
        )
        await self.push_update({"callback_query": query})
        return query

    async def migrate_group(
        self, chat_id: int, new_chat_id: int, by_user_id: int | None
    ) -> dict[str, Any]:
        """The group becomes a supergroup with a new id, as Telegram upgrades one: a
        service message in each, and the old id is refused from then on."""
        old = self.group(chat_id)
        if old.type != "group" or old.migrated_to is not None:
            raise ApiError(400, f"chat {chat_id} is not a basic group")
        if new_chat_id in self.groups or new_chat_id >= 0:
            raise ApiError(400, f"{new_chat_id} cannot be the supergroup's id")
        new = GroupChat(new_chat_id, "supergroup", old.title, members=dict(old.members))
        self.groups[new_chat_id] = new
        old.migrated_to = new_chat_id
        by = old.admin_other_than(self.bot_user["id"]) if by_user_id is None else by_user_id
        sender = self._user(by, self.names.get(by, "User"))
        farewell = self._group_message(old, sender) | {"migrate_to_chat_id": new_chat_id}
        welcome = self._group_message(new, sender) | {"migrate_from_chat_id": chat_id}
        for message in (farewell, welcome):
            self._log(message["chat"]["id"], "service", {"message": message})
            await self.push_update({"message": message})
        return new.as_chat()

    async def forward_channel_post(
        self, user_id: int, channel_id: int, text: str, first_name: str
    ) -> dict[str, Any]:
        """The user forwards a post of a channel to the bot's private chat."""
        channel = self.group(channel_id)
        if channel.type != "channel":
            raise ApiError(400, f"chat {channel_id} is not a channel")
        post_id = next(self.message_ids[channel_id])
        posted = int(time.time()) - 60
        origin = {
            "type": "channel",
            "chat": channel.as_chat(),
            "message_id": post_id,
            "date": posted,
        }
        message = self._user_message(user_id, first_name) | {
            "forward_origin": origin,
            "forward_from_chat": channel.as_chat(),
            "forward_from_message_id": post_id,
            "forward_date": posted,
            "text": text,
        }
        return await self._from_user(user_id, "user_message", message)

    def check_bot_may_send(
        self, chat_id: int, params: dict[str, Any], what: str, *, posting: bool = True
    ) -> int | None:
        """Refuse what Telegram refuses the bot in a group or channel; the topic the
        message goes to, if any."""
        chat = self.groups.get(chat_id)
        if chat is None:
            return None
        return chat.check_bot_may_send(self.bot_user["id"], params, what, posting=posting)

    # -------------------------------------------------------------- bot's side

    def _log(self, chat_id: int, kind: str, payload: dict[str, Any]) -> None:
        log = self.chats[chat_id]
        log.events.append(
            {"seq": next(self.sequence), "kind": kind, "at": time.monotonic(), **payload}
        )
        log.changed.set()
        log.changed = asyncio.Event()

    def _bot_message_head(self, chat_id: int, thread_id: int | None) -> dict[str, Any]:
        """What every message the bot sends starts with: in a channel it is the channel
        that speaks, elsewhere the bot; in a topic, the topic's id."""
        message: dict[str, Any] = {"message_id": next(self.message_ids[chat_id])}
        group = self.groups.get(chat_id)
        if group is not None and group.type == "channel":
            message["sender_chat"] = group.as_chat()
        else:
            message["from"] = {
                k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")
            }
        message["chat"] = self._chat(chat_id, "User")
        message["date"] = int(time.time())
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return message

    def bot_message(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = self._render(params)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing:
            raise ApiError(400, "Bad Request: chat not found")
        thread_id = self.check_bot_may_send(chat_id, params, "text messages")
        message = self._bot_message_head(chat_id, thread_id) | {"text": text}
        if entities:
            message["entities"] = entities
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        self.counters["messages"] += 1
        self._log(chat_id, "message", {"message": message, "html": params.get("text", "")})
        return message

    def bot_document(
        self, chat_id: int, file_name: str, content: bytes, params: dict[str, Any]
    ) -> dict[str, Any]:
        """A document the bot sent; the event carries its content for tests to read."""
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not content:
            raise ApiError(400, "Bad Request: file must be non-empty")
        thread_id = self.check_bot_may_send(chat_id, params, "documents")
        number = next(self.file_ids)
        file_id = f"file-{number}"
        self.files[file_id] = (f"documents/file_{number}_{file_name}", content)
        message = self._bot_message_head(chat_id, thread_id) | {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{number}",
                "file_name": file_name,
                "file_size": len(content),
            },
        }
        if params.get("caption"):
            caption, entities = self._render({**params, "text": params["caption"]})
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        self.messages[(chat_id, message["message_id"])] = message
        self.counters["messages"] += 1
        self._log(
            chat_id,
            "message",
            {
                "message": message,
                "html": params.get("caption", ""),
                "file": content.decode("utf-8", "replace"),
            },
        )
        return message

    def edit_message(
        self, chat_id: int, message_id: int, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.check_bot_may_send(chat_id, {}, "text messages", posting=False)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, entities = self._render(params)
        markup = params.get("reply_markup")
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and (markup == message.get("reply_markup"))
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = text
        message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self._log(chat_id, "edit", {"message": message, "html": params.get("text", "")})
        return message

    @staticmethod
    def _render(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        raw = str(params.get("text", ""))
        if params.get("parse_mode") in ("HTML", "html"):
            try:
                text, entities = parse_html(raw)
            except EntityParseError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        elif params.get("parse_mode"):
            raise ApiError(400, "Bad Request: unsupported parse_mode in this emulator")
        else:
            text, entities = raw, []
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        # Telegram counts the text after entity parsing: markup and hrefs are free.
        if utf16_len(text) > MessageLimit.MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if (
                        data is not None
                        and not _CALLBACK_DATA_MIN <= len(data.encode()) <= _CALLBACK_DATA_MAX
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return text, entities


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


ControlHandler = Callable[[web.Request], Awaitable[Any]]


def _control(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A control API route: its handler's result as JSON, or a Bot API style error. A
    malformed request (not JSON, a field missing or of the wrong kind) is a 400 that
    names what is wrong, never a 500."""

    async def serve(request: web.Request) -> web.Response:
        try:
            return web.json_response(await handler(request))
        except ApiError as error:
            return error_response(error)
        except KeyError as error:
            return error_response(ApiError(400, f"Bad Request: {error.args[0]!r} is required"))
        except (TypeError, ValueError) as error:
            return error_response(ApiError(400, f"Bad Request: {error}"))

    return serve


async def _body(request: web.Request) -> dict[str, Any]:
    """The control request's JSON object (an empty body is an empty object)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ApiError(400, f"Bad Request: the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, 'Bad Request: the body must be a JSON object, e.g. {"text": "/start"}')
    return body


def _number(value: Any, name: str) -> int:
    """An integer field of a control request, named when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}") from None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"Bad Request: {name} must be a string, not {value!r}")
    return value


def _path(request: web.Request, name: str) -> int:
    return _number(request.match_info[name], name)


def _field(body: dict[str, Any], name: str, default: Any = None) -> Any:
    """A field of the body; a missing one without a default is required."""
    if name in body and body[name] is not None:
        return body[name]
    if default is None:
        raise KeyError(name)
    return default


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await _body(request))
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str | web.FileField)})
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params


def _language_code(params: dict[str, Any]) -> str:
    """setMyCommands' language_code: empty, or two lowercase ISO 639-1 letters."""
    code = str(params.get("language_code") or "")
    if code and not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower()):
        raise ApiError(400, "Bad Request: language_code is invalid")
    return code


def _int(params: dict[str, Any], key: str) -> int:
    try:
        return int(params[key])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, f"Bad Request: {key} is required") from None


class Emulator:
    """The server. ``await start()`` binds to loopback and returns the API root URL."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "newsbot_demo_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        adopt_token: bool = False,
    ) -> None:
        self.state = EmulatorState(token, bot_username)
        # Standalone, the emulator serves whichever well-formed token the first bot
        # brings, so that any TELEGRAM_BOT_TOKEN works against it; tests pin one.
        self.adopt_token = adopt_token
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "deleteWebhook": self._accept,
            "close": self._accept,
            "logOut": self._accept,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
        }

    @property
    def token(self) -> str:
        return self.state.token

    def _authorized(self, token: str) -> bool:
        if token == self.state.token:
            return True
        if self.adopt_token and _TOKEN.fullmatch(token):
            self.adopt_token = False
            self.state.token = token
            self.state.bot_user["id"] = bot_id_of(token)
            logger.warning("serving the bot with id %s (the token it brought)", bot_id_of(token))
            return True
        return False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        control = {
            "/_emu/users/{user_id}/messages": self._inject_text,
            "/_emu/users/{user_id}/documents": self._inject_document,
            "/_emu/users/{user_id}/press": self._inject_press,
            "/_emu/users/{user_id}/inline": self._inject_inline,
            "/_emu/users/{user_id}/language": self._set_language,
            "/_emu/faults": self._add_fault,
            "/_emu/limits": self._set_limits,
            "/_emu/chats/{chat_id}/block": self._block,
        }
        for path, handler in control.items():
            app.router.add_post(path, _control(handler))
        app.router.add_get("/_emu/chats/{chat_id}/events", _control(self._events))
        app.router.add_get("/_emu/stats", _control(self._stats))
        app.router.add_get("/_emu/bot", _control(self._bot))
        app.router.add_get("/_emu/updates", _control(self._pending))
        app.router.add_post("/_emu/users/{user_id}/forward", _control(self._forward))
        app.router.add_post("/_emu/chats/{chat_id}/create", _control(self._create_chat))
        app.router.add_post("/_emu/chats/{chat_id}/members/{user_id}", _control(self._set_member))
        app.router.add_post("/_emu/chats/{chat_id}/messages", _control(self._group_text))
        app.router.add_post("/_emu/chats/{chat_id}/press", _control(self._group_press))
        app.router.add_post("/_emu/chats/{chat_id}/documents", _control(self._group_document))
        app.router.add_post("/_emu/chats/{chat_id}/topics", _control(self._create_topic))
        app.router.add_delete(
            "/_emu/chats/{chat_id}/topics/{thread_id}", _control(self._delete_topic)
        )
        app.router.add_post(
            "/_emu/chats/{chat_id}/topics/{thread_id}/close", _control(self._close_topic)
        )
        app.router.add_post("/_emu/chats/{chat_id}/migrate", _control(self._migrate_group))
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Release every parked request first: cleanup waits for open handlers to end."""
        if self._runner is not None:
            self.state.closing.set()
            for log in self.state.chats.values():
                log.changed.set()
            async with self.state.new_update:
                self.state.new_update.notify_all()
            await self._runner.cleanup()
            self._runner = None

    # -------------------------------------------------------------- Bot API

    async def _api(self, request: web.Request) -> web.Response:
        state = self.state
        method = request.match_info["method"]
        if not self._authorized(request.match_info["token"]):
            return error_response(ApiError(401, "Unauthorized"))
        try:
            params = await _params(request)
            chat_id = state.resolve(params["chat_id"]) if "chat_id" in params else None
            if chat_id is not None:
                params["chat_id"] = chat_id
            state.counters[f"calls_{method}"] += 1
            state.gate.check_faults(method, chat_id)
            if method in _SEND_METHODS:
                state.gate.check_limits(chat_id, group=chat_id in state.groups)
                if state.sleep_per_request:
                    await asyncio.sleep(state.sleep_per_request)
            return _ok(await self._call(method, params))
        except ApiError as error:
            return error_response(error)
        except (ValueError, TypeError, json.JSONDecodeError) as error:
            return error_response(ApiError(400, f"Bad Request: {error}"))

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return await handler(params)

    # One method per Bot API method; each takes the request's parameters.

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return self.state.bot_user

    async def _accept(self, params: dict[str, Any]) -> Any:
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        self.state.commands[_language_code(params)] = list(params.get("commands", []))
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        return self.state.commands.get(_language_code(params), [])

    async def _send_message(self, params: dict[str, Any]) -> Any:
        return self.state.bot_message(_int(params, "chat_id"), params)

    async def _send_document(self, params: dict[str, Any]) -> Any:
        upload = params.get("document")
        if not isinstance(upload, web.FileField):
            raise ApiError(400, "Bad Request: there is no document in the request")
        content = upload.file.read()
        return self.state.bot_document(
            _int(params, "chat_id"), upload.filename or "document", content, params
        )

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        return self.state.edit_message(_int(params, "chat_id"), _int(params, "message_id"), params)

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        state = self.state
        query_id = str(params.get("callback_query_id", ""))
        if not query_id:
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        state.counters["callback_answers"] += 1
        if (chat_id := state.queries.pop(query_id, None)) is not None:
            answer = {"text": params.get("text") or "", "query_id": query_id}
            state._log(chat_id, "answer", answer)
        return True

    async def _answer_inline_query(self, params: dict[str, Any]) -> Any:
        """Logged as an "inline_answer" event in the chat of the user who asked."""
        query_id = str(params.get("inline_query_id", ""))
        chat_id = self.state.inline_queries.pop(query_id, None)
        if chat_id is None:
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        results = params.get("results", [])
        if not isinstance(results, list) or len(results) > InlineQueryLimit.RESULTS:
            raise ApiError(
                400, f"Bad Request: results must be a list of at most {InlineQueryLimit.RESULTS}"
            )
        answer = {
            "query_id": query_id,
            "results": results,
            "next_offset": str(params.get("next_offset", "")),
            "button": params.get("button"),
        }
        self.state._log(chat_id, "inline_answer", answer)
        return True

    async def _get_chat(self, params: dict[str, Any]) -> Any:
        return self.state.chat_full_info(_int(params, "chat_id"))

    async def _get_chat_member(self, params: dict[str, Any]) -> Any:
        return self.state.chat_member(_int(params, "chat_id"), _int(params, "user_id"))

    async def _get_file(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.state.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self.state.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(content),
            "file_path": path,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.state
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", PollingLimit.MAX_LIMIT) or PollingLimit.MAX_LIMIT)
        timeout = float(params.get("timeout", 0) or 0)
        if offset:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with state.new_update:
            while (
                not state.updates
                and not state.closing.is_set()
                and (left := deadline - time.monotonic()) > 0
            ):
                try:
                    await asyncio.wait_for(state.new_update.wait(), left)
                except TimeoutError:
                    break
        return state.updates[:limit]

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request.match_info["token"]):
            return web.Response(status=401, text="Unauthorized")
        wanted = request.match_info["path"]
        for path, content in self.state.files.values():
            if path == wanted:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    # -------------------------------------------------------------- control API

    # Each answers what the matching EmulatorClient method returns (see `_control`).

    async def _inject_text(self, request: web.Request) -> Any:
        body = await _body(request)
        return await self.state.user_text(
            _path(request, "user_id"),
            _text(_field(body, "text"), "text"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _inject_document(self, request: web.Request) -> Any:
        body = await _body(request)
        caption = body.get("caption")
        return await self.state.user_document(
            _path(request, "user_id"),
            _text(_field(body, "file_name"), "file_name"),
            _text(_field(body, "content"), "content").encode(),
            None if caption is None else _text(caption, "caption"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _inject_press(self, request: web.Request) -> Any:
        """A press under a message of the user's chat (``message_id``) or under one sent
        in inline mode (``inline_message_id``); ``data`` or ``game_short_name`` may be
        missing, as Telegram allows."""
        body = await _body(request)
        message_id, data = body.get("message_id"), body.get("data")
        inline, game = body.get("inline_message_id"), body.get("game_short_name")
        if message_id is None and inline is None:
            raise KeyError("message_id")  # a press is under a message of one kind or other
        return await self.state.user_press(
            _path(request, "user_id"),
            None if message_id is None else _number(message_id, "message_id"),
            None if data is None else _text(data, "data"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
            inline_message_id=None if inline is None else _text(inline, "inline_message_id"),
            game_short_name=None if game is None else _text(game, "game_short_name"),
        )

    async def _set_language(self, request: web.Request) -> Any:
        """The language the user's Telegram app is set to: their updates carry it."""
        body = await _body(request)
        code = _text(_field(body, "language_code"), "language_code")
        self.state.languages[_path(request, "user_id")] = code
        return {"ok": True}

    async def _inject_inline(self, request: web.Request) -> Any:
        body = await _body(request)
        return await self.state.user_inline_query(
            _path(request, "user_id"),
            _text(_field(body, "query", ""), "query"),
            _text(_field(body, "offset", ""), "offset"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _events(self, request: web.Request) -> Any:
        chat_id = _path(request, "chat_id")
        after = _number(request.query.get("after", 0), "after")
        count = _number(request.query.get("count", 0), "count")
        kinds = set(filter(None, request.query.get("kinds", "message,edit").split(",")))
        wait = request.query.get("wait", "0")
        try:
            deadline = time.monotonic() + min(float(wait), 600.0)
        except ValueError:
            raise ApiError(
                400, f"Bad Request: wait must be a number of seconds, not {wait!r}"
            ) from None
        log = self.state.chats[chat_id]
        while True:
            events = [e for e in log.events if e["seq"] > after and e["kind"] in kinds]
            left = deadline - time.monotonic()
            if len(events) >= count or left <= 0 or self.state.closing.is_set():
                return events
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(log.changed.wait(), left)

    async def _add_fault(self, request: web.Request) -> Any:
        body = await _body(request)
        faults = self.state.gate.faults
        if body.get("clear"):
            faults.clear()
        else:
            faults.append(Fault(**body))
        return {"faults": len(faults)}

    async def _set_limits(self, request: web.Request) -> Any:
        self.state.gate.set_limits(Limits(**await _body(request)))
        return {"ok": True}

    async def _block(self, request: web.Request) -> Any:
        body = await _body(request)
        chat_id = _path(request, "chat_id")
        target = self.state.missing if body.get("missing") else self.state.blocked
        if body.get("blocked", True):
            target.add(chat_id)
        else:
            target.discard(chat_id)
        return {"ok": True}

    async def _stats(self, request: web.Request) -> Any:
        return dict(self.state.counters)

    async def _pending(self, request: web.Request) -> Any:
        """How many updates the bot has not fetched (or not confirmed) yet."""
        return {"pending": len(self.state.updates)}

    async def _bot(self, request: web.Request) -> Any:
        """The bot's own user (its id changes when a standalone emulator adopts a token):
        what adding the bot to a group needs."""
        return self.state.bot_user

    # Groups and channels: each answers what the matching EmulatorClient method returns.

    async def _create_chat(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.state.create_chat(
            _path(request, "chat_id"),
            _text(_field(body, "kind"), "kind"),
            _text(_field(body, "title"), "title"),
            body.get("username"),
            bool(body.get("forum", False)),
        )

    async def _set_member(self, request: web.Request) -> Any:
        body = await _body(request)
        member = Member(
            _text(_field(body, "status"), "status"),
            is_anonymous=bool(body.get("is_anonymous", False)),
            can_post_messages=bool(body.get("can_post_messages", False)),
            can_manage_topics=bool(body.get("can_manage_topics", False)),
        )
        by = body.get("by_user_id")
        return await self.state.set_member(
            _path(request, "chat_id"),
            _path(request, "user_id"),
            member,
            None if by is None else _number(by, "by_user_id"),
        )

    async def _group_text(self, request: web.Request) -> Any:
        body = await _body(request)
        thread = body.get("thread_id")
        return await self.state.group_text(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _text(_field(body, "text"), "text"),
            thread_id=None if thread is None else _number(thread, "thread_id"),
            anonymous=bool(body.get("anonymous", False)),
            first_name=str(body.get("first_name", "Ann")),
        )

    async def _group_document(self, request: web.Request) -> Any:
        body = await _body(request)
        caption = body.get("caption")
        return await self.state.group_document(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _text(_field(body, "file_name"), "file_name"),
            _text(_field(body, "content"), "content").encode(),
            None if caption is None else _text(caption, "caption"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _group_press(self, request: web.Request) -> Any:
        body = await _body(request)
        return await self.state.group_press(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _number(_field(body, "message_id"), "message_id"),
            _text(_field(body, "data"), "data"),
            str(body.get("first_name", "Ann")),
        )

    async def _create_topic(self, request: web.Request) -> Any:
        body = await _body(request)
        return self.state.group(_path(request, "chat_id")).create_topic(
            _number(_field(body, "thread_id"), "thread_id"),
            _text(_field(body, "name"), "name"),
        )

    async def _delete_topic(self, request: web.Request) -> Any:
        return self.state.group(_path(request, "chat_id")).delete_topic(
            _path(request, "thread_id")
        )

    async def _close_topic(self, request: web.Request) -> Any:
        body = await _body(request)
        closed = body.get("closed", True)
        if not isinstance(closed, bool):
            raise ApiError(400, f"Bad Request: closed must be true or false, not {closed!r}")
        return self.state.group(_path(request, "chat_id")).close_topic(
            _path(request, "thread_id"), closed
        )

    async def _migrate_group(self, request: web.Request) -> Any:
        body = await _body(request)
        by = body.get("by_user_id")
        return await self.state.migrate_group(
            _path(request, "chat_id"),
            _number(_field(body, "new_chat_id"), "new_chat_id"),
            None if by is None else _number(by, "by_user_id"),
        )

    async def _forward(self, request: web.Request) -> Any:
        body = await _body(request)
        return await self.state.forward_channel_post(
            _path(request, "user_id"),
            _number(_field(body, "channel_id"), "channel_id"),
            str(body.get("text") or "A post"),
            str(body.get("first_name", "Ann")),
        )
