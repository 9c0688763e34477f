"""The outbox contract: what compose writes and send reads. A digest is a row of the
outbox (storage.repo.outbox) with its messages, each a `Chunk` stored as JSON, and a
lease: the process that composed or resumed it sends it before `LEASE` runs out, or
another one takes it up. `Outbound` is what a sender holds of a digest. Pure code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

LEASE = timedelta(minutes=5)


class ChunkFormatError(ValueError):
    """A stored outbox message is not what `Chunk.to_json` writes."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One Telegram message, the articles it carries and its URL buttons (text, URL), one
    per row. The outbox stores it as JSON; `to_json` and `from_json` are the only places
    that know that shape (a row stored before buttons existed has none)."""

    text: str
    article_ids: tuple[int, ...] = ()
    buttons: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "article_ids": list(self.article_ids)}
        if self.buttons:
            data["buttons"] = [list(button) for button in self.buttons]
        return data

    @classmethod
    def from_json(cls, data: object) -> Chunk:
        if not isinstance(data, dict):
            raise ChunkFormatError(f"expected an object, got {type(data).__name__}")
        text, ids = data.get("text"), data.get("article_ids", [])
        if not isinstance(text, str) or not text:
            raise ChunkFormatError("expected a non-empty 'text'")
        if not isinstance(ids, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in ids
        ):
            raise ChunkFormatError("expected 'article_ids' to be a list of integers")
        buttons = data.get("buttons", [])
        if not isinstance(buttons, list) or not all(
            isinstance(b, list) and len(b) == 2 and all(isinstance(x, str) and x for x in b)
            for b in buttons
        ):
            raise ChunkFormatError("expected 'buttons' to be a list of [text, url] pairs")
        return cls(text, tuple(ids), tuple((text, url) for text, url in buttons))


def chunks_to_json(chunks: Iterable[Chunk]) -> list[dict[str, Any]]:
    return [chunk.to_json() for chunk in chunks]


def chunks_from_json(data: object) -> tuple[Chunk, ...]:
    if not isinstance(data, list):
        raise ChunkFormatError(f"expected a list of messages, got {type(data).__name__}")
    return tuple(Chunk.from_json(item) for item in data)


@dataclass(frozen=True, slots=True)
class Outbound:
    """A composed digest, ready to be sent from message ``sent_chunks`` on. ``chunks`` are
    its unsent messages, the first of them message ``sent_chunks`` (the outbox keeps no
    text of a message once it is sent)."""

    digest_id: int
    subscriber_id: int
    chat_id: int
    chunks: tuple[Chunk, ...]
    sent_chunks: int = 0
    message_ids: tuple[int, ...] = ()
    thread_id: int | None = None  # the forum topic of a supergroup, if one was chosen

    @property
    def total(self) -> int:
        """How many messages the digest has, sent or not."""
        return self.sent_chunks + len(self.chunks)

    @property
    def article_count(self) -> int:
        return sum(len(chunk.article_ids) for chunk in self.chunks)

    def chunk(self, index: int) -> Chunk:
        """Message ``index`` of the digest (one not sent yet)."""
        return self.chunks[index - self.sent_chunks]

    def article_ids_from(self, index: int) -> list[int]:
        """The articles of messages ``index`` and later: what is unsent when the send
        stops there."""
        return [a for chunk in self.chunks[index - self.sent_chunks :] for a in chunk.article_ids]
