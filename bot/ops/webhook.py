"""Webhook mode: Telegram POSTs each update to WEBHOOK_URL, which a reverse proxy passes
to the bot on WEBHOOK_LISTEN. An update goes into the Application's update queue, the
one long polling fills, so it is handled by the same update processor (per-chat order,
the flood throttle) and handlers.

Every request must carry WEBHOOK_SECRET in ``X-Telegram-Bot-Api-Secret-Token`` (Telegram
sends the ``secret_token`` given to setWebhook); one without it, or with another, is
answered 403, and nothing of it is read. Such a request is logged, once an hour per
address and kind, so that a flood of forged requests does not flood the log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from cachetools import LRUCache
from telegram import Update
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.config import ConfigError, Settings
from util import backoff

if TYPE_CHECKING:
    from bot.ops.logs import LogLimiter
    from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FORGED_LOG_INTERVAL = 3600.0
SET_ATTEMPTS = 5
REMEMBERED_UPDATES = 10_000  # the newest update ids, to handle a resent one once


class WebhookReceiver:
    """The aiohttp handler of the webhook's path."""

    def __init__(self, app: BotApplication, secret: str) -> None:
        from bot.ops.logs import LogLimiter

        self.app = app
        self._secret = secret.encode()
        self._forged: LogLimiter = LogLimiter(FORGED_LOG_INTERVAL)
        self._seen: LRUCache[int, None] = LRUCache(REMEMBERED_UPDATES)
        self.refused = 0
        self.received = 0

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        # surrogateescape: a header's bytes that are not UTF-8 are compared as they came.
        if given is None or not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self._secret
        ):
            self.refused += 1
            kind = "without the secret token" if given is None else "with a wrong secret token"
            line = f"webhook: refused a request from {request.remote} {kind} (403)"
            if self._forged.allow(line):
                logger.warning(line)
            return web.Response(status=403, text="Forbidden")
        try:
            data = json.loads(await request.read())
            check_shape(data)
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            # Telegram sends only updates; anything else is a mistake or an attack, and
            # python-telegram-bot's parser raises whatever a wrong shape makes it raise.
            logger.warning("webhook: a request that is not an update (400): %.200s", error)
            return web.Response(status=400, text="Bad Request: not an update")
        if update.update_id in self._seen:
            # Telegram sends an update again when its answer did not come back in time (a
            # proxy's timeout); handled once is enough: OK, so that it stops.
            logger.info("webhook: update %d came again; handled once already", update.update_id)
            return web.Response(text="OK")
        self._seen[update.update_id] = None
        self.received += 1
        await self.app.update_queue.put(update)
        return web.Response(text="OK")


_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")
_WITH_FROM = ("callback_query", "inline_query", "my_chat_member", "chat_member")


def _is_id(value: object) -> bool:
    return type(value) is int


def check_shape(data: object) -> None:
    """What python-telegram-bot's parser takes for granted and a handler reads: an
    object with an integer update_id, and for the kinds the bot handles, a chat (or a
    sender) with an integer id. Raises ValueError naming what is wrong."""
    if not isinstance(data, dict) or not _is_id(data.get("update_id")):
        raise ValueError("expected a JSON object with an integer update_id")
    for kind in (*_MESSAGES, *_WITH_FROM):
        if kind not in data:
            continue
        body = data[kind]
        if not isinstance(body, dict):
            raise ValueError(f"{kind}: expected an object")
        owner = body.get("chat") if kind in _MESSAGES or "chat" in body else body.get("from")
        if not isinstance(owner, dict) or not _is_id(owner.get("id")):
            raise ValueError(f"{kind}: expected a chat or sender with an integer id")


async def set_webhook(app: BotApplication, settings: Settings, allowed: list[str]) -> None:
    """Tell Telegram where to post updates, keeping the ones that wait (pending updates
    are not dropped). A URL Telegram refuses stops start-up naming WEBHOOK_URL."""
    for attempt in range(1, SET_ATTEMPTS + 1):
        try:
            await app.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=allowed,
                drop_pending_updates=False,
            )
            return
        except BadRequest as error:
            raise ConfigError(f"WEBHOOK_URL: Telegram refused it: {error.message}") from None
        except NetworkError as error:
            if attempt == SET_ATTEMPTS:
                raise ConfigError(f"WEBHOOK_URL: setWebhook failed: {error}") from None
            delay = backoff(attempt - 1, 0.5)
            logger.warning("setWebhook failed (%s); retrying in %g s", error, delay)
            await asyncio.sleep(delay)
        except TelegramError as error:
            raise ConfigError(f"WEBHOOK_URL: setWebhook failed: {error}") from None
