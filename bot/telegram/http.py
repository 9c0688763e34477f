"""python-telegram-bot's HTTP layer on aiohttp.

PTB's default `HTTPXRequest` spends most of a message's CPU inside httpx and httpcore:
on this project's benchmark machine a bare httpx client posts about 830 sendMessage
requests a second to the emulator, a bare aiohttp client about 3,200. Delivery sends
every message through this layer, so the bot's requests use aiohttp: the ordinary ones
through a small pool, long polling through a connection of its own.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.ops import metrics

JSON = "application/json"
JSON_BODY = {"Content-Type": JSON}


class NotBotApi(NetworkError):
    """The server at TELEGRAM_API_URL answered, but not as the Bot API answers: with
    something other than its JSON (``{"ok": …}``). A web server at a wrong URL, or a proxy
    in front of Telegram that failed (``status`` 5xx), which may pass."""

    def __init__(self, status: int | None, answer: str) -> None:
        super().__init__(f"not a Bot API answer: {answer}")
        self.status = status
        self.answer = answer


def _is_bot_api_json(body: bytes) -> bool:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("ok"), bool)


def _value(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        *,
        connections: int = 8,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 30.0,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """The Bot API's JSON. PTB's own logs a traceback for anything else (twelve lines
        at every retry against a server that is not the Bot API); this raises
        `NotBotApi`, which start-up turns into one line naming TELEGRAM_API_URL."""
        try:
            data: Any = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise NotBotApi(None, "an answer that is not JSON") from None
        if not isinstance(data, dict) or "ok" not in data:
            raise NotBotApi(None, 'JSON without the Bot API\'s "ok"')
        return data

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            # aiohttp's "connect" covers waiting for a pooled connection, too. It has no
            # separate write timeout; requests here are small, reads are what can hang.
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=_value(read_timeout, self._read_timeout),
        )
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # A JSON body, which the Bot API takes for every method without a file:
                # a form quoted a message's text byte by byte in Python (urllib's quote),
                # 13 % of a delivery pass's CPU.
                # A lone surrogate (never valid UTF-8) goes as its JSON escape, as
                # ensure_ascii would write it, instead of failing the encode.
                text = json.dumps(request_data.parameters, ensure_ascii=False)
                data = text.encode("utf-8", "backslashreplace")
                headers = JSON_BODY
        api_method = url.rsplit("/", 1)[-1]
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                body = await response.read()
                metrics.message_outcome(api_method, response.status)
                # Every Bot API method is a POST answered with JSON (files are GETs);
                # an error is JSON too, {"ok": false, …}. Anything else is another server.
                if method == "POST" and not (
                    response.content_type == JSON
                    and (response.status < 300 or _is_bot_api_json(body))
                ):
                    kind = response.content_type or "no content type"
                    raise NotBotApi(
                        response.status, f"{response.status} {response.reason} ({kind})"
                    )
                return response.status, body
        except TimeoutError as error:
            metrics.message_outcome(api_method, None)
            raise TimedOut from error
        except aiohttp.ClientError as error:
            metrics.message_outcome(api_method, None)
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
