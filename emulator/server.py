"""A Bot API emulator: a real HTTP server that answers the way Telegram does.

It serves ``/bot<token>/<method>`` (``emulator.botapi``) and ``/file/bot<token>/<path>``
for the bot, and a control API under ``/_emu/`` (``emulator.control``) for tests, the demo
and the benchmarks, over one world (``emulator.world``). This module wires them together,
checks the token, and starts and stops the server.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from emulator import botapi, control
from emulator.errors import ApiError, error_response
from emulator.world import World

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{1,100}")


def bot_id_of(token: str) -> int:
    """The bot's user id: the part of a token before the colon."""
    match = _TOKEN.fullmatch(token)
    return int(match.group(1)) if match else 1


class Emulator:
    """The server. ``await start()`` binds to loopback and returns the API root URL."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "newsbot_demo_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        adopt_token: bool = False,
    ) -> None:
        self._token = token
        self.state = World(bot_id_of(token), bot_username)
        # Standalone, the emulator serves whichever well-formed token the first bot
        # brings, so that any TELEGRAM_BOT_TOKEN works against it; tests pin one.
        self.adopt_token = adopt_token
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def token(self) -> str:
        return self._token

    def _authorized(self, token: str) -> bool:
        if token == self._token:
            return True
        if self.adopt_token and _TOKEN.fullmatch(token):
            self.adopt_token = False
            self._token = token
            self.state.bot_user["id"] = bot_id_of(token)
            logger.warning("serving the bot with id %s (the token it brought)", bot_id_of(token))
            return True
        return False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        control.add_routes(app, self.state)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Release every parked request first: cleanup waits for open handlers to end."""
        if self._runner is not None:
            self.state.closing.set()
            for log in self.state.chats.values():
                log.changed.set()
            async with self.state.new_update:
                self.state.new_update.notify_all()
            await self.state.webhook.close()
            await self._runner.cleanup()
            self._runner = None

    # -------------------------------------------------------------- Bot API

    async def _api(self, request: web.Request) -> web.Response:
        if not self._authorized(request.match_info["token"]):
            return error_response(ApiError(401, "Unauthorized"))
        return await botapi.answer(self.state, request.match_info["method"], request)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request.match_info["token"]):
            return web.Response(status=401, text="Unauthorized")
        wanted = request.match_info["path"]
        for path, content in self.state.files.values():
            if path == wanted:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")
