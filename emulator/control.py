"""The control API under ``/_emu/``: how tests, the demo and the benchmarks play Telegram's
users (write, share a file, press, ask inline), set up groups, forums and channels, inject
faults and limits, and read what the bot did.

Every route is declared with ``@route`` and served through one wrapper (``_serve``): the
path's ids are integers and the body is a JSON object before a handler runs, and any
malformed request (not JSON, a field missing or of the wrong kind) is a Bot API style 400
that names what is wrong, never a 500. Each handler answers what the matching
``EmulatorClient`` method returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.chats import Member
from emulator.errors import ApiError, error_response, json_object
from emulator.limits import Fault, Limits
from emulator.world import World

MAX_WAIT = 600.0  # seconds an events request may wait


def _number(value: Any, name: str) -> int:
    """An integer field of a control request, named when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Bad Request: {name} must be an integer, not {value!r}") from None


@dataclass(frozen=True)
class Call:
    """A control request as a route sees it: the path's ids (integers), the JSON body and
    the query string. Its readers name a field that is missing or of the wrong kind."""

    world: World
    ids: Mapping[str, int]
    body: Mapping[str, Any]
    query: Mapping[str, str]

    def _given(self, name: str, default: Any) -> Any:
        value = self.body.get(name)
        if value is not None:
            return value
        if default is None:
            raise ApiError(400, f"Bad Request: {name!r} is required")
        return default

    def text(self, name: str, default: str | None = None) -> str:
        value = self._given(name, default)
        if not isinstance(value, str):
            raise ApiError(400, f"Bad Request: {name} must be a string, not {value!r}")
        return value

    def number(self, name: str) -> int:
        return _number(self._given(name, None), name)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._given(name, default)
        if not isinstance(value, bool):
            raise ApiError(400, f"Bad Request: {name} must be true or false, not {value!r}")
        return value

    @property
    def user_id(self) -> int:
        """The user who acts: in the path, else (in a group) in the body."""
        return self.ids["user_id"] if "user_id" in self.ids else self.number("user_id")

    def optional_text(self, name: str) -> str | None:
        return None if self.body.get(name) is None else self.text(name)

    def optional_number(self, name: str) -> int | None:
        return None if self.body.get(name) is None else self.number(name)


Handler = Callable[[Call], Awaitable[Any]]
# Every control route: (HTTP method, path, handler), in the order declared.
ROUTES: list[tuple[str, str, Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, path, handler))
        return handler

    return register


def add_routes(app: web.Application, world: World) -> None:
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, _serve(world, handler))


