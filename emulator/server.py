"""A Bot API emulator: a real HTTP server that answers the way Telegram does.

It serves ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` for the bot, and a
control API under ``/_emu/`` for tests, the demo and the benchmarks: inject what a user
types, sends or presses; set up groups, forum supergroups and channels and who is in them;
read what the bot sent; inject faults; enforce rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator import botapi
from emulator.chats import Member
from emulator.errors import ApiError, error_response, json_object
from emulator.limits import Fault, Limits
from emulator.world import World

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{1,100}")


def bot_id_of(token: str) -> int:
    """The bot's user id: the part of a token before the colon."""
    match = _TOKEN.fullmatch(token)
    return int(match.group(1)) if match else 1


ControlHandler = Callable[[web.Request], Awaitable[Any]]


def _control(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A control API route: its handler's result as JSON, or a Bot API style error. A
    malformed request (not JSON, a field missing or of the wrong kind) is a 400 that
    names what is wrong, never a 500."""

    async def serve(request: web.Request) -> web.Response:
        try:
            return web.json_response(await handler(request))
        except ApiError as error:
            return error_response(error)
        except KeyError as error:
            return error_response(ApiError(400, f"Bad Request: {error.args[0]!r} is required"))
        except (TypeError, ValueError) as error:
            return error_response(ApiError(400, f"Bad Request: {error}"))

    return serve


def _number(value: Any, name: str) -> int:
    """An integer field of a control request, named when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}") from None


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"Bad Request: {name} must be a string, not {value!r}")
    return value


def _path(request: web.Request, name: str) -> int:
    return _number(request.match_info[name], name)


