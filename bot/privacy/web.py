"""`setup_privacy(app)`: export, erasure, retention and the access audit on the application.

API (admins only; docs/api.md, "Privacy"):
- `GET /api/leads/{id}/export`: everything about the lead as one JSON document (a streamed download).
- `DELETE /api/leads/{id}`: erase the lead everywhere; a second time is a 404.
- `GET /api/privacy/leads?q=`: find leads by id, email, phone or name (the admin leads page).

Page: `/admin/leads` (search, a lead's details, Export and Erase).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from bot import keys
from bot.api.admins import actor, admin_user
from bot.api.errors import ApiError
from bot.api.views import lead_json
from bot.auth.guards import require_role
from bot.auth.rendering import render
from bot.bus import ConversationRemoved
from bot.jobs import Job
from bot.models import Lead
from bot.privacy.access import AccessLog, record_read
from bot.privacy.erase import Erasure, naming
from bot.privacy.export import LeadExport, documents_naming, job_json
from bot.privacy.redis_keys import RedisUnavailable
from bot.privacy.registry import Erasers, Exporters
from bot.privacy.retention import KIND, RETRY, Retention
from bot.store import NotFound

SEARCH_LIMIT: Final = 20
MAX_QUERY: Final = 200
EXPORT_WRITE: Final = 256 * 1024  # bytes per write of an export (a 1 MiB base64 slice goes in one)
# Collections other modules write; erased and exported here unless their owners register.
TOUCHPOINTS: Final = "touchpoints"
WEBHOOK_DELIVERIES: Final = "webhook_deliveries"


@dataclass(frozen=True)
class Privacy:
    """The services behind the routes (`app[keys.PRIVACY]`)."""

    erasure: Erasure
    export: LeadExport
    retention: Retention | None  # None: LEADBOT_RETENTION_DAYS is unset, everything is kept


# -- API ----------------------------------------------------------------------------------


async def export_lead(request: web.Request) -> web.StreamResponse:
    user = admin_user(request, "export leads")
    lead_id = request.match_info["id"]
    privacy = request.config_dict[keys.PRIVACY]
    try:
        plan = await privacy.export.prepare(lead_id, now=request.config_dict[keys.CLOCK]())
    except NotFound:
        raise ApiError(404, f"lead {lead_id} not found") from None
    await request.config_dict[keys.ACCESS_LOG].record("lead.exported", actor=actor(user), lead_id=lead_id)
    response = web.StreamResponse(
        headers={"Content-Disposition": f'attachment; filename="lead-{lead_id}.json"'}
    )
    response.content_type = "application/json"
    response.charset = "utf-8"
    await response.prepare(request)
    await _write_pieces(response, plan.pieces())
    await response.write_eof()
    return response


async def _write_pieces(response: web.StreamResponse, pieces: AsyncIterator[str]) -> None:
    """Gathers small pieces into writes of about EXPORT_WRITE bytes and lets the event loop run
    other requests between writes (a write to a fast reader does not always wait)."""
    pending: list[bytes] = []
    size = 0
    async for piece in pieces:
        data = piece.encode()
        pending.append(data)
        size += len(data)
        if size >= EXPORT_WRITE:
            await response.write(b"".join(pending))
            pending, size = [], 0
            await asyncio.sleep(0)
    if pending:
        await response.write(b"".join(pending))


async def erase_lead(request: web.Request) -> web.Response:
    user = admin_user(request, "erase leads")
    lead_id = request.match_info["id"]
    try:
        removed = await request.config_dict[keys.PRIVACY].erasure.erase_lead(lead_id, actor=actor(user))
    except NotFound:
        raise ApiError(404, f"lead {lead_id} not found (erased already, or never there)") from None
    except RedisUnavailable as exc:
        raise ApiError(503, f"{exc}; try again once Redis is back") from None
    return web.json_response({"erased": True, "lead_id": lead_id, "removed": removed})


_DIGITS: Final = re.compile(r"\d")


def _search_query(text: str) -> dict[str, Any]:
    """Leads matching `text`: its id, an email (any part), a phone (its digits, national or
    international), a name or company (any part, any case)."""
    clauses: list[dict[str, Any]] = [{"_id": text}]
    pattern = re.escape(text)
    # Leading zeros go (a national number matches its international form); what is left must
    # still be a few digits, or the empty pattern would match every phone.
    digits = "".join(_DIGITS.findall(text)).lstrip("0")
    if len(digits) >= 4:
        clauses.append({"slots.phone": {"$regex": re.escape(digits) + "$"}})
    clauses += [
        {f"slots.{slot}": {"$regex": pattern, "$options": "i"}} for slot in ("email", "name", "company")
    ]
    return {"$or": clauses}


async def search_leads(request: web.Request) -> web.Response:
    admin_user(request, "search leads")
    text = (request.query.get("q") or "").strip()
    if not text:
        raise ApiError(400, "give q: a lead id, an email, a phone number or a name")
    if len(text) > MAX_QUERY:
        raise ApiError(400, f"q is at most {MAX_QUERY} characters")
    store = request.config_dict[keys.STORE]
    cursor = store.leads.find(_search_query(text)).sort("updated_at", -1).limit(SEARCH_LIMIT)
    leads = [lead_json(Lead.model_validate({**doc, "id": doc["_id"]})) async for doc in cursor]
    await record_read(request, "leads.searched", count=len(leads))
    return web.json_response({"items": leads})


def privacy_routes() -> list[web.RouteDef]:
    """Relative to the /api application."""
    return [
        web.get("/leads/{id}/export", export_lead),
        web.delete("/leads/{id}", erase_lead),
        web.get("/privacy/leads", search_leads),
    ]


# -- the admin page -----------------------------------------------------------------------


@require_role("admin", page=True)
async def leads_page(request: web.Request) -> web.Response:
    return render(request, "admin_leads.html")


# -- wiring -------------------------------------------------------------------------------


def _register_defaults(app: web.Application, erasers: Erasers, exporters: Exporters) -> None:
    """Touchpoints, webhook deliveries and jobs, for as long as their owners register nothing."""

    def collection_eraser(name: str) -> Any:
        async def erase(lead_id: str, conversation_ids: list[str]) -> None:
            query = naming(("lead_id", "conversation_id"), [lead_id, *conversation_ids])
            await app[keys.STORE].collection(name).delete_many(query)

        return erase

    def collection_exporter(name: str) -> Any:
        async def export(lead_id: str, conversation_ids: list[str]) -> list[dict[str, Any]]:
            return await documents_naming(app[keys.STORE], name, [lead_id], conversation_ids)

        return export

    for name in (TOUCHPOINTS, WEBHOOK_DELIVERIES):
        erasers.register_default(name, collection_eraser(name))
        exporters.register_default(name, collection_exporter(name))

    async def erase_jobs(lead_id: str, conversation_ids: list[str]) -> None:
        await app[keys.JOBS].cancel_subject(lead_id)

    async def export_jobs(lead_id: str, conversation_ids: list[str]) -> list[dict[str, Any]]:
        return [job_json(job) for job in await app[keys.JOBS].pending(subject=lead_id)]

    erasers.register_default("jobs", erase_jobs)
    exporters.register_default("jobs", export_jobs)


async def _privacy_services(app: web.Application) -> AsyncIterator[None]:
    """After `_services` (the store, the conversations' turn locks)."""
    store, clock, bus = app[keys.STORE], app[keys.CLOCK], app[keys.BUS]
    access = AccessLog(store, clock=clock)
    await access.ensure_indexes()
    app[keys.ACCESS_LOG] = access

    async def let_go(conversation_ids: list[str], agents: set[str]) -> None:
        handoffs = app.get(keys.HANDOFFS)
        if handoffs is None:
            return
        for conv_id in conversation_ids:
            handoffs.dispatcher.remove(conv_id)
        for agent_id in agents:
            await handoffs.load_changed(agent_id)

    def follow_other_process(event: object) -> None:
        # Erased by another process: this one's queue lets go of it too.
        handoffs = app.get(keys.HANDOFFS)
        if isinstance(event, ConversationRemoved) and handoffs is not None:
            handoffs.dispatcher.remove(event.conversation_id)

    erasure = Erasure(
        store=store,
        bus=bus,
        erasers=app[keys.ERASERS],
        turn_locks=app[keys.CONVERSATIONS].turn_locks,
        redis=app[keys.REDIS],
        access=access,
        let_go=let_go,
    )
    days = app[keys.SETTINGS].retention_days
    retention = (
        Retention(store=store, erasure=erasure, access=access, jobs=app[keys.JOBS], clock=clock, days=days)
        if days is not None
        else None
    )
    export = LeadExport(store=store, erasure=erasure, exporters=app[keys.EXPORTERS], access=access)
    app[keys.PRIVACY] = Privacy(erasure=erasure, export=export, retention=retention)
    bus.remote_listeners.append(follow_other_process)
    try:
        yield
    finally:
        bus.remote_listeners.remove(follow_other_process)


async def _first_retention_run(app: web.Application) -> None:
    """Once at start (after the jobs queue started), then daily from there."""
    retention = app[keys.PRIVACY].retention
    if retention is not None:
        await retention.schedule()


def setup_privacy(app: web.Application) -> None:
    """Call in create_app after the services' cleanup context (`_services`) is added."""
    _register_defaults(app, app[keys.ERASERS], app[keys.EXPORTERS])

    async def run_retention(job: Job) -> None:
        retention = app[keys.PRIVACY].retention
        if retention is not None:  # retention was switched off since the job was scheduled
            await retention.run(job)

    app[keys.JOBS].handle(KIND, run_retention, RETRY)
    app.cleanup_ctx.append(_privacy_services)
    app.on_startup.append(_first_retention_run)
    app.router.add_get("/admin/leads", leads_page)
