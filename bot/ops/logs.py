"""Logging set-up. The bot token is part of every Bot API URL, so it is scrubbed."""

from __future__ import annotations

import logging

from cachetools import TTLCache

from bot.ops import quiet
from bot.ops.logjson import JsonFormatter


def redact(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text


class RedactToken(logging.Filter):
    """Replace the token wherever it appears in a record's final message."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self._token:
            message = record.getMessage()
            if self._token in message:
                record.msg = message.replace(self._token, "<token>")
                record.args = None
            if record.exc_info and record.exc_text is None:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text and self._token in record.exc_text:
                record.exc_text = record.exc_text.replace(self._token, "<token>")
        return True


def setup_logging(level: str, token: str, log_format: str = "text") -> None:
    """Log to stderr at ``level``: plain text, or (``json``) one JSON object a line."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and those URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    quiet.install()


class LogLimiter:
    """Says whether a log line may be written: each distinct line once per ``interval``
    seconds; the lines remembered are bounded (the oldest are forgotten first)."""

    def __init__(self, interval: float = 60.0, *, max_lines: int = 1_000) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=max_lines, ttl=interval)

    def allow(self, line: str) -> bool:
        if line in self._seen:
            return False
        self._seen[line] = True
        return True