def _field(body: dict[str, Any], name: str, default: Any = None) -> Any:
    """A field of the body; a missing one without a default is required."""
    if name in body and body[name] is not None:
        return body[name]
    if default is None:
        raise KeyError(name)
    return default


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
        control = {
            "/_emu/users/{user_id}/messages": self._inject_text,
            "/_emu/users/{user_id}/documents": self._inject_document,
            "/_emu/users/{user_id}/press": self._inject_press,
            "/_emu/users/{user_id}/inline": self._inject_inline,
            "/_emu/users/{user_id}/language": self._set_language,
            "/_emu/faults": self._add_fault,
            "/_emu/limits": self._set_limits,
            "/_emu/chats/{chat_id}/block": self._block,
        }
        for path, handler in control.items():
            app.router.add_post(path, _control(handler))
        app.router.add_get("/_emu/chats/{chat_id}/events", _control(self._events))
        app.router.add_get("/_emu/stats", _control(self._stats))
        app.router.add_get("/_emu/bot", _control(self._bot))
        app.router.add_get("/_emu/updates", _control(self._pending))
        app.router.add_post("/_emu/users/{user_id}/forward", _control(self._forward))
        app.router.add_post("/_emu/chats/{chat_id}/create", _control(self._create_chat))
        app.router.add_post("/_emu/chats/{chat_id}/members/{user_id}", _control(self._set_member))
        app.router.add_post("/_emu/chats/{chat_id}/messages", _control(self._group_text))
        app.router.add_post("/_emu/chats/{chat_id}/press", _control(self._group_press))
        app.router.add_post("/_emu/chats/{chat_id}/documents", _control(self._group_document))
        app.router.add_post("/_emu/chats/{chat_id}/topics", _control(self._create_topic))
        app.router.add_delete(
            "/_emu/chats/{chat_id}/topics/{thread_id}", _control(self._delete_topic)
        )
        app.router.add_post(
            "/_emu/chats/{chat_id}/topics/{thread_id}/close", _control(self._close_topic)
        )
        app.router.add_post("/_emu/chats/{chat_id}/migrate", _control(self._migrate_group))
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

    # -------------------------------------------------------------- control API

    # Each answers what the matching EmulatorClient method returns (see `_control`).

    async def _inject_text(self, request: web.Request) -> Any:
        body = await json_object(request)
        return await self.state.user_text(
            _path(request, "user_id"),
            _text(_field(body, "text"), "text"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _inject_document(self, request: web.Request) -> Any:
        body = await json_object(request)
        caption = body.get("caption")
        return await self.state.user_document(
            _path(request, "user_id"),
            _text(_field(body, "file_name"), "file_name"),
            _text(_field(body, "content"), "content").encode(),
            None if caption is None else _text(caption, "caption"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _inject_press(self, request: web.Request) -> Any:
        """A press under a message of the user's chat (``message_id``) or under one sent
        in inline mode (``inline_message_id``); ``data`` or ``game_short_name`` may be
        missing, as Telegram allows."""
        body = await json_object(request)
        message_id, data = body.get("message_id"), body.get("data")
        inline, game = body.get("inline_message_id"), body.get("game_short_name")
        if message_id is None and inline is None:
            raise KeyError("message_id")  # a press is under a message of one kind or other
        user_id = _path(request, "user_id")
        return await self.state.press(
            user_id,
            user_id,
            None if message_id is None else _number(message_id, "message_id"),
            None if data is None else _text(data, "data"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
            inline_message_id=None if inline is None else _text(inline, "inline_message_id"),
            game_short_name=None if game is None else _text(game, "game_short_name"),
        )

    async def _set_language(self, request: web.Request) -> Any:
        """The language the user's Telegram app is set to: their updates carry it."""
        body = await json_object(request)
        code = _text(_field(body, "language_code"), "language_code")
        self.state.languages[_path(request, "user_id")] = code
        return {"ok": True}

    async def _inject_inline(self, request: web.Request) -> Any:
        body = await json_object(request)
        return await self.state.user_inline_query(
            _path(request, "user_id"),
            _text(_field(body, "query", ""), "query"),
            _text(_field(body, "offset", ""), "offset"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _events(self, request: web.Request) -> Any:
        chat_id = _path(request, "chat_id")
        after = _number(request.query.get("after", 0), "after")
        count = _number(request.query.get("count", 0), "count")
        kinds = set(filter(None, request.query.get("kinds", "message,edit").split(",")))
        wait = request.query.get("wait", "0")
        try:
            deadline = time.monotonic() + min(float(wait), 600.0)
        except ValueError:
            raise ApiError(
                400, f"Bad Request: wait must be a number of seconds, not {wait!r}"
            ) from None
        log = self.state.chats[chat_id]
        while True:
            events = [e for e in log.events if e["seq"] > after and e["kind"] in kinds]
            left = deadline - time.monotonic()
            if len(events) >= count or left <= 0 or self.state.closing.is_set():
                return events
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(log.changed.wait(), left)

    async def _add_fault(self, request: web.Request) -> Any:
        body = await json_object(request)
        faults = self.state.gate.faults
        if body.get("clear"):
            faults.clear()
        else:
            faults.append(Fault(**body))
        return {"faults": len(faults)}

    async def _set_limits(self, request: web.Request) -> Any:
        self.state.gate.set_limits(Limits(**await json_object(request)))
        return {"ok": True}

    async def _block(self, request: web.Request) -> Any:
        body = await json_object(request)
        chat_id = _path(request, "chat_id")
        target = self.state.missing if body.get("missing") else self.state.blocked
        if body.get("blocked", True):
            target.add(chat_id)
        else:
            target.discard(chat_id)
        return {"ok": True}

    async def _stats(self, request: web.Request) -> Any:
        return dict(self.state.counters)

    async def _pending(self, request: web.Request) -> Any:
        """How many updates the bot has not fetched (or not confirmed) yet."""
        return {"pending": len(self.state.updates)}

    async def _bot(self, request: web.Request) -> Any:
        """The bot's own user (its id changes when a standalone emulator adopts a token):
        what adding the bot to a group needs."""
        return self.state.bot_user

    # Groups and channels: each answers what the matching EmulatorClient method returns.

    async def _create_chat(self, request: web.Request) -> Any:
        body = await json_object(request)
        return self.state.create_chat(
            _path(request, "chat_id"),
            _text(_field(body, "kind"), "kind"),
            _text(_field(body, "title"), "title"),
            body.get("username"),
            bool(body.get("forum", False)),
        )

    async def _set_member(self, request: web.Request) -> Any:
        body = await json_object(request)
        member = Member(
            _text(_field(body, "status"), "status"),
            is_anonymous=bool(body.get("is_anonymous", False)),
            can_post_messages=bool(body.get("can_post_messages", False)),
            can_manage_topics=bool(body.get("can_manage_topics", False)),
        )
        by = body.get("by_user_id")
        return await self.state.set_member(
            _path(request, "chat_id"),
            _path(request, "user_id"),
            member,
            None if by is None else _number(by, "by_user_id"),
        )

    async def _group_text(self, request: web.Request) -> Any:
        body = await json_object(request)
        thread = body.get("thread_id")
        return await self.state.group_text(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _text(_field(body, "text"), "text"),
            thread_id=None if thread is None else _number(thread, "thread_id"),
            anonymous=bool(body.get("anonymous", False)),
            first_name=str(body.get("first_name", "Ann")),
        )

    async def _group_document(self, request: web.Request) -> Any:
        body = await json_object(request)
        caption = body.get("caption")
        return await self.state.group_document(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _text(_field(body, "file_name"), "file_name"),
            _text(_field(body, "content"), "content").encode(),
            None if caption is None else _text(caption, "caption"),
            _text(_field(body, "first_name", "Ann"), "first_name"),
        )

    async def _group_press(self, request: web.Request) -> Any:
        body = await json_object(request)
        return await self.state.press(
            _path(request, "chat_id"),
            _number(_field(body, "user_id"), "user_id"),
            _number(_field(body, "message_id"), "message_id"),
            _text(_field(body, "data"), "data"),
            str(body.get("first_name", "Ann")),
        )

    async def _create_topic(self, request: web.Request) -> Any:
        body = await json_object(request)
        return self.state.group(_path(request, "chat_id")).create_topic(
            _number(_field(body, "thread_id"), "thread_id"),
            _text(_field(body, "name"), "name"),
        )

    async def _delete_topic(self, request: web.Request) -> Any:
        return self.state.group(_path(request, "chat_id")).delete_topic(
            _path(request, "thread_id")
        )

    async def _close_topic(self, request: web.Request) -> Any:
        body = await json_object(request)
        closed = body.get("closed", True)
        if not isinstance(closed, bool):
            raise ApiError(400, f"Bad Request: closed must be true or false, not {closed!r}")
        return self.state.group(_path(request, "chat_id")).close_topic(
            _path(request, "thread_id"), closed
        )

    async def _migrate_group(self, request: web.Request) -> Any:
        body = await json_object(request)
        by = body.get("by_user_id")
        return await self.state.migrate_group(
            _path(request, "chat_id"),
            _number(_field(body, "new_chat_id"), "new_chat_id"),
            None if by is None else _number(by, "by_user_id"),
        )

    async def _forward(self, request: web.Request) -> Any:
        body = await json_object(request)
        return await self.state.forward_channel_post(
            _path(request, "user_id"),
            _number(_field(body, "channel_id"), "channel_id"),
            str(body.get("text") or "A post"),
            str(body.get("first_name", "Ann")),
        )
