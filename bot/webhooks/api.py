"""`/api/webhooks`: endpoints, their secrets, test events, deliveries and redelivery (admins only).

The contract is docs/api.md ("Webhooks"); what is sent is docs/webhooks.md.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from bot import keys
from bot.api.admins import actor, admin_user
from bot.api.body import json_object
from bot.api.errors import ApiError
from bot.auth.users import User
from bot.lead_events import WEBHOOK_KINDS
from bot.privacy.access import record_read
from bot.webhooks.deliveries import MAX_PAGE, Delivery
from bot.webhooks.endpoints import Endpoint, EndpointInvalid, parse_input
from bot.webhooks.mapping import PRESETS, MappingInvalid, parse_mapping, render
from bot.webhooks.sample import sample_document
from bot.webhooks.service import Webhooks

STATUS_FILTERS: Final = ("pending", "delivered", "failed", "problems")
AUDIT_KIND: Final = "webhooks"  # the audit log's filter for changes to endpoints
# A delivery's body is the lead as sent (its answers, contacts): reading it is a read of lead data.
DELIVERY_VIEWED: Final = "webhook_delivery.viewed"
EXAMPLE: Final = '{"url": "https://crm.example.com/leadbot", "events": ["lead.qualified"]}'


def _admin(request: web.Request) -> User:
    return admin_user(request, "manage webhooks")


def _webhooks(request: web.Request) -> Webhooks:
    return request.config_dict[keys.WEBHOOKS]


def _invalid(field: str, message: str) -> web.Response:
    return web.json_response({"error": "bad_request", "message": message, "field": field}, status=400)


def shown_url(url: str) -> str:
    """The url for the audit log: a query string often carries a token, so it is left out."""
    parts = urlsplit(url)
    return parts._replace(query="…" if parts.query else "").geturl()


def _described(endpoint: Endpoint) -> str:
    return f"{shown_url(endpoint.url)} (id {endpoint.id})"


def _changes(before: Endpoint, after: Endpoint) -> list[str]:
    lines = []
    if before.url != after.url:
        lines.append(f"url: {shown_url(before.url)} → {shown_url(after.url)}")
    if before.description != after.description:
        lines.append(f"description: {before.description or '–'} → {after.description or '–'}")
    if before.events != after.events:
        lines.append(f"events: {', '.join(before.events)} → {', '.join(after.events)}")
    if before.active != after.active:
        lines.append("resumed" if after.active else "paused")
    if before.mapping != after.mapping:
        lines.append(f"mapping: {_mapping_summary(before)} → {_mapping_summary(after)}")
    return lines


def _mapping_summary(endpoint: Endpoint) -> str:
    count = len(endpoint.mapping.overrides)
    return endpoint.mapping.preset + (f" with {count} override{'s' if count != 1 else ''}" if count else "")


async def _audit(request: web.Request, user: User, action: str, changes: list[str]) -> None:
    await request.config_dict[keys.AUDIT].record(action, actor=actor(user), changes=changes, kind=AUDIT_KIND)


# -- endpoints ---------------------------------------------------------------------------


async def list_endpoints(request: web.Request) -> web.Response:
    _admin(request)
    endpoints = await _webhooks(request).endpoints.all()
    return web.json_response(
        {
            "endpoints": [e.as_json() for e in endpoints],
            "events": list(WEBHOOK_KINDS),
            "presets": list(PRESETS),
        }
    )


async def get_endpoint(request: web.Request) -> web.Response:
    _admin(request)
    endpoint = await _webhooks(request).endpoints.get(request.match_info["id"])
    return web.json_response(endpoint.as_json())


async def create_endpoint(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, EXAMPLE)
    try:
        fields = parse_input(body, partial=False)
    except EndpointInvalid as exc:
        return _invalid(exc.field, exc.message)
    endpoint = await _webhooks(request).endpoints.create(fields)
    await _audit(
        request,
        user,
        "webhook.create",
        [
            f"endpoint {_described(endpoint)}",
            f"events: {', '.join(endpoint.events)}",
            f"mapping: {_mapping_summary(endpoint)}",
        ],
    )
    # The secret is shown here, and on request (GET …/secret); never in lists.
    return web.json_response({**endpoint.as_json(), "secret": endpoint.secret}, status=201)


async def update_endpoint(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, '{"active": false}')
    try:
        changes = parse_input(body, partial=True)
    except EndpointInvalid as exc:
        return _invalid(exc.field, exc.message)
    before, after = await _webhooks(request).endpoints.update(request.match_info["id"], changes)
    lines = _changes(before, after)
    if lines:
        await _audit(request, user, "webhook.update", [f"endpoint {_described(after)}", *lines])
    return web.json_response(after.as_json())


async def delete_endpoint(request: web.Request) -> web.Response:
    user = _admin(request)
    endpoint = await _webhooks(request).delete_endpoint(request.match_info["id"])
    await _audit(request, user, "webhook.delete", [f"endpoint {_described(endpoint)}"])
    return web.json_response({"deleted": True})


async def get_secret(request: web.Request) -> web.Response:
    _admin(request)
    endpoint = await _webhooks(request).endpoints.get(request.match_info["id"])
    return web.json_response(_secret_json(endpoint))


async def rotate_secret(request: web.Request) -> web.Response:
    user = _admin(request)
    endpoint = await _webhooks(request).endpoints.rotate(request.match_info["id"])
    await _audit(
        request,
        user,
        "webhook.rotate_secret",
        [f"endpoint {_described(endpoint)}", "new secret; the previous one signs too for 24 hours"],
    )
    return web.json_response(_secret_json(endpoint))


def _secret_json(endpoint: Endpoint) -> dict[str, Any]:
    until = endpoint.previous_secret_until
    return {"secret": endpoint.secret, "previous_secret_until": until.isoformat() if until else None}


async def send_test(request: web.Request) -> web.Response:
    _admin(request)
    webhooks = _webhooks(request)
    endpoint = await webhooks.endpoints.get(request.match_info["id"])
    delivery = await webhooks.send_test(endpoint)
    return web.json_response(delivery.as_json(full=True))


async def preview(request: web.Request) -> web.Response:
    """The body a mapping makes of the test event's made-up lead: for the admin's form."""
    _admin(request)
    body = await json_object(request, '{"mapping": {"preset": "hubspot_contact"}}')
    try:
        mapping = parse_mapping(body.get("mapping"))
    except MappingInvalid as exc:
        return _invalid(exc.field, exc.message)
    now = request.config_dict[keys.CLOCK]()
    return web.json_response({"body": render(mapping, sample_document("sample-event", now))})


# -- deliveries --------------------------------------------------------------------------


def _page_query(request: web.Request) -> tuple[int, int]:
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise ApiError(400, "limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ApiError(400, f"limit must be between 1 and {MAX_PAGE}, offset 0 or more")
    return limit, offset


async def list_deliveries(request: web.Request) -> web.Response:
    _admin(request)
    status = request.query.get("status") or None
    if status is not None and status not in STATUS_FILTERS:
        raise ApiError(400, f"status must be one of {', '.join(STATUS_FILTERS)}")
    limit, offset = _page_query(request)
    webhooks = _webhooks(request)
    items = await webhooks.deliveries.page(
        problems=status == "problems",
        status=status if status != "problems" else None,  # type: ignore[arg-type]
        endpoint_id=request.query.get("endpoint") or None,
        limit=limit,
        offset=offset,
    )
    next_at = await webhooks.next_attempts(items)
    return web.json_response(
        {
            "items": [d.as_json(next_attempt_at=next_at.get(d.id)) for d in items],
            "limit": limit,
            "offset": offset,
        }
    )


async def _delivery_json(request: web.Request, webhooks: Webhooks, delivery: Delivery) -> dict[str, Any]:
    """The delivery with its body, recorded in the access audit when the body is about a real
    lead (a test event's made-up lead is no one's data)."""
    if delivery.lead_id is not None:
        await record_read(request, DELIVERY_VIEWED, lead_id=delivery.lead_id)
    next_at = (await webhooks.next_attempts([delivery])).get(delivery.id)
    return delivery.as_json(full=True, next_attempt_at=next_at)


async def get_delivery(request: web.Request) -> web.Response:
    _admin(request)
    webhooks = _webhooks(request)
    delivery = await webhooks.deliveries.get(request.match_info["id"])
    return web.json_response(await _delivery_json(request, webhooks, delivery))


async def redeliver(request: web.Request) -> web.Response:
    _admin(request)
    webhooks = _webhooks(request)
    delivery = await webhooks.redeliver(request.match_info["id"])
    return web.json_response(await _delivery_json(request, webhooks, delivery))


def webhook_routes() -> list[web.RouteDef]:
    """Relative to the /api application; the fixed paths before `{id}`."""
    return [
        web.get("/webhooks", list_endpoints),
        web.post("/webhooks", create_endpoint),
        web.post("/webhooks/preview", preview),
        web.get("/webhooks/deliveries", list_deliveries),
        web.get("/webhooks/deliveries/{id}", get_delivery),
        web.post("/webhooks/deliveries/{id}/redeliver", redeliver),
        web.get("/webhooks/{id}", get_endpoint),
        web.patch("/webhooks/{id}", update_endpoint),
        web.delete("/webhooks/{id}", delete_endpoint),
        web.get("/webhooks/{id}/secret", get_secret),
        web.post("/webhooks/{id}/secret/rotate", rotate_secret),
        web.post("/webhooks/{id}/test", send_test),
    ]
