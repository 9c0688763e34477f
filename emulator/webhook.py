"""Webhook delivery as Telegram does it: once a bot called ``setWebhook``, its updates are
POSTed to the URL (with the ``X-Telegram-Bot-Api-Secret-Token`` header) instead of
waiting for ``getUpdates``, which answers 409 Conflict until ``deleteWebhook``.

An update leaves the queue only when the bot answered it with a 2xx; any other answer,
or no answer, is recorded as ``last_error_message`` (what ``getWebhookInfo`` shows) and
the same update is posted again after a growing pause, so that a bot that was down gets
every update once, in order. Unlike Telegram, which keeps up to ``max_connections``
requests open at once, the emulator posts one update at a time (order is then exact) and
accepts plain-HTTP URLs (the bot under test listens on loopback), and it retries sooner
(``retry_first`` doubling up to ``retry_max`` seconds, not minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from emulator.errors import ApiError
from util import backoff

if TYPE_CHECKING:
    from emulator.world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
TERMINATED = "Conflict: terminated by setWebhook request"
REQUEST_TIMEOUT = 10.0


class Webhook:
    """The world's webhook: its settings, and the task that posts its updates."""

    def __init__(self, world: World, *, retry_first: float = 0.1, retry_max: float = 1.0) -> None:
        self.world = world
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.url = ""
        self.secret: str | None = None
        self.allowed: list[str] | None = None
        self.max_connections = 40
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def active(self) -> bool:
        return bool(self.url)

    async def set(self, params: dict[str, Any]) -> bool:
        """setWebhook: an empty URL removes the webhook, as Telegram's does."""
        url = str(params.get("url") or "")
        if not url:
            return await self.delete(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)
        ):
            raise ApiError(400, "Bad Request: allowed_updates must be a list of strings")
        if _truthy(params.get("drop_pending_updates")):
            self.world.updates.clear()
        self.url = url
        self.secret = None if secret is None else str(secret)
        self.allowed = allowed
        self.max_connections = int(params.get("max_connections") or 40)
        self.last_error_date = self.last_error_message = None
        self.world.counters["set_webhook"] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._post_updates(), name="emulator-webhook")
        await self._wake()
        return True

    async def delete(self, params: dict[str, Any]) -> bool:
        """deleteWebhook: updates wait for getUpdates again."""
        if _truthy(params.get("drop_pending_updates")):
            self.world.updates.clear()
        self.url = ""
        self.secret = self.allowed = None
        await self._wake()
        return True

    def info(self) -> dict[str, Any]:
        """getWebhookInfo."""
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.active:
            info["max_connections"] = self.max_connections
            if self.allowed is not None:
                info["allowed_updates"] = self.allowed
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _wake(self) -> None:
        """Let the posting task, and a parked getUpdates, see the change."""
        self._changed.set()
        async with self.world.new_update:
            self.world.new_update.notify_all()

    async def _next(self) -> dict[str, Any] | None:
        """The oldest waiting update the bot asked for, once there is one; None once the
        webhook is deleted."""
        world = self.world
        async with world.new_update:
            while True:
                if not self.active or world.closing.is_set():
                    return None
                while world.updates and not self._wanted(world.updates[0]):
                    world.updates.pop(0)  # Telegram never sends kinds not allowed
                if world.updates:
                    return world.updates[0]
                await world.new_update.wait()

    def _wanted(self, update: dict[str, Any]) -> bool:
        if not self.allowed:
            return True
        return any(kind in update for kind in self.allowed)

    async def _post_updates(self) -> None:
        failures = 0  # in a row; a success starts again at retry_first
        async with aiohttp.ClientSession() as session:
            while (update := await self._next()) is not None:
                error = await self._post(session, update)
                if error is None:
                    if self.world.updates and self.world.updates[0] is update:
                        self.world.updates.pop(0)
                    self.world.counters["webhook_delivered"] += 1
                    failures = 0
                    continue
                self.world.counters["webhook_errors"] += 1
                self.last_error_date = int(time.time())
                self.last_error_message = error
                self._changed.clear()
                delay = backoff(failures, self.retry_first, self.retry_max)
                failures += 1
                with contextlib.suppress(TimeoutError):  # a new setWebhook cuts it short
                    await asyncio.wait_for(self._changed.wait(), delay)

    async def _post(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> str | None:
        """None when the bot took the update, else Telegram's words for what went wrong."""
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SECRET_HEADER] = self.secret
        try:
            async with session.post(
                self.url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as error:
            return f"Connection error: {type(error).__name__}"


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")
