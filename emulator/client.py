"""A client of the emulator's control API: a person in a chat, as tests and the demo see it."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from telegram import Message, MessageEntity


@dataclass
class BotMessage:
    """A message the bot sent (or edited), as the person sees it."""

    message_id: int
    text: str
    html: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    edited: bool = False
    file_name: str | None = None  # a document the bot sent: its name and content
    file: str | None = None
    thread_id: int | None = None  # the forum topic it went to, if the bot named one

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> BotMessage:
        message = event["message"]
        markup = message.get("reply_markup") or {}
        document = message.get("document")
        return cls(
            message_id=message["message_id"],
            text=message["text"] if document is None else message.get("caption", ""),
            html=event.get("html", ""),
            entities=list(message.get("entities" if document is None else "caption_entities", [])),
            buttons=list(markup.get("inline_keyboard", [])),
            edited=event["kind"] == "edit",
            file_name=None if document is None else document["file_name"],
            file=event.get("file"),
            thread_id=message.get("message_thread_id"),
        )

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for row in self.buttons for button in row]

    def button(self, text: str) -> dict[str, Any]:
        for row in self.buttons:
            for button in row:
                if button["text"] == text or text in button["text"]:
                    return button
        raise LookupError(f"no button {text!r} in {self.button_texts}")

    def _parsed(self, kind: str) -> list[tuple[MessageEntity, str]]:
        """Entities of one kind with the text they cover, in order, read by
        python-telegram-bot the way a bot reads a user's message."""
        message = Message.de_json(
            {
                "message_id": self.message_id,
                "date": 0,
                "chat": {"id": 0, "type": "private"},
                "text": self.text,
                "entities": self.entities,
            },
            None,
        )
        found = message.parse_entities([kind]).items()
        return sorted(found, key=lambda pair: pair[0].offset)

    def links(self) -> list[str]:
        return [entity.url or "" for entity, _ in self._parsed(MessageEntity.TEXT_LINK)]

    def bold(self) -> list[str]:
        return [text for _, text in self._parsed(MessageEntity.BOLD)]


@cache
def loopback_tls() -> ssl.SSLContext:
    """One TLS context for every HTTP client of the process that speaks to the emulator.
    httpx builds a verifying context per client by default, loading the CA bundle: 23 to
    27 ms of CPU each time, for clients that only ever speak plain HTTP on loopback."""
    return httpx.create_ssl_context()


