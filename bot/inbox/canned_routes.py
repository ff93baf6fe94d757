"""`/api/canned-replies`: agents list them; admins add and delete them (mounted in `bot.api`)."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.api.admins import admin_user
from bot.api.body import json_object
from bot.auth.users import User


def _admin(request: web.Request) -> User:
    return admin_user(request, "manage canned replies")


async def list_replies(request: web.Request) -> web.Response:
    return web.json_response({"items": await request.config_dict[keys.CANNED_REPLIES].list()})


async def add_reply(request: web.Request) -> web.Response:
    admin = _admin(request)
    body = await json_object(request, '{"title": …, "text": …}')
    created = await request.config_dict[keys.CANNED_REPLIES].add(
        body.get("title"), body.get("text"), created_by=admin.id
    )
    return web.json_response(created, status=201)


async def delete_reply(request: web.Request) -> web.Response:
    _admin(request)
    await request.config_dict[keys.CANNED_REPLIES].delete(request.match_info["id"])
    return web.Response(status=204)


def canned_routes() -> list[web.RouteDef]:
    """Relative to the /api application."""
    return [
        web.get("/canned-replies", list_replies),
        web.post("/canned-replies", add_reply),
        web.delete("/canned-replies/{id}", delete_reply),
    ]
