"""Webhook mode end to end: the emulator posts updates to the bot's own HTTP server, with
the secret header, and retries while the bot is down; a forged request is refused."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from telegram.error import Conflict

from bot.config import Settings
from bot.ops.webhook import SECRET_HEADER
from bot.telegram.context import BotApplication
from emulator import Chat, Emulator, EmulatorClient
from storage.models import Tag
from tests import test_bot_subscriber as journey
from tests.auxil.clock import FakeClock
from tests.auxil.loopback import loopback_request
from tests.auxil.running import free_port, running_bot, webhook_bot, webhook_settings

# Every test of the subscriber journey runs again in this module, over the webhook: the
# `app` fixture below replaces the polling one for them.
globals().update({name: getattr(journey, name) for name in dir(journey) if name[:5] == "test_"})


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return webhook_settings(settings, free_port())


@pytest.fixture
async def app(hook_settings: Settings, clock: FakeClock) -> AsyncIterator[BotApplication]:
    async with webhook_bot(hook_settings, clock=clock) as (app, _):
        yield app


async def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    """Until ``predicate()`` holds (the emulator's retries run on their own)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_updates_come_by_webhook_and_get_updates_is_refused(
    user: Chat, app: BotApplication, hook_settings: Settings, emulator: Emulator
) -> None:
    [reply] = await user.ask("/help")
    assert "/subscribe — " in reply.text
    info = await app.bot.get_webhook_info()
    assert info.url == hook_settings.webhook_url
    assert info.pending_update_count == 0
    assert set(info.allowed_updates or ()) == {
        "message",
        "callback_query",
        "inline_query",
        "my_chat_member",
    }
    assert emulator.state.webhook.secret == hook_settings.webhook_secret.get_secret_value()
    with pytest.raises(Conflict, match="webhook is active"):
        await app.bot.get_updates(timeout=0)


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat_id, "type": "private", "first_name": "Mallory"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
        },
    }


async def test_a_forged_request_is_refused_and_nothing_of_it_is_handled(
    user: Chat,
    app: BotApplication,
    hook_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = hook_settings.webhook_url
    forged = _update(999_001, user.user_id, "/subscribe forgedtag")
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: "x"}):
            with caplog.at_level(logging.WARNING, "bot.ops.webhook"):
                async with session.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
    # The chat's next real update is answered, and shows that the forged one never was:
    # updates of one chat are handled in order, and the forged one would have come first.
    [reply] = await user.ask("/subscriptions")
    assert "forgedtag" not in reply.text
    async with app.bot_data.sessions() as session:
        assert (await session.scalars(select(Tag.name))).all() == []
    refused = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
    assert refused == [
        "webhook: refused a request from 127.0.0.1 without the secret token (403)",
        "webhook: refused a request from 127.0.0.1 with a wrong secret token (403)",
    ]


async def test_updates_wait_while_the_bot_is_down_then_come_once_in_order(
    settings: Settings, emulator: Emulator, emu: EmulatorClient, clock: FakeClock
) -> None:
    hook = webhook_settings(settings, free_port())
    users = [Chat(emu, 3000 + n, f"U{n}") for n in range(3)]
    async with webhook_bot(hook, clock=clock):
        [reply] = await users[0].ask("/start")
        assert "Welcome" in reply.text
    # Down: the webhook stays set, and Telegram keeps what comes meanwhile.
    assert emulator.state.webhook.url == hook.webhook_url
    for n in range(5):
        for user in users:
            await user.client.send_text(user.user_id, f"/subscribe topic{n}", user.first_name)
    webhook = emulator.state.webhook
    await _wait_for(lambda: emulator.state.counters["webhook_errors"] >= 3)
    info = webhook.info()
    assert info["pending_update_count"] == 15
    assert info["last_error_message"] == "Connection refused"
    delivered = emulator.state.counters["webhook_delivered"]
    async with webhook_bot(hook, clock=clock):
        for user in users:
            replies = await user.read(5, timeout=30)
            assert [r.text.split(" — ")[0] for r in replies] == [
                f"✅ Subscribed to topic{n}" for n in range(5)
            ]
        await _wait_for(lambda: not emulator.state.updates)
    assert emulator.state.counters["webhook_delivered"] - delivered == 15


async def test_polling_again_deletes_the_webhook(
    settings: Settings, emulator: Emulator, emu: EmulatorClient, clock: FakeClock
) -> None:
    hook = webhook_settings(settings, free_port())
    async with webhook_bot(hook, clock=clock):
        pass
    assert emulator.state.webhook.url
    async with running_bot(settings, clock=clock):
        assert emulator.state.webhook.url == ""
        [reply] = await Chat(emu, 4001).ask("/help")
        assert "/subscribe — " in reply.text


async def test_the_emulator_retries_an_answer_that_is_not_2xx(
    emulator: Emulator, emu: EmulatorClient, app_less_bot: Any
) -> None:
    answers = [500, 200]
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        assert request.headers[SECRET_HEADER] == "s3cret"
        got.append(await request.json())
        return web.Response(status=answers.pop(0) if answers else 200)

    server = web.Application()
    server.router.add_post("/hook", receive)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await app_less_bot.set_webhook(
            f"http://127.0.0.1:{port}/hook", secret_token="s3cret"
        )
        await emu.send_text(5001, "/start")
        await _wait_for(lambda: len(got) == 2 and not emulator.state.updates)
        assert got[0] == got[1]
        info = await app_less_bot.get_webhook_info()
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert info.pending_update_count == 0
        assert await app_less_bot.delete_webhook()
        assert (await app_less_bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_set_webhook_refuses_a_bad_secret(app_less_bot: Any) -> None:
    from telegram.error import BadRequest

    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await app_less_bot.set_webhook("http://127.0.0.1:1/hook", secret_token="no spaces")


@pytest.fixture
async def app_less_bot(emulator: Emulator) -> AsyncIterator[Any]:
    """A bare python-telegram-bot Bot on the emulator, for its webhook methods."""
    from telegram import Bot

    bot = Bot(emulator.token, base_url=f"{emulator.url}/bot", request=loopback_request())
    async with bot:
        yield bot
