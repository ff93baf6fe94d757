"""The REST API under /api: conversations and leads, for agents (token, or session + CSRF)."""

from __future__ import annotations

from typing import Any, get_args

from aiohttp import web

from bot import keys
from bot.analytics.web import analytics_routes
from bot.api.agent import agent_routes
from bot.api.errors import ApiError, json_errors
from bot.api.flows import flow_routes
from bot.api.views import conversation_json, lead_json
from bot.attribution.api import attribution_routes
from bot.auth.guards import api_auth
from bot.inbox.canned_routes import canned_routes
from bot.models import FlowRef, LeadStatus, Mode
from bot.privacy.access import record_read
from bot.privacy.web import privacy_routes
from bot.store import NotFound
from bot.webhooks.api import webhook_routes

MAX_PAGE = 200


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def _choice_query(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}")
    return value


async def _slot_names(request: web.Request, flow_id: str, version: int) -> list[str]:
    flow = await request.config_dict[keys.FLOWS].pinned(FlowRef(id=flow_id, version=version))
    return [slot.name for slot in flow.slots]


async def get_conversation(request: web.Request) -> web.Response:
    store = request.config_dict[keys.STORE]
    try:
        conv = await store.get_conversation(request.match_info["id"])
        lead = await store.get_lead(conv.lead_id)
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    messages = await store.messages_after(conv.id, 0, limit=100_000)
    names = await _slot_names(request, conv.flow.id, conv.flow.version)
    await record_read(request, "conversation.viewed", lead_id=lead.id, conversation_id=conv.id)
    now = request.config_dict[keys.CLOCK]()
    return web.json_response(conversation_json(conv, lead, messages, names, now=now))


async def list_conversations(request: web.Request) -> web.Response:
    store = request.config_dict[keys.STORE]
    mode = _choice_query(request, "mode", get_args(Mode))
    limit = _int_query(request, "limit", 50, 1, MAX_PAGE)
    offset = _int_query(request, "offset", 0, 0, 10**9)
    convs = await store.list_conversations(
        mode=mode,  # type: ignore[arg-type]
        channel=request.query.get("channel") or None,
        limit=limit,
        offset=offset,
    )
    now = request.config_dict[keys.CLOCK]()
    items: list[dict[str, Any]] = [conversation_json(c, now=now) for c in convs]
    await record_read(request, "conversations.listed", count=len(items))
    return web.json_response({"items": items, "limit": limit, "offset": offset})


async def get_lead(request: web.Request) -> web.Response:
    store = request.config_dict[keys.STORE]
    try:
        lead = await store.get_lead(request.match_info["id"])
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    await record_read(request, "lead.viewed", lead_id=lead.id)
    return web.json_response(lead_json(lead))


async def list_leads(request: web.Request) -> web.Response:
    store = request.config_dict[keys.STORE]
    status = _choice_query(request, "status", get_args(LeadStatus))
    min_score = _int_query(request, "min_score", -1, 0, 100) if request.query.get("min_score") else None
    limit = _int_query(request, "limit", 50, 1, MAX_PAGE)
    offset = _int_query(request, "offset", 0, 0, 10**9)
    leads = await store.list_leads(
        status=status,  # type: ignore[arg-type]
        min_score=min_score,
        limit=limit,
        offset=offset,
    )
    await record_read(request, "leads.listed", count=len(leads))
    return web.json_response({"items": [lead_json(lead) for lead in leads], "limit": limit, "offset": offset})


def create_api() -> web.Application:
    api = web.Application(middlewares=[json_errors, api_auth])
    api.add_routes(
        [
            web.get("/conversations", list_conversations),
            web.get("/conversations/{id}", get_conversation),
            web.get("/leads", list_leads),
            web.get("/leads/{id}", get_lead),
            *agent_routes(),
            *canned_routes(),
            *flow_routes(),
            *attribution_routes(),
            *webhook_routes(),
            *privacy_routes(),
            *analytics_routes(),
        ]
    )
    return api
