"""The bot's one HTTP server (aiohttp, which the bot already uses; python-telegram-bot's
own webhook server needs tornado): the webhook, ``/healthz``, ``/readyz`` and
``/metrics``, on WEBHOOK_LISTEN and METRICS_LISTEN (one site each, or one for both when
they are the same address)."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from bot.config import ConfigError
from bot.ops import metrics
from bot.ops.health import Readiness
from bot.ops.settings import Listen
from bot.ops.webhook import WebhookReceiver

MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few kilobytes


class OpsServer:
    def __init__(
        self,
        readiness: Readiness,
        listens: dict[Listen, str],
        *,
        webhook: tuple[str, WebhookReceiver] | None = None,
        metrics_served: bool = False,
    ) -> None:
        self.readiness = readiness
        self.listens = listens  # each address, and the setting that names it
        self.webhook = webhook
        self.metrics_served = metrics_served
        self._runner: web.AppRunner | None = None
        self.bound: dict[Listen, Listen] = {}

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        if self.metrics_served:
            app.router.add_get("/metrics", self._metrics)
        if self.webhook is not None:
            path, receiver = self.webhook
            app.router.add_post(path, receiver.handle)
        return app

    async def start(self) -> dict[Listen, Listen]:
        """Listen on every address: each address asked for, and the one bound (a port 0
        becomes the port given). An address that cannot be had is a `ConfigError` naming
        its setting."""
        self._runner = web.AppRunner(self.application(), access_log=None, handle_signals=False)
        await self._runner.setup()
        for listen, setting in self.listens.items():
            try:
                await web.TCPSite(self._runner, listen.host, listen.port).start()
            except OSError as error:
                await self.stop()
                # asyncio's strerror repeats the address: the errno's words are enough.
                reason = (os.strerror(error.errno) if error.errno else str(error)).lower()
                raise ConfigError(f"{setting}: cannot listen on {listen}: {reason}") from None
            host, port, *_ = self._runner.addresses[-1]
            self.bound[listen] = Listen(str(host), int(port))
        return self.bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0)  # answered from the event loop: it turns
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.readiness.checks()
        ready = all(check.ok for check in checks)
        body = "".join(f"{check}\n" for check in checks)
        return web.Response(text=body, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = metrics.scrape()
        return web.Response(body=body, headers={"Content-Type": content_type})
