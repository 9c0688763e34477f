"""LOG_FORMAT=json: one JSON object per line, with the ids a line is about.

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, a
``traceback`` when there is one, and ``chat_id``, ``update_id``, ``digest_id`` and
``feed_id`` where they apply. Those come from the task the line is logged in: the
update processor sets the update's, sending a digest its own, polling a feed its own
(each runs in a task of its own, so one never leaks into another's lines); a record's
own ``extra`` fields of the same names win. The token is scrubbed before formatting, by
the same filter as in plain text (bot.ops.logs).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from telegram import Update

FIELDS = ("chat_id", "update_id", "digest_id", "feed_id")
_ids: ContextVar[dict[str, int] | None] = ContextVar("newsbot_log_ids", default=None)


def _set(**ids: int | None) -> None:
    _ids.set({name: value for name, value in ids.items() if value is not None})


def update_context(update: object) -> None:
    """The lines logged while handling ``update`` carry its id and chat."""
    if isinstance(update, Update):
        chat = update.effective_chat
        _set(update_id=update.update_id, chat_id=chat.id if chat else None)


def digest_context(digest_id: int, chat_id: int) -> None:
    _set(digest_id=digest_id, chat_id=chat_id)


def feed_context(feed_id: int) -> None:
    _set(feed_id=feed_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = _ids.get() or {}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = ids.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