def _serve(world: World, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The one wrapper: the handler's result as JSON, or a Bot API style error."""

    async def serve(request: web.Request) -> web.Response:
        try:
            ids = {name: _number(value, name) for name, value in request.match_info.items()}
            call = Call(world, ids, await json_object(request), request.query)
            return web.json_response(await handler(call))
        except ApiError as error:
            return error_response(error)
        except (TypeError, ValueError) as error:  # e.g. a fault's or limit's unknown field
            return error_response(ApiError(400, f"Bad Request: {error}"))

    return serve


# -------------------------------------------------------------- a user and the bot


@route("POST", "/_emu/users/{user_id}/messages")
async def user_text(call: Call) -> Any:
    return await call.world.user_text(
        call.ids["user_id"], call.text("text"), call.text("first_name", "Ann")
    )


@route("POST", "/_emu/users/{user_id}/documents")
@route("POST", "/_emu/chats/{chat_id}/documents")
async def document(call: Call) -> Any:
    """A user sends the bot a file, or shares one in a group (``user_id`` in the body)."""
    return await call.world.document(
        call.ids.get("chat_id"),
        call.user_id,
        call.text("file_name"),
        call.text("content").encode(),
        call.optional_text("caption"),
        call.text("first_name", "Ann"),
    )


@route("POST", "/_emu/users/{user_id}/press")
@route("POST", "/_emu/chats/{chat_id}/press")
async def press(call: Call) -> Any:
    """A press under the bot's message in the user's chat or a group (``message_id``;
    in a group, ``user_id`` in the body) or under one sent in inline mode
    (``inline_message_id``); ``data`` or ``game_short_name`` may be missing, as Telegram
    allows."""
    inline = call.optional_text("inline_message_id")
    # A press is under a message of one kind or the other.
    message_id = (
        call.number("message_id") if inline is None else call.optional_number("message_id")
    )
    return await call.world.press(
        call.ids.get("chat_id"),
        call.user_id,
        message_id,
        call.optional_text("data"),
        call.text("first_name", "Ann"),
        inline_message_id=inline,
        game_short_name=call.optional_text("game_short_name"),
    )


@route("POST", "/_emu/users/{user_id}/inline")
async def user_inline_query(call: Call) -> Any:
    return await call.world.user_inline_query(
        call.ids["user_id"],
        call.text("query", ""),
        call.text("offset", ""),
        call.text("first_name", "Ann"),
    )


@route("POST", "/_emu/users/{user_id}/language")
async def set_language(call: Call) -> Any:
    """The language the user's Telegram app is set to: their updates carry it."""
    call.world.languages[call.ids["user_id"]] = call.text("language_code")
    return {"ok": True}


@route("POST", "/_emu/users/{user_id}/forward")
async def forward_channel_post(call: Call) -> Any:
    return await call.world.forward_channel_post(
        call.ids["user_id"],
        call.number("channel_id"),
        call.text("text", "A post") or "A post",
        call.text("first_name", "Ann"),
    )


@route("GET", "/_emu/chats/{chat_id}/events")
async def events(call: Call) -> Any:
    """Events after sequence number ``after`` of ``kinds``, waiting up to ``wait``
    seconds until there are ``count``."""
    after = _number(call.query.get("after", 0), "after")
    count = _number(call.query.get("count", 0), "count")
    kinds = set(filter(None, call.query.get("kinds", "message,edit").split(",")))
    wait = call.query.get("wait", "0")
    try:
        deadline = time.monotonic() + min(float(wait), MAX_WAIT)
    except ValueError:
        raise ApiError(
            400, f"Bad Request: wait must be a number of seconds, not {wait!r}"
        ) from None
    world = call.world
    log = world.chats[call.ids["chat_id"]]
    while True:
        found = [e for e in log.events if e["seq"] > after and e["kind"] in kinds]
        left = deadline - time.monotonic()
        if len(found) >= count or left <= 0 or world.closing.is_set():
            return found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(log.changed.wait(), left)


# -------------------------------------------------------------- faults, limits, counters


@route("POST", "/_emu/faults")
async def add_fault(call: Call) -> Any:
    faults = call.world.gate.faults
    if call.flag("clear"):
        faults.clear()
    else:
        faults.append(Fault(**call.body))
    return {"faults": len(faults)}


@route("POST", "/_emu/limits")
async def set_limits(call: Call) -> Any:
    call.world.gate.set_limits(Limits(**call.body))
    return {"ok": True}


@route("POST", "/_emu/stall")
async def stall(call: Call) -> Any:
    """From the next message the bot sends, hold every one for ``seconds`` (at most a
    minute), as a stalled Telegram would; all are answered when it ends."""
    seconds = call.body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 60:
        raise ApiError(400, f"Bad Request: seconds must be a number from 0 to 60, not {seconds!r}")
    call.world.gate.stall(float(seconds))
    return {"ok": True}


@route("POST", "/_emu/chats/{chat_id}/block")
async def block(call: Call) -> Any:
    """The user blocked the bot (403 from then on), or (``missing``) the chat is gone."""
    world = call.world
    target = world.missing if call.flag("missing") else world.blocked
    if call.flag("blocked", True):
        target.add(call.ids["chat_id"])
    else:
        target.discard(call.ids["chat_id"])
    return {"ok": True}


@route("GET", "/_emu/stats")
async def stats(call: Call) -> Any:
    return dict(call.world.counters)


@route("GET", "/_emu/broadcasts")
async def broadcasts(call: Call) -> Any:
    """Messages sent (and refused with 429) with and without allow_paid_broadcast, and
    of the paid ones those beyond the free 30 of their second (what would be charged)."""
    counters = call.world.counters
    return {
        "free": counters["sent_free"],
        "paid": counters["sent_paid"],
        "refused_free": counters["429_free"],
        "refused_paid": counters["429_paid"],
        "beyond_free": call.world.paid_seconds.beyond_free,
    }


@route("GET", "/_emu/repeats")
async def repeats(call: Call) -> Any:
    """The bot's messages that repeat one it already sent to the same chat (the same
    HTML), over every chat: how a benchmark tells that a message went out twice. Chats
    named in ``except`` (comma-separated ids: those a test asks the same thing again and
    again) are left out."""
    left_out = {_number(x, "except") for x in call.query.get("except", "").split(",") if x}
    chats, messages, sample = 0, 0, list[int]()
    for chat_id, log in call.world.chats.items():
        if chat_id in left_out:
            continue
        seen: set[str] = set()
        again = 0
        for event in log.events:
            if event["kind"] == "message" and "html" in event:
                html = event["html"]
                again += html in seen
                seen.add(html)
        if again:
            chats += 1
            messages += again
            if len(sample) < 10:
                sample.append(chat_id)
    return {"chats": chats, "messages": messages, "sample": sample}


@route("GET", "/_emu/updates")
async def pending(call: Call) -> Any:
    """How many updates the bot has not fetched (or not confirmed) yet."""
    return {"pending": len(call.world.updates)}


@route("GET", "/_emu/bot")
async def bot(call: Call) -> Any:
    """The bot's own user (its id changes when a standalone emulator adopts a token):
    what adding the bot to a group needs."""
    return call.world.bot_user


# -------------------------------------------------------------- groups and channels


@route("POST", "/_emu/chats/{chat_id}/create")
async def create_chat(call: Call) -> Any:
    return call.world.create_chat(
        call.ids["chat_id"],
        call.text("kind"),
        call.text("title"),
        call.optional_text("username"),
        call.flag("forum"),
    )


@route("POST", "/_emu/chats/{chat_id}/members/{user_id}")
async def set_member(call: Call) -> Any:
    member = Member(
        call.text("status"),
        is_anonymous=call.flag("is_anonymous"),
        can_post_messages=call.flag("can_post_messages"),
        can_manage_topics=call.flag("can_manage_topics"),
    )
    return await call.world.set_member(
        call.ids["chat_id"], call.ids["user_id"], member, call.optional_number("by_user_id")
    )


@route("POST", "/_emu/chats/{chat_id}/messages")
async def group_text(call: Call) -> Any:
    return await call.world.group_text(
        call.ids["chat_id"],
        call.number("user_id"),
        call.text("text"),
        thread_id=call.optional_number("thread_id"),
        anonymous=call.flag("anonymous"),
        first_name=call.text("first_name", "Ann"),
    )


@route("POST", "/_emu/chats/{chat_id}/topics")
async def create_topic(call: Call) -> Any:
    chat = call.world.group(call.ids["chat_id"])
    return chat.create_topic(call.number("thread_id"), call.text("name"))


@route("DELETE", "/_emu/chats/{chat_id}/topics/{thread_id}")
async def delete_topic(call: Call) -> Any:
    return call.world.group(call.ids["chat_id"]).delete_topic(call.ids["thread_id"])


@route("POST", "/_emu/chats/{chat_id}/topics/{thread_id}/close")
async def close_topic(call: Call) -> Any:
    closed = call.flag("closed", True)
    return call.world.group(call.ids["chat_id"]).close_topic(call.ids["thread_id"], closed)


@route("POST", "/_emu/chats/{chat_id}/migrate")
async def migrate_group(call: Call) -> Any:
    return await call.world.migrate_group(
        call.ids["chat_id"], call.number("new_chat_id"), call.optional_number("by_user_id")
    )
