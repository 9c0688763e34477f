"""Privacy's use cases: what is stored about a chat, exported (/mydata, `newsbot privacy
export`) and deleted (/forget, `newsbot privacy forget`). See README, "Privacy".

An export is streamed: rows are read a thousand at a time and written to a file as they
come, so a chat with a long ledger costs a file, not memory.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery.outbox import ChunkFormatError, chunks_from_json
from bot.subscriptions.service import ensure_subscriber
from bot.telegram.stops import StopList
from storage import repo
from storage.models import ChatType
from storage.retry import retrying

logger = logging.getLogger(__name__)

FORMAT = "newsbot-data/1"
CONFIRM_SECONDS = 600  # a /forget confirmation button is good for this long

__all__ = [
    "chat_to_forget",
    "export_chat",
    "export_name",
    "forget_chat",
]


def export_name(chat_id: int) -> str:
    return f"newsbot-data-{chat_id}.json"


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class _Writer:
    """A JSON document written piece by piece: a list's items as they come."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.first = True

    def raw(self, text: str) -> None:
        self.out.write(text.encode())

    def key(self, name: str, value: Any) -> None:
        self.raw(f',\n  "{name}": ' + json.dumps(value, ensure_ascii=False))

    def open_list(self, name: str) -> None:
        self.raw(f',\n  "{name}": [')
        self.first = True

    def item(self, value: Any) -> None:
        self.raw(("\n    " if self.first else ",\n    ") + json.dumps(value, ensure_ascii=False))
        self.first = False

    def close_list(self) -> None:
        self.raw("]" if self.first else "\n  ]")


def _messages(chunks: object) -> list[str]:
    try:
        return [chunk.text for chunk in chunks_from_json(chunks)]
    except ChunkFormatError:
        return [json.dumps(chunks, ensure_ascii=False)]


async def export_chat(session: AsyncSession, chat_id: int, out: IO[bytes], now: datetime) -> bool:
    """Write everything stored about the chat to ``out`` as one JSON document; False
    (and nothing written) when nothing is stored."""
    row = await repo.subscriber_of(session, chat_id)
    links = await repo.links_of(session, chat_id, row.id if row else None)
    if row is None and not links:
        return False
    writer = _Writer(out)
    writer.raw("{\n  " + f'"format": "{FORMAT}"')
    writer.key("exported_at", _when(now))
    writer.key("chat_id", chat_id)
    if row is not None:
        writer.key(
            "chat",
            {
                "type": str(row.chat_type),
                "title": row.title,
                "language": row.language,
                "timezone": row.timezone,
                "digest_time": row.digest_time.strftime("%H:%M"),
                "frequency": row.frequency,
                "weekday": row.weekday,
                "paused": row.paused,
                "blocked": row.blocked,
                "blocked_since": _when(row.blocked_at),
                "forum_topic": row.thread_id,
                "next_digest_at": _when(row.next_due_at),
                "first_seen": _when(row.created_at),
            },
        )
        writer.key("subscriptions", await repo.subscribed_tag_names(session, row.id))
        words = await repo.words_of(session, row.id)
        writer.key("words", [{"word": word, "kind": kind} for word, kind in words])
    writer.open_list("links")
    for user_id, linked, kind, title, selected, created in links:
        writer.item(
            {
                "user_id": user_id,
                "chat_id": linked,
                "type": str(kind),
                "title": title,
                "selected": bool(selected),
                "linked_at": _when(created),
            }
        )
    writer.close_list()
    writer.open_list("ledger")
    if row is not None:
        async for article_id, title, url, sent in repo.ledger_rows(session, row.id):
            writer.item(
                {"article_id": article_id, "title": title, "link": url, "sent_at": _when(sent)}
            )
    writer.close_list()
    writer.open_list("digests")
    if row is not None:
        async for digest_id, kind, status, created, sent, chunks in repo.digest_rows(
            session, row.id
        ):
            writer.item(
                {
                    "id": digest_id,
                    "kind": str(kind),
                    "status": str(status),
                    "created_at": _when(created),
                    "sent_at": _when(sent),
                    "messages": _messages(chunks),
                }
            )
    writer.close_list()
    writer.raw("\n}\n")
    return True


async def forget_chat(
    sessions: async_sessionmaker[AsyncSession],
    chat_id: int,
    *,
    stops: StopList | None = None,
    private: bool | None = None,
) -> repo.Forgotten | None:
    """Delete every row about the chat, in one transaction; None when nothing was stored.
    A digest being sent to it in this process stops first (``stops``); one in another
    process stops at its next message, when it finds its outbox row gone."""
    if stops is not None:
        stops.stop(chat_id)

    async def forget() -> repo.Forgotten | None:
        async with sessions.begin() as session:
            return await repo.forget_chat(session, chat_id, private=private)

    forgotten = await retrying(forget, f"forgetting chat {chat_id}")
    if forgotten is not None:
        logger.info("chat %s forgotten at its request", chat_id)
    return forgotten


async def chat_to_forget(
    session: AsyncSession,
    chat_id: int,
    settings: Settings,
    now: datetime,
    *,
    language: str,
    chat_type: ChatType,
    title: str | None,
) -> int | None:
    """The subscriber id a /forget confirmation names, or None when nothing is stored
    about the chat. A person who only linked channels (no row of their own) gets the row
    now, with default settings, so that the button has a chat to name."""
    row = await repo.subscriber_of(session, chat_id)
    if row is not None:
        return row.id
    if not await repo.links_of(session, chat_id, None):
        return None
    made = await ensure_subscriber(
        session,
        chat_id,
        settings.defaults,
        now,
        language=language,
        chat_type=chat_type,
        title=title,
    )
    return made.id
