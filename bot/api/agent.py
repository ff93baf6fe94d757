"""Agent actions over the API: claim, reply, note, release, transfer, close, decline.

The same rules as the inbox (it calls these too): who may act is decided in
`bot.ownership`, and refusals come back as JSON with 403/409/422.
"""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.api.body import json_object
from bot.api.errors import ApiError
from bot.api.uploads import is_multipart, read_form, save_uploads
from bot.api.views import conversation_json, message_json
from bot.auth.identity import current_user
from bot.ownership import Agent


def _agent(request: web.Request) -> Agent:
    user: Agent | None = current_user(request)
    if user is None:
        raise ApiError(401, "sign in or send 'Authorization: Bearer <token>'")
    return user


async def claim(request: web.Request) -> web.Response:
    conv = await request.config_dict[keys.OWNERSHIP].claim(request.match_info["id"], _agent(request))
    return web.json_response(conversation_json(conv, now=request.config_dict[keys.CLOCK]()))


async def reply(request: web.Request) -> web.Response:
    """JSON `{"text"}`, or multipart with `text` and `file` parts (docs/api.md)."""
    agent, conv_id = _agent(request), request.match_info["id"]
    ownership = request.config_dict[keys.OWNERSHIP]
    if not is_multipart(request):
        body = await json_object(request)
        message = await ownership.reply(conv_id, agent, body.get("text"))
        return web.json_response(message_json(message), status=201)
    files = request.config_dict[keys.ATTACHMENTS]
    form = await read_form(request, files)
    await request.config_dict[keys.STORE].get_conversation(conv_id)  # 404 before saving anything
    # Saved before the message is stored, so the channel finds the bytes when it delivers it.
    saved = await save_uploads(files, conv_id, form.files)
    try:
        message = await ownership.reply(conv_id, agent, form.text, attachments=saved)
    except BaseException:
        await files.discard(saved)
        raise
    return web.json_response(message_json(message), status=201)


async def note(request: web.Request) -> web.Response:
    body = await json_object(request)
    message = await request.config_dict[keys.OWNERSHIP].note(
        request.match_info["id"], _agent(request), body.get("text")
    )
    return web.json_response(message_json(message), status=201)


async def release(request: web.Request) -> web.Response:
    conv = await request.config_dict[keys.OWNERSHIP].release(request.match_info["id"], _agent(request))
    return web.json_response(conversation_json(conv, now=request.config_dict[keys.CLOCK]()))


async def transfer(request: web.Request) -> web.Response:
    body = await json_object(request)
    to_agent, to_team = body.get("agent"), body.get("team")
    if (to_agent is None) == (to_team is None):
        raise ApiError(422, 'send {"agent": <id or email>} or {"team": <name>}')
    ownership = request.config_dict[keys.OWNERSHIP]
    if to_team is not None:
        if not isinstance(to_team, str) or not to_team.strip():
            raise ApiError(422, "team must be a non-empty string")
        conv = await ownership.transfer(request.match_info["id"], _agent(request), to_team=to_team.strip())
    else:
        target = await request.config_dict[keys.AGENT_DIRECTORY].find(to_agent)
        if target is None:
            raise ApiError(422, f"no active agent {to_agent!r}")
        conv = await ownership.transfer(request.match_info["id"], _agent(request), to_agent=target)
    return web.json_response(conversation_json(conv, now=request.config_dict[keys.CLOCK]()))


async def close(request: web.Request) -> web.Response:
    body = await json_object(request)
    conv = await request.config_dict[keys.OWNERSHIP].close(
        request.match_info["id"],
        _agent(request),
        outcome=body.get("outcome"),
        value=body.get("value"),
        currency=body.get("currency"),
        reason=body.get("reason"),
    )
    return web.json_response(conversation_json(conv, now=request.config_dict[keys.CLOCK]()))


async def decline(request: web.Request) -> web.Response:
    declined = await request.config_dict[keys.HANDOFFS].decline(request.match_info["id"], _agent(request))
    if not declined:
        raise ApiError(409, "this conversation is not offered to you")
    return web.json_response({"declined": True})


def agent_routes() -> list[web.RouteDef]:
    return [
        web.post("/conversations/{id}/claim", claim),
        web.post("/conversations/{id}/reply", reply),
        web.post("/conversations/{id}/note", note),
        web.post("/conversations/{id}/release", release),
        web.post("/conversations/{id}/transfer", transfer),
        web.post("/conversations/{id}/close", close),
        web.post("/conversations/{id}/decline", decline),
    ]
