"""`/api/canned-replies`: agents list them; admins add and delete them.

The /api sub-application is frozen by the time the inbox is set up, so these routes hang on
the main application and are wrapped in the same two middlewares as every API route: JSON
errors, and an agent by bearer token or by session + CSRF token.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import keys
from bot.api.errors import ApiError, json_error, json_errors
from bot.auth.guards import api_auth
from bot.auth.identity import current_user
from bot.auth.users import User

PATH = "/api/canned-replies"


def as_api_route(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        async def authenticated(req: web.Request) -> web.StreamResponse:
            return await api_auth(req, handler)

        return await json_errors(request, authenticated)

    return guarded


def _admin(request: web.Request) -> User:
    user = current_user(request)
    if user is None or not user.acts_as("admin"):
        role = user.role if user is not None else "nobody"
        raise ApiError(403, f"only admins manage canned replies; you are signed in as {role}")
    return user


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, 'the body must be JSON: {"title": …, "text": …}') from None
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"title": …, "text": …}')
    return body


def _method_not_allowed(request: web.Request, allowed: str) -> web.Response:
    response = json_error(405, f"{request.method} is not allowed here; use {allowed}")
    response.headers["Allow"] = allowed
    return response


async def canned_replies(request: web.Request) -> web.StreamResponse:
    replies = request.config_dict[keys.CANNED_REPLIES]
    if request.method in ("GET", "HEAD"):
        return web.json_response({"items": await replies.list()})
    if request.method == "POST":
        admin = _admin(request)
        body = await _json_object(request)
        created = await replies.add(body.get("title"), body.get("text"), created_by=admin.id)
        return web.json_response(created, status=201)
    return _method_not_allowed(request, "GET, POST")


async def canned_reply(request: web.Request) -> web.StreamResponse:
    if request.method != "DELETE":
        return _method_not_allowed(request, "DELETE")
    _admin(request)
    await request.config_dict[keys.CANNED_REPLIES].delete(request.match_info["id"])
    return web.Response(status=204)


def canned_routes() -> list[web.RouteDef]:
    return [
        web.route("*", PATH, as_api_route(canned_replies)),
        web.route("*", PATH + "/{id}", as_api_route(canned_reply)),
    ]
