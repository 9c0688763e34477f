"""No traceback for a condition the bot handles; tracebacks stay for bugs.

python-telegram-bot logs a 30-line traceback when its polling loop meets a rejected token
(InvalidToken), before the bot ends the process with one line saying so; and its default
polling error callback logs a traceback at every network error it then retries. Both are
handled conditions: the first is dropped here, the second is one line (at most once a
minute for the same line).

APScheduler warns at every tick of a repeating job that finds the last run still busy.
A delivery pass of a million readers runs for many ticks, one at a time by design
(bot.telegram.app): the skipped ticks are noted at debug level, not as a warning a
minute (one a tick was also what stalled the scale benchmark's workers once the pipe
their log went to was full).
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
SCHEDULER_LOGGER = "apscheduler.scheduler"
BUSY_TICK = "maximum number of running instances reached"
_limits: list[LogLimiter] = []  # made at the first line: bot.ops.logs imports this module


class DropHandledTracebacks(logging.Filter):
    """Drop python-telegram-bot's records of an InvalidToken: the bot handles it (start-up
    and a revoked token each end the process with one line naming the setting)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, InvalidToken)


class BusyTicksAtDebug(logging.Filter):
    """APScheduler's warning that a tick was skipped because the job's last run is still
    going: for the ticks of this bot, which run one at a time on purpose, a debug line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and BUSY_TICK in record.msg):
            return True
        logger.debug("a tick was skipped: %s", record.getMessage())
        return False


def install() -> None:
    """Add the filters, once however often it is called."""
    for name, kind in (
        (PTB_LOOP_LOGGER, DropHandledTracebacks),
        (SCHEDULER_LOGGER, BusyTicksAtDebug),
    ):
        filtered = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in filtered.filters):
            filtered.addFilter(kind())


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
