"""No traceback for a condition the bot handles; tracebacks stay for bugs.

python-telegram-bot logs a 30-line traceback when its polling loop meets a rejected token
(InvalidToken), before the bot ends the process with one line saying so; and its default
polling error callback logs a traceback at every network error it then retries. Both are
handled conditions: the first is dropped here, the second is one line (at most once a
minute for the same line).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram.error import InvalidToken, NetworkError, TelegramError

if TYPE_CHECKING:
    from bot.ops.logs import LogLimiter

logger = logging.getLogger("bot.polling")
# python-telegram-bot's network retry loop logs under this name (its utils' logger).
PTB_LOOP_LOGGER = "telegram.ext"
_limits: list[LogLimiter] = []  # made at the first line: bot.ops.logs imports this module


class DropHandledTracebacks(logging.Filter):
    """Drop python-telegram-bot's records of an InvalidToken: the bot handles it (start-up
    and a revoked token each end the process with one line naming the setting)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, InvalidToken)


def install() -> None:
    logging.getLogger(PTB_LOOP_LOGGER).addFilter(DropHandledTracebacks())


def polling_error(error: TelegramError) -> None:
    """The Updater's error callback: polling failed and will be retried."""
    if isinstance(error, InvalidToken):
        return  # polling ends; the bot says so in one line and exits
    kind = "network error" if isinstance(error, NetworkError) else "error"
    line = f"polling: {kind}: {type(error).__name__}: {error}; retrying"
    if not _limits:
        from bot.ops.logs import LogLimiter

        _limits.append(LogLimiter())
    if _limits[0].allow(line):
        logger.warning(line)
