"""How the emulator refuses, for the Bot API and the control API alike: Telegram's error
answer, and a body that is not the JSON object it should be."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """A request Telegram (or the control API) refuses: its status and description, and
    the ``parameters`` Telegram adds to some answers."""

    def __init__(
        self,
        status: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


def error_response(error: ApiError) -> web.Response:
    """The Bot API's answer to a refused request."""
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    parameters: dict[str, int] = {}
    if error.retry_after is not None:
        parameters["retry_after"] = error.retry_after
    if error.migrate_to_chat_id is not None:
        parameters["migrate_to_chat_id"] = error.migrate_to_chat_id
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=error.status)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ApiError(400, f"Bad Request: the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, 'Bad Request: the body must be a JSON object, e.g. {"text": "/start"}')
    return body
