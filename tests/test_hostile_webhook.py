"""Hostile requests to the webhook and the ops server: each is answered with a clear status
and nothing of it is handled."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.ops.webhook import SECRET_HEADER
from bot.telegram.context import BotApplication
from emulator import Chat, EmulatorClient
from storage.models import Tag
from tests.auxil.clock import FakeClock
from tests.auxil.running import free_port, webhook_bot, webhook_settings

SECRET = "test-secret_0123456789"


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return webhook_settings(settings, free_port())


@pytest.fixture
async def app(hook_settings: Settings, clock: FakeClock) -> AsyncIterator[BotApplication]:
    async with webhook_bot(hook_settings, clock=clock) as (app, _):
        yield app


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private", "first_name": "Mallory"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": text.find(" ")}],
        },
    }


async def _tags(app: BotApplication) -> list[str]:
    async with app.bot_data.sessions() as session:
        return list((await session.scalars(select(Tag.name))).all())


async def test_bodies_that_are_not_updates_get_400_and_nothing_is_handled(
    user: Chat, app: BotApplication, hook_settings: Settings, http: aiohttp.ClientSession
) -> None:
    url = hook_settings.webhook_url
    headers = {SECRET_HEADER: SECRET}
    bodies: list[bytes] = [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b"42",
        b'"text"',
        b"null",
        b"{}",
        b'{"update_id": "abc"}',
        b'{"update_id": 1.5}',
        b'{"update_id": 7, "message": "hi"}',
        b'{"update_id": 8, "message": {"chat": 5}}',
        b'{"update_id": 9, "callback_query": []}',
        b'{"update_id": 10, "message": {"message_id": 1, "date": 0, "chat": null}}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    for body in bodies:
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 400, body[:40]
            assert "not an update" in await response.text()
    [reply] = await user.ask("/subscriptions")
    assert "Mallory" not in reply.text
    assert await _tags(app) == []


async def test_a_huge_body_gets_413_before_it_is_read(
    user: Chat, app: BotApplication, hook_settings: Settings, http: aiohttp.ClientSession
) -> None:
    huge = b'{"update_id": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    async with http.post(
        hook_settings.webhook_url, data=io.BytesIO(huge), headers={SECRET_HEADER: SECRET}
    ) as response:
        assert response.status == 413
    # Without the secret, the body is not read at all: 403.
    async with http.post(hook_settings.webhook_url, data=io.BytesIO(huge)) as response:
        assert response.status == 403
    [reply] = await user.ask("/help")
    assert "/subscribe — " in reply.text


@pytest.mark.parametrize(
    "given",
    [
        SECRET.upper(),
        SECRET.lower().replace("_", "-"),
        SECRET[:-1],
        SECRET + "0",
        f"{SECRET} {SECRET}",
        "",
        "тест-секрет",
        "\t",
    ],
)
async def test_a_secret_in_another_case_or_spelling_is_refused(
    given: str,
    user: Chat,
    app: BotApplication,
    hook_settings: Settings,
    http: aiohttp.ClientSession,
) -> None:
    forged = _update(999_001, user.user_id, "/subscribe forgedtag")
    async with http.post(
        hook_settings.webhook_url, json=forged, headers={SECRET_HEADER: given}
    ) as response:
        assert response.status == 403
    [reply] = await user.ask("/subscriptions")
    assert "forgedtag" not in reply.text
    assert await _tags(app) == []


async def test_a_secret_header_with_bytes_that_are_not_utf8_is_refused(
    user: Chat, app: BotApplication, hook_settings: Settings
) -> None:
    """A raw request: aiohttp's client would not send these bytes in a header."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(hook_settings.webhook_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    body = b'{"update_id": 5}'
    writer.write(
        b"POST "
        + parts.path.encode()
        + b" HTTP/1.1\r\nHost: x\r\n"
        + SECRET_HEADER.encode()
        + b": \xff\xfe"
        + SECRET.encode()
        + b"\r\n"
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    await writer.drain()
    status = (await reader.readline()).decode()
    writer.close()
    assert status.split()[1] in {"400", "403"}, status
    [reply] = await user.ask("/help")
    assert "/subscribe — " in reply.text


async def test_a_replayed_update_is_handled_once(
    user: Chat, app: BotApplication, hook_settings: Settings, http: aiohttp.ClientSession
) -> None:
    update = _update(777_000_001, user.user_id, "/subscribe replayed")
    for _ in range(3):
        async with http.post(
            hook_settings.webhook_url, json=update, headers={SECRET_HEADER: SECRET}
        ) as response:
            assert response.status == 200
    [first] = await user.read(1)
    assert "replayed" in first.text
    [reply] = await user.ask("/help")
    assert "/subscribe — " in reply.text  # nothing came between: the replays were dropped


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_methods_other_than_post_get_405(
    method: str, app: BotApplication, hook_settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with http.request(
        method, hook_settings.webhook_url, headers={SECRET_HEADER: SECRET}
    ) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "path", ["/", "/telegram/", "/TELEGRAM", "/telegram/../telegram2", "/metrics", "/x" * 500]
)
async def test_other_paths_get_404(
    path: str, app: BotApplication, hook_settings: Settings, http: aiohttp.ClientSession
) -> None:
    base = hook_settings.webhook_url.removesuffix("/telegram")
    async with http.post(base + path, json={}, headers={SECRET_HEADER: SECRET}) as response:
        assert response.status == 404


@pytest.mark.parametrize(
    "path", ["/hook%20one", "/%D0%B1%D0%BE%D1%82", "/бот", "/tg;x", "/a/b/c-d_e.f~g"]
)
async def test_a_webhook_path_with_escapes_or_unicode_is_served(
    path: str, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    hook = webhook_settings(settings, free_port(), path=path)
    async with webhook_bot(hook, clock=clock):
        [reply] = await Chat(emu, 4101).ask("/help")
        assert "/subscribe — " in reply.text
