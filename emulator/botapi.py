"""The Bot API as the bot sees it: one function per method, each taking the world and the
call's parameters, and the one place a call is read, checked and answered."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from telegram.constants import (
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    InlineQueryLimit,
    MessageLimit,
    ParseMode,
    PollingLimit,
)

from emulator.errors import ApiError, error_response, json_object
from emulator.html import EntityParseError, parse_html
from emulator.utf16 import utf16_len
from emulator.webhook import CONFLICT, TERMINATED
from emulator.world import World

Method = Callable[[World, dict[str, Any]], Awaitable[Any]]

# Parameters that arrive JSON-encoded in a form body.
_JSON_FIELDS = {
    "reply_markup",
    "link_preview_options",
    "commands",
    "allowed_updates",
    "scope",
    "results",
    "button",
}
_SEND_METHODS = {"sendMessage", "editMessageText", "sendDocument"}  # rate-limited
_CALLBACK_DATA_BYTES = range(
    InlineKeyboardButtonLimit.MIN_CALLBACK_DATA, InlineKeyboardButtonLimit.MAX_CALLBACK_DATA + 1
)


async def answer(world: World, method: str, request: web.Request) -> web.Response:
    """The Bot API's answer to a call of ``method`` (its token already accepted):
    an injected fault or a flood limit first, then the method's own."""
    try:
        params = await _params(request)
        chat_id = world.resolve(params["chat_id"]) if "chat_id" in params else None
        if chat_id is not None:
            params["chat_id"] = chat_id
        world.counters[f"calls_{method}"] += 1
        if method in _SEND_METHODS:
            await world.gate.held()  # a stalled Telegram answers once it resumes
        world.gate.check_faults(method, chat_id)
        paid = _flag(params, "allow_paid_broadcast")
        if method in _SEND_METHODS:
            world.gate.check_limits(chat_id, group=chat_id in world.groups, paid=paid)
        serve = METHODS.get(method)
        if serve is None:
            raise ApiError(404, "Not Found: method not found")
        result = await serve(world, params)
        if method in _SEND_METHODS:  # what a paid broadcast is charged for, counted apart
            world.counters["sent_paid" if paid else "sent_free"] += 1
            if paid:
                world.paid_seconds.note(time.time())
        return web.json_response({"ok": True, "result": result})
    except ApiError as error:
        return error_response(error)
    except (ValueError, TypeError, json.JSONDecodeError) as error:
        return error_response(ApiError(400, f"Bad Request: {error}"))


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await json_object(request))
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str | web.FileField)})
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params


def _flag(params: dict[str, Any], key: str) -> bool:
    """A Boolean parameter: JSON true, or "true" in a form or query string."""
    value = params.get(key)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _int(params: dict[str, Any], key: str) -> int:
    try:
        return int(params[key])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, f"Bad Request: {key} is required") from None


def _language_code(params: dict[str, Any]) -> str:
    """setMyCommands' language_code: empty, or two lowercase ISO 639-1 letters."""
    code = str(params.get("language_code") or "")
    if code and not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower()):
        raise ApiError(400, "Bad Request: language_code is invalid")
    return code


def render(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """A message's ``text`` as Telegram shows it, and its entities; refused as Telegram
    refuses it (bad HTML, empty, too long, a button's data out of bounds)."""
    raw = str(params.get("text", ""))
    if params.get("parse_mode") in (ParseMode.HTML, "html"):
        try:
            text, entities = parse_html(raw)
        except EntityParseError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
    elif params.get("parse_mode"):
        raise ApiError(400, "Bad Request: unsupported parse_mode in this emulator")
    else:
        text, entities = raw, []
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    # Telegram counts the text after entity parsing: markup and hrefs are free.
    if utf16_len(text) > MessageLimit.MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    markup = params.get("reply_markup")
    if markup is not None:
        check_keyboard(markup)
    return text, entities


# What an inline button does: exactly one of these (a button with none, or two, is refused).
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL = re.compile(r"(?:https?|tg)://[^\s/?#]+[^\s]*", re.IGNORECASE)


def check_keyboard(markup: Any) -> None:
    """An inline keyboard as Telegram checks one: at most 100 buttons and 8 a row, each
    with a text and one action, a URL that is a link, callback data of 1–64 bytes."""
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard", [])
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: rows expected")
    if sum(len(row) for row in rows) > InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER:
        raise ApiError(400, "Bad Request: too many buttons in the keyboard")
    for row in rows:
        if len(row) > InlineKeyboardMarkupLimit.BUTTONS_PER_ROW:
            raise ApiError(400, "Bad Request: too many buttons in a row")
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            actions = [key for key in _BUTTON_ACTIONS if key in button]
            if len(actions) != 1:
                raise ApiError(
                    400, "Bad Request: can't parse inline keyboard button: one action expected"
                )
            url = button.get("url")
            if url is not None and not (isinstance(url, str) and _BUTTON_URL.fullmatch(url)):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) not in _CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


# -------------------------------------------------------------- the methods


async def get_me(world: World, params: dict[str, Any]) -> Any:
    return world.bot_user


async def accept(world: World, params: dict[str, Any]) -> Any:
    """close, logOut: nothing to do here."""
    return True


async def set_webhook(world: World, params: dict[str, Any]) -> Any:
    return await world.webhook.set(params)


async def delete_webhook(world: World, params: dict[str, Any]) -> Any:
    return await world.webhook.delete(params)


async def get_webhook_info(world: World, params: dict[str, Any]) -> Any:
    return world.webhook.info()


async def set_my_commands(world: World, params: dict[str, Any]) -> Any:
    world.commands[_language_code(params)] = list(params.get("commands", []))
    return True


