"""A client of the emulator's control API: a person in a chat, as tests and the demo see it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
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


class EmulatorClient:
    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

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
        return await self._post(
            f"/_emu/users/{user_id}/press", {"message_id": message_id, "data": data}
        )

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

    async def set_limits(self, **limits: Any) -> None:
        await self._post("/_emu/limits", limits)

    async def block(self, chat_id: int, *, blocked: bool = True, missing: bool = False) -> None:
        await self._post(f"/_emu/chats/{chat_id}/block", {"blocked": blocked, "missing": missing})

    async def stats(self) -> dict[str, int]:
        response = await self.http.get("/_emu/stats")
        response.raise_for_status()
        result: dict[str, int] = response.json()
        return result


class Chat:
    """One person's private chat with the bot; remembers what was already read."""

    def __init__(self, client: EmulatorClient, user_id: int, first_name: str = "Ann") -> None:
        self.client = client
        self.user_id = user_id
        self.first_name = first_name
        self.cursor = 0

    async def read(self, count: int = 1, timeout: float = 10.0) -> list[BotMessage]:
        """Wait for ``count`` new messages or edits from the bot, and return all new ones."""
        events = await self.client.events(
            self.user_id, after=self.cursor, count=count, wait=timeout
        )
        if events:
            self.cursor = events[-1]["seq"]
        if len(events) < count:
            got = [BotMessage.from_event(e).text[:80] for e in events]
            raise TimeoutError(f"expected {count} bot messages in {timeout}s, got {got}")
        return [BotMessage.from_event(event) for event in events]

    async def answers(self, count: int = 1, timeout: float = 10.0) -> list[str]:
        """The texts of the bot's answers to pressed buttons ("" when it answered silently),
        oldest first; waits until there are ``count``."""
        events = await self.client.events(self.user_id, count=count, wait=timeout, kinds="answer")
        if len(events) < count:
            raise TimeoutError(f"expected {count} button answers in {timeout}s, got {events}")
        return [str(event["text"]) for event in events]

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
