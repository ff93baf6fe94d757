"""Reading a request's JSON object body, with a clear 400 when it is not one."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.api.errors import ApiError


async def json_object(request: web.Request, example: str | None = None) -> dict[str, Any]:
    """The body as a dict; an empty body is `{}`. `example` shows the caller what is expected."""
    like = f", like {example}" if example else ""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, f"the body must be JSON{like}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"the body must be a JSON object{like}")
    return body
