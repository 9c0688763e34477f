"""Privacy: what is stored about a chat, exported (/mydata, `newsbot privacy export`)
and deleted (/forget, `newsbot privacy forget`), and kept only as long as it is needed
(the retention the delivery tick applies). See README, "Privacy".

An export is streamed: rows are read a thousand at a time and written to a file as they
come, so a chat with a long ledger costs a file, not memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.dbretry import retrying
from bot.digest import ChunkFormatError, chunks_from_json
from bot.service import ensure_subscriber
from bot.stops import StopList
from storage import privacy as privacy_repo
from storage.models import ChatType
from storage.privacy import Forgotten

logger = logging.getLogger(__name__)

FORMAT = "newsbot-data/1"
CONFIRM_SECONDS = 600  # a /forget confirmation button is good for this long
# A ledger row serves only while its article can be selected; the margin is the one the
# digest purge keeps (bot.delivery.PURGE_MARGIN), for a pass composing with an older now.
LEDGER_MARGIN = timedelta(days=1)
RETENTION_BATCH = 500  # digests (or chats) per transaction
RETENTION_BATCHES = 20  # at most this many per tick; the rest go at the next ones
BLOCKED_PER_TICK = 100

__all__ = [
    "Forgotten",
    "Retention",
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
    row = await privacy_repo.subscriber_of(session, chat_id)
    links = await privacy_repo.links_of(session, chat_id, row.id if row else None)
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
        writer.key("subscriptions", await privacy_repo.tag_names(session, row.id))
        words = await privacy_repo.words_of(session, row.id)
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
        async for article_id, title, url, sent in privacy_repo.ledger_rows(session, row.id):
            writer.item(
                {"article_id": article_id, "title": title, "link": url, "sent_at": _when(sent)}
            )
    writer.close_list()
    writer.open_list("digests")
    if row is not None:
        async for digest_id, kind, status, created, sent, chunks in privacy_repo.digest_rows(
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
) -> Forgotten | None:
    """Delete every row about the chat, in one transaction; None when nothing was stored.
    A digest being sent to it in this process stops first (``stops``); one in another
    process stops at its next message, when it finds its outbox row gone."""
    if stops is not None:
        stops.stop(chat_id)

    async def forget() -> Forgotten | None:
        async with sessions.begin() as session:
            return await privacy_repo.forget_chat(session, chat_id, private=private)

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
    row = await privacy_repo.subscriber_of(session, chat_id)
    if row is not None:
        return row.id
    if not await privacy_repo.links_of(session, chat_id, None):
        return None
    made = await ensure_subscriber(
        session, chat_id, settings, now, language=language, chat_type=chat_type, title=title
    )
    return made.id


@dataclass
class RetentionReport:
    ledger: int = 0
    chats: int = 0


class Retention:
    """What the delivery tick deletes besides old digests (bot.delivery.purge): the ledger
    rows of digests older than DIGEST_MAX_AGE_DAYS plus a margin (none of their articles
    can be selected any more, so the rows serve no purpose), and the chats that could not
    receive messages for FORGET_BLOCKED_DAYS.

    The ledger is walked by digest creation time from where the last tick stopped (held
    in memory: after a restart the walk begins again at the oldest digest), so each tick
    reads only digests it has not cleared yet."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        on_forgotten: Callable[[int], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_forgotten = on_forgotten
        self._cursor: tuple[datetime, int] | None = None

    async def enforce(self, now: datetime) -> RetentionReport:
        report = RetentionReport()
        try:
            report.ledger = await self._ledger(now)
            report.chats = await self._blocked(now)
        except Exception:
            logger.exception("enforcing retention failed; the next tick tries again")
        if report.ledger or report.chats:
            logger.info(
                "retention: %d ledger rows of old digests deleted, %d chats blocked for %d "
                "days forgotten",
                report.ledger,
                report.chats,
                self.settings.forget_blocked_days,
            )
        return report

    async def _ledger(self, now: datetime) -> int:
        before = now - timedelta(days=self.settings.digest_max_age_days) - LEDGER_MARGIN
        deleted = 0
        for _ in range(RETENTION_BATCHES):
            async with self.sessions.begin() as session:
                found = await privacy_repo.digests_created_between(
                    session, self._cursor, before, RETENTION_BATCH
                )
                deleted += await privacy_repo.drop_ledger_of(session, [d for _, d in found])
            if found:
                self._cursor = found[-1]
            if len(found) < RETENTION_BATCH:
                break
        return deleted

    async def _blocked(self, now: datetime) -> int:
        before = now - timedelta(days=self.settings.forget_blocked_days)
        async with self.sessions() as session:
            chats = await privacy_repo.blocked_before(session, before, BLOCKED_PER_TICK)
        for chat_id in chats:
            async with self.sessions.begin() as session:
                await privacy_repo.forget_chat(session, chat_id)
            if self.on_forgotten is not None:
                self.on_forgotten(chat_id)
        return len(chats)
