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

from bot.telegram.http import AiohttpRequest, NotBotApi


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/slow":
            await asyncio.sleep(2)
        if request.content_type.startswith("multipart/"):
            fields = {}
            async for part in await request.multipart():
                fields[part.name] = (part.filename, (await part.read()).decode())  # type: ignore[union-attr]
            return web.json_response({"ok": True, "result": {"multipart": fields}})
        if request.path == "/page":
            return web.Response(text="<html>a page</html>", content_type="text/html")
        if request.content_type == "application/json":
            return web.json_response({"ok": True, "result": {"json": await request.json()}})
        form = await request.post()
        return web.json_response(
            {"ok": True, "result": {"form": {k: str(v) for k, v in form.items()}}}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    # The /slow handler is still asleep at the end: do not wait for it.
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_json_and_multipart_bodies(echo: str) -> None:
    request = AiohttpRequest()
    async with request:
        parameters = {
            "chat_id": 5,
            "text": "Привіт, <b>світ</b> & שלום \u202e 🙂",
            "reply_markup": {"inline_keyboard": [[{"text": "Так", "callback_data": "y:1"}]]},
            "allow_paid_broadcast": True,
        }
        message = RequestData([RequestParameter.from_input(k, v) for k, v in parameters.items()])
        status, body = await request.do_request(f"{echo}/sendMessage", "POST", message)
        assert status == 200
        assert request.parse_json_payload(body)["result"] == {"json": parameters}
        # A lone surrogate is not UTF-8: it goes as its JSON escape, as a form sent it.
        broken = {"chat_id": 5, "text": "half of \ud83d an emoji"}
        message = RequestData([RequestParameter.from_input(k, v) for k, v in broken.items()])
        status, body = await request.do_request(f"{echo}/sendMessage", "POST", message)
        assert request.parse_json_payload(body)["result"] == {"json": broken}
        upload = RequestData(
            [
                RequestParameter.from_input("chat_id", 5),
                RequestParameter.from_input("document", InputFile(b"hello", filename="a.txt")),
            ]
        )
        status, body = await request.do_request(f"{echo}/sendDocument", "POST", upload)
        fields = request.parse_json_payload(body)["result"]["multipart"]
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


async def test_an_answer_that_is_not_the_bot_apis_is_named_without_a_traceback(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PTB's own JSON parsing logged a traceback for every such answer."""
    request = AiohttpRequest()
    async with request:
        with pytest.raises(NotBotApi) as caught:
            await request.do_request(f"{echo}/page", "POST")
        assert (caught.value.status, caught.value.answer) == (200, "200 OK (text/html)")
        status, body = await request.do_request(f"{echo}/page", "GET")  # a file: any type
        assert (status, body) == (200, b"<html>a page</html>")
    for payload, answer in (
        (b"<html>", "an answer that is not JSON"),
        (b'{"result": 1}', 'JSON without the Bot API\'s "ok"'),
        (b"[1, 2]", 'JSON without the Bot API\'s "ok"'),
    ):
        with pytest.raises(NotBotApi) as parsed:
            AiohttpRequest.parse_json_payload(payload)
        assert parsed.value.answer == answer
    assert isinstance(parsed.value, NetworkError)  # in delivery: retried, like a 5xx
    assert caplog.records == []