class EmulatorClient:
    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=loopback_tls())

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return _checked(await self.http.post(path, json=body))

    async def send_text(self, user_id: int, text: str, first_name: str = "Ann") -> Any:
        return await self._post(
            f"/_emu/users/{user_id}/messages", {"text": text, "first_name": first_name}
        )

    async def send_document(
        self, user_id: int, file_name: str, content: str, caption: str | None = None
    ) -> Any:
        body = {"file_name": file_name, "content": content, "caption": caption}
        return await self._post(f"/_emu/users/{user_id}/documents", body)

    async def press(self, user_id: int, message_id: int, data: str) -> Any:
        return await self.press_shape(user_id, message_id=message_id, data=data)

    async def press_shape(
        self,
        user_id: int,
        *,
        message_id: int | None = None,
        data: str | None = None,
        inline_message_id: str | None = None,
        game_short_name: str | None = None,
        chat_id: int | None = None,
        first_name: str = "Ann",
    ) -> Any:
        """A press of any shape the Bot API allows: under a message in the user's chat (or,
        ``chat_id``, in a group) or (``inline_message_id``) under one sent in inline mode;
        with data, a game's short name, or neither."""
        body = {
            "message_id": message_id,
            "data": data,
            "inline_message_id": inline_message_id,
            "game_short_name": game_short_name,
            "first_name": first_name,
        }
        if chat_id is None:
            return await self._post(f"/_emu/users/{user_id}/press", body)
        return await self._post(f"/_emu/chats/{chat_id}/press", body | {"user_id": user_id})

    async def inline_query(self, user_id: int, query: str, offset: str = "") -> Any:
        return await self._post(
            f"/_emu/users/{user_id}/inline", {"query": query, "offset": offset}
        )

    async def set_language(self, user_id: int, language_code: str) -> Any:
        return await self._post(
            f"/_emu/users/{user_id}/language", {"language_code": language_code}
        )

    async def events(
        self,
        chat_id: int,
        *,
        after: int = 0,
        count: int = 0,
        wait: float = 0,
        kinds: str = "message,edit",
    ) -> list[dict[str, Any]]:
        params: dict[str, str | int | float] = {
            "after": after,
            "count": count,
            "wait": wait,
            "kinds": kinds,
        }
        response = await self.http.get(f"/_emu/chats/{chat_id}/events", params=params)
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()
        return events

    async def add_fault(
        self,
        method: str,
        status: int,
        description: str,
        *,
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        body = {
            "method": method,
            "status": status,
            "description": description,
            "chat_id": chat_id,
            "retry_after": retry_after,
            "times": times,
        }
        await self._post("/_emu/faults", body)

    async def clear_faults(self) -> None:
        await self._post("/_emu/faults", {"clear": True})

    async def stall(self, seconds: float) -> None:
        """From the next message the bot sends, hold every one for ``seconds`` (a
        stalled Telegram)."""
        await self._post("/_emu/stall", {"seconds": seconds})

    async def set_limits(self, **limits: Any) -> None:
        await self._post("/_emu/limits", limits)

    async def block(self, chat_id: int, *, blocked: bool = True, missing: bool = False) -> None:
        await self._post(f"/_emu/chats/{chat_id}/block", {"blocked": blocked, "missing": missing})

    # Groups, supergroups and channels.

    async def create_chat(
        self,
        chat_id: int,
        kind: str,
        title: str,
        *,
        forum: bool = False,
        username: str | None = None,
    ) -> Any:
        """Register a group, supergroup or channel (``kind``), a forum or not, public (with
        a ``username``) or not; it has no members yet."""
        body = {"kind": kind, "title": title, "username": username, "forum": forum}
        return await self._post(f"/_emu/chats/{chat_id}/create", body)

    async def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        can_post_messages: bool = False,
        is_anonymous: bool = False,
        by_user_id: int | None = None,
        can_manage_topics: bool = False,
    ) -> Any:
        """Set a user's status in the chat; for the bot, it gets a my_chat_member update
        from ``by_user_id`` (default: the chat's first creator or administrator)."""
        body = {
            "status": status,
            "can_post_messages": can_post_messages,
            "is_anonymous": is_anonymous,
            "by_user_id": by_user_id,
            "can_manage_topics": can_manage_topics,
        }
        return await self._post(f"/_emu/chats/{chat_id}/members/{user_id}", body)

    async def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        anonymous: bool = False,
        first_name: str = "Ann",
    ) -> Any:
        """A user writes in a group (``anonymous``: an administrator, as the group)."""
        body = {
            "user_id": user_id,
            "text": text,
            "thread_id": thread_id,
            "anonymous": anonymous,
            "first_name": first_name,
        }
        return await self._post(f"/_emu/chats/{chat_id}/messages", body)

    async def group_document(
        self, chat_id: int, user_id: int, file_name: str, content: str, caption: str | None = None
    ) -> Any:
        """A user shares a file in the group."""
        body = {"user_id": user_id, "file_name": file_name, "content": content, "caption": caption}
        return await self._post(f"/_emu/chats/{chat_id}/documents", body)

    async def group_press(
        self, chat_id: int, user_id: int, message_id: int, data: str, first_name: str = "Ann"
    ) -> Any:
        """A user presses a button under the bot's message ``message_id`` in the group."""
        return await self.press_shape(
            user_id, message_id=message_id, data=data, chat_id=chat_id, first_name=first_name
        )

    async def create_topic(self, chat_id: int, thread_id: int, name: str) -> Any:
        body = {"thread_id": thread_id, "name": name}
        return await self._post(f"/_emu/chats/{chat_id}/topics", body)

    async def delete_topic(self, chat_id: int, thread_id: int) -> Any:
        """The topic is deleted: sending to it is answered TOPIC_DELETED."""
        return _checked(await self.http.delete(f"/_emu/chats/{chat_id}/topics/{thread_id}"))

    async def close_topic(self, chat_id: int, thread_id: int, closed: bool = True) -> Any:
        """Close a topic (1: General), or reopen it: only administrators who may manage
        topics post in a closed one; the bot gets TOPIC_CLOSED."""
        body = {"closed": closed}
        return await self._post(f"/_emu/chats/{chat_id}/topics/{thread_id}/close", body)

    async def migrate_group(
        self, chat_id: int, new_chat_id: int, by_user_id: int | None = None
    ) -> Any:
        """The group becomes the supergroup ``new_chat_id``; the old id is refused after."""
        body = {"new_chat_id": new_chat_id, "by_user_id": by_user_id}
        return await self._post(f"/_emu/chats/{chat_id}/migrate", body)

    async def forward_channel_post(
        self, user_id: int, channel_id: int, text: str = "A post", first_name: str = "Ann"
    ) -> Any:
        """The user forwards a post of the channel to the bot's private chat."""
        body = {"channel_id": channel_id, "text": text, "first_name": first_name}
        return await self._post(f"/_emu/users/{user_id}/forward", body)

    async def bot(self) -> dict[str, Any]:
        """The bot's own user: its id (which adding it to a chat needs) and username."""
        return dict(_checked(await self.http.get("/_emu/bot")))

    async def pending_updates(self) -> int:
        """Updates the bot has not fetched yet (0: it has all that was sent)."""
        return int(_checked(await self.http.get("/_emu/updates"))["pending"])

    async def broadcasts(self) -> dict[str, int]:
        """Messages sent with and without allow_paid_broadcast (``paid``, ``free``),
        those refused with 429 (``refused_paid``, ``refused_free``), and the paid ones
        beyond the free 30 of their second of the wall clock (``beyond_free``)."""
        response = await self.http.get("/_emu/broadcasts")
        result: dict[str, int] = _checked(response)
        return result

    async def repeats(self, leave_out: Iterable[int] = ()) -> dict[str, Any]:
        """The bot's messages that repeat one it sent the same chat before: ``chats``,
        ``messages`` and up to ten of those chats (``sample``); ``leave_out``'s chats
        are not looked at."""
        query = {"except": ",".join(str(chat_id) for chat_id in leave_out)}
        response = await self.http.get("/_emu/repeats", params=query)
        result: dict[str, Any] = _checked(response)
        return result

    async def stats(self) -> dict[str, int]:
        """The emulator's counters: ``messages`` the bot sent, ``429`` refusals (and by
        which limit: ``429_overall``, ``429_chat``, ``429_group``), injected faults..."""
        response = await self.http.get("/_emu/stats")
        response.raise_for_status()
        result: dict[str, int] = response.json()
        return result