async def get_my_commands(world: World, params: dict[str, Any]) -> Any:
    return world.commands.get(_language_code(params), [])


async def get_updates(world: World, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Long polling: what is waiting, or whatever comes within ``timeout`` seconds;
    refused while a webhook is set (and a parked poll ends when one is set)."""
    if world.webhook.active:
        raise ApiError(409, CONFLICT)
    offset = int(params.get("offset", 0) or 0)
    limit = int(params.get("limit", PollingLimit.MAX_LIMIT) or PollingLimit.MAX_LIMIT)
    timeout = float(params.get("timeout", 0) or 0)
    if offset:
        world.updates = [u for u in world.updates if u["update_id"] >= offset]
    deadline = time.monotonic() + timeout
    async with world.new_update:
        while (
            not world.updates
            and not world.closing.is_set()
            and (left := deadline - time.monotonic()) > 0
        ):
            try:
                await asyncio.wait_for(world.new_update.wait(), left)
            except TimeoutError:
                break
            if world.webhook.active:
                raise ApiError(409, TERMINATED)
    return world.updates[:limit]


async def send_message(world: World, params: dict[str, Any]) -> Any:
    chat_id = _int(params, "chat_id")
    text, entities = render(params)
    if chat_id in world.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if chat_id in world.missing:
        raise ApiError(400, "Bad Request: chat not found")
    thread_id = world.check_bot_may_send(chat_id, params, "text messages")
    message = world.bot_message(chat_id, thread_id) | {"text": text}
    if entities:
        message["entities"] = entities
    if "reply_markup" in params:
        message["reply_markup"] = params["reply_markup"]
    return world.sent(message, {"html": params.get("text", "")})


async def send_document(world: World, params: dict[str, Any]) -> Any:
    """A document the bot sent; the event carries its content for tests to read."""
    upload = params.get("document")
    if not isinstance(upload, web.FileField):
        raise ApiError(400, "Bad Request: there is no document in the request")
    content = upload.file.read()
    chat_id = _int(params, "chat_id")
    if chat_id in world.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if not content:
        raise ApiError(400, "Bad Request: file must be non-empty")
    thread_id = world.check_bot_may_send(chat_id, params, "documents")
    document = world.store_file(upload.filename or "document", content)
    message = world.bot_message(chat_id, thread_id) | {"document": document}
    if params.get("caption"):
        caption, entities = render({**params, "text": params["caption"]})
        message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
    event = {"html": params.get("caption", ""), "file": content.decode("utf-8", "replace")}
    return world.sent(message, event)


async def edit_message_text(world: World, params: dict[str, Any]) -> Any:
    chat_id, message_id = _int(params, "chat_id"), _int(params, "message_id")
    world.check_bot_may_send(chat_id, {}, "text messages", posting=False)
    message = world.messages.get((chat_id, message_id))
    if message is None:
        raise ApiError(400, "Bad Request: message to edit not found")
    text, entities = render(params)
    markup = params.get("reply_markup")
    if (
        text == message["text"]
        and entities == message.get("entities", [])
        and (markup == message.get("reply_markup"))
    ):
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content and "
            "reply markup are exactly the same as a current content and reply markup "
            "of the message",
        )
    message["text"] = text
    message["entities"] = entities
    if markup is not None:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)
    world.log(chat_id, "edit", {"message": message, "html": params.get("text", "")})
    return message


async def answer_callback_query(world: World, params: dict[str, Any]) -> Any:
    """Logged as an "answer" event in the chat the press came from."""
    query_id = str(params.get("callback_query_id", ""))
    if not query_id:
        raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
    world.counters["callback_answers"] += 1
    if (chat_id := world.queries.pop(query_id, None)) is not None:
        answer = {"text": params.get("text") or "", "query_id": query_id}
        world.log(chat_id, "answer", answer)
    return True


async def answer_inline_query(world: World, params: dict[str, Any]) -> Any:
    """Logged as an "inline_answer" event in the chat of the user who asked."""
    query_id = str(params.get("inline_query_id", ""))
    chat_id = world.inline_queries.pop(query_id, None)
    if chat_id is None:
        raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
    results = params.get("results", [])
    if not isinstance(results, list) or len(results) > InlineQueryLimit.RESULTS:
        raise ApiError(
            400, f"Bad Request: results must be a list of at most {InlineQueryLimit.RESULTS}"
        )
    answer = {
        "query_id": query_id,
        "results": results,
        "next_offset": str(params.get("next_offset", "")),
        "button": params.get("button"),
    }
    world.log(chat_id, "inline_answer", answer)
    return True


async def get_file(world: World, params: dict[str, Any]) -> Any:
    file_id = str(params.get("file_id", ""))
    if file_id not in world.files:
        raise ApiError(400, "Bad Request: invalid file_id")
    path, content = world.files[file_id]
    return {
        "file_id": file_id,
        "file_unique_id": file_id,
        "file_size": len(content),
        "file_path": path,
    }


async def get_chat(world: World, params: dict[str, Any]) -> Any:
    return world.chat_full_info(_int(params, "chat_id"))


async def get_chat_member(world: World, params: dict[str, Any]) -> Any:
    return world.chat_member(_int(params, "chat_id"), _int(params, "user_id"))


METHODS: dict[str, Method] = {
    "getMe": get_me,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "close": accept,
    "logOut": accept,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "getUpdates": get_updates,
    "sendMessage": send_message,
    "sendDocument": send_document,
    "editMessageText": edit_message_text,
    "answerCallbackQuery": answer_callback_query,
    "answerInlineQuery": answer_inline_query,
    "getFile": get_file,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
}
