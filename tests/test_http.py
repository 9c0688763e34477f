"""The aiohttp request layer under python-telegram-bot: bodies, timeouts, errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http import AiohttpRequest


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/slow":
            await asyncio.sleep(2)
        if request.content_type.startswith("multipart/"):
            fields = {}
            async for part in await request.multipart():
                fields[part.name] = (part.filename, (await part.read()).decode())  # type: ignore[union-attr]
            return web.json_response({"multipart": fields})
        form = await request.post()
        return web.json_response({"form": {k: str(v) for k, v in form.items()}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    # The /slow handler is still asleep at the end: do not wait for it.
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_form_and_multipart_bodies(echo: str) -> None:
    request = AiohttpRequest()
    async with request:
        form = RequestData([RequestParameter.from_input("chat_id", 5)])
        status, body = await request.do_request(f"{echo}/sendMessage", "POST", form)
        assert status == 200
        assert request.parse_json_payload(body) == {"form": {"chat_id": "5"}}
        upload = RequestData(
            [
                RequestParameter.from_input("chat_id", 5),
                RequestParameter.from_input("document", InputFile(b"hello", filename="a.txt")),
            ]
        )
        status, body = await request.do_request(f"{echo}/sendDocument", "POST", upload)
        fields = request.parse_json_payload(body)["multipart"]
        assert fields["chat_id"] == [None, "5"]
        assert fields[next(k for k in fields if k != "chat_id")] == ["a.txt", "hello"]


async def test_timeouts_and_network_errors(echo: str) -> None:
    request = AiohttpRequest(read_timeout=0.2)
    async with request:
        with pytest.raises(TimedOut):
            await request.do_request(f"{echo}/slow", "POST")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_port = probe.getsockname()[1]
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
            await request.do_request(f"http://127.0.0.1:{free_port}/x", "POST")
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{echo}/x", "GET")