def _checked(response: httpx.Response) -> Any:
    """The JSON of a control API answer; an error names what the emulator refused."""
    if response.is_error:
        raise httpx.HTTPStatusError(
            f"{response.status_code} from {response.request.url.path}: {response.text}",
            request=response.request,
            response=response,
        )
    return response.json()


class _Seen:
    """A chat as someone in it sees it: remembers what was already read."""

    def __init__(self, client: EmulatorClient, chat_id: int) -> None:
        self.client = client
        self.chat_id = chat_id
        self.cursor = 0

    async def read(self, count: int = 1, timeout: float = 10.0) -> list[BotMessage]:
        """Wait for ``count`` new messages or edits from the bot here, and return all new
        ones."""
        events = await self.client.events(
            self.chat_id, after=self.cursor, count=count, wait=timeout
        )
        if events:
            self.cursor = events[-1]["seq"]
        if len(events) < count:
            got = [BotMessage.from_event(e).text[:80] for e in events]
            raise TimeoutError(f"expected {count} bot messages in {timeout}s, got {got}")
        return [BotMessage.from_event(event) for event in events]

    async def answers(self, count: int = 1, timeout: float = 10.0) -> list[str]:
        """The texts of the bot's answers to buttons pressed here ("" when it answered
        silently), oldest first; waits until there are ``count``."""
        events = await self.client.events(self.chat_id, count=count, wait=timeout, kinds="answer")
        if len(events) < count:
            raise TimeoutError(f"expected {count} button answers in {timeout}s, got {events}")
        return [str(event["text"]) for event in events]


class Chat(_Seen):
    """One person's private chat with the bot; remembers what was already read."""

    def __init__(self, client: EmulatorClient, user_id: int, first_name: str = "Ann") -> None:
        super().__init__(client, user_id)
        self.user_id = user_id
        self.first_name = first_name

    async def speak(self, language_code: str) -> None:
        """Set this user's Telegram app to ``language_code``."""
        await self.client.set_language(self.user_id, language_code)

    async def ask(self, text: str, expect: int = 1, timeout: float = 10.0) -> list[BotMessage]:
        await self.client.send_text(self.user_id, text, self.first_name)
        return await self.read(expect, timeout)

    async def upload(
        self, file_name: str, content: str, caption: str | None = None, expect: int = 1
    ) -> list[BotMessage]:
        await self.client.send_document(self.user_id, file_name, content, caption)
        return await self.read(expect)

    async def inline(self, query: str, offset: str = "", timeout: float = 10.0) -> dict[str, Any]:
        """Type ``@bot query`` and wait for the bot's answer: its results, next_offset and
        button, as the bot sent them."""
        sent = await self.client.inline_query(self.user_id, query, offset)
        events = await self.client.events(self.user_id, count=0, wait=0, kinds="inline_answer")
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(e["query_id"] == sent["id"] for e in events):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no answer to the inline query {query!r} in {timeout}s")
            after = events[-1]["seq"] if events else 0
            events += await self.client.events(
                self.user_id, after=after, count=1, wait=left, kinds="inline_answer"
            )
        return next(e for e in events if e["query_id"] == sent["id"])

    async def press(
        self, message: BotMessage, button_text: str, expect: int = 1
    ) -> list[BotMessage]:
        data = message.button(button_text)["callback_data"]
        await self.client.press(self.user_id, message.message_id, data)
        return await self.read(expect)


class Group(_Seen):
    """A group, supergroup or channel as its members see it; remembers what was read."""

    async def say(
        self,
        user_id: int,
        text: str,
        expect: int = 1,
        thread_id: int | None = None,
        anonymous: bool = False,
        timeout: float = 10.0,
    ) -> list[BotMessage]:
        await self.client.group_text(
            self.chat_id, user_id, text, thread_id=thread_id, anonymous=anonymous
        )
        return await self.read(expect, timeout)

    async def press(
        self, user_id: int, message: BotMessage, button_text: str, expect: int = 1
    ) -> list[BotMessage]:
        data = message.button(button_text)["callback_data"]
        await self.client.group_press(self.chat_id, user_id, message.message_id, data)
        return await self.read(expect)
