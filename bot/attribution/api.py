"""Attribution over the API: mark a lead converted or lost, read its touchpoints, the report.

- `POST /api/leads/{id}/conversion` (agents and tokens): `{"outcome": "converted", "value"?,
  "currency"?}` or `{"outcome": "lost", "reason"}`.
- `GET /api/leads/{id}/touchpoints` (agents and tokens).
- `GET /api/attribution?model=&by=&from=&to=&half_life_days=` (admins and the admin token).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from aiohttp import web

from bot import keys
from bot.api.admins import admin_user
from bot.api.body import json_object
from bot.api.errors import ApiError
from bot.api.views import lead_json
from bot.attribution.conversions import Conversions, read_mark
from bot.attribution.models import MODELS
from bot.attribution.report import GROUPINGS, MAX_HALF_LIFE_DAYS, Grouping, attribution_table
from bot.attribution.touchpoints import touchpoints_of_leads
from bot.auth.identity import current_user
from bot.privacy.access import record_read

CONVERSION_EXAMPLE: Final = '{"outcome": "converted", "value": 1200, "currency": "EUR"}'
TOUCHPOINTS_VIEWED: Final = "touchpoints.viewed"  # where a lead came from: a read of its data


async def mark_conversion(request: web.Request) -> web.Response:
    user = current_user(request)
    assert user is not None  # api_auth let only agents in
    body = await json_object(request, CONVERSION_EXAMPLE)
    mark = read_mark(body.get("outcome"), body.get("value"), body.get("currency"), body.get("reason"))
    conversions = Conversions.of(request.config_dict[keys.CONVERSATIONS])
    lead = await conversions.record(
        request.match_info["id"], mark, by_id=user.id, by_name=user.name, via="marked"
    )
    return web.json_response(lead_json(lead))


async def lead_touchpoints(request: web.Request) -> web.Response:
    store = request.config_dict[keys.STORE]
    lead = await store.get_lead(request.match_info["id"])
    await record_read(request, TOUCHPOINTS_VIEWED, lead_id=lead.id)
    found = await touchpoints_of_leads(store, [lead])
    return web.json_response({"items": [t.as_json() for t in found[lead.id]]})


def _moment(request: web.Request, name: str, *, end_of_day: bool) -> datetime | None:
    """`2025-01-31` (a whole day: from its start, or to its end) or an ISO 8601 time (UTC
    when it has no offset)."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), UTC)
        moment = datetime.fromisoformat(raw)
    except (ValueError, OverflowError):  # overflow: the day after 9999-12-31
        raise ApiError(400, f"{name} must be a date (2025-01-31) or an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _half_life(request: web.Request) -> float:
    raw = request.query.get("half_life_days", "").strip()
    if not raw:
        return 7.0
    try:
        days = float(raw)
    except ValueError:
        days = math.nan
    if not 0 < days <= MAX_HALF_LIFE_DAYS:
        raise ApiError(400, f"half_life_days must be a number > 0 and ≤ {MAX_HALF_LIFE_DAYS:g}")
    return days


def _choice(request: web.Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query.get(name) or default
    if value not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}")
    return value


async def attribution_report(request: web.Request) -> web.Response:
    admin_user(request, "see the attribution report")
    model = _choice(request, "model", tuple(MODELS), "linear")
    by: Grouping = "campaign" if _choice(request, "by", GROUPINGS, "source") == "campaign" else "source"
    start = _moment(request, "from", end_of_day=False)
    end = _moment(request, "to", end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise ApiError(400, "from must come before to")
    half_life_days = _half_life(request)
    rows = await attribution_table(
        request.config_dict[keys.STORE],
        model=model,
        start=start,
        end=end,
        by=by,
        half_life_days=half_life_days,
    )
    return web.json_response(
        {
            "model": model,
            "by": by,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "half_life_days": half_life_days,
            "rows": [
                {"key": r.key, "conversions": round(r.conversions, 6), "value": round(r.value, 2)}
                for r in rows
            ],
            "total": {
                "conversions": round(sum(r.conversions for r in rows), 6),
                "value": round(sum(r.value for r in rows), 2),
            },
        }
    )


def attribution_routes() -> list[web.RouteDef]:
    return [
        web.post("/leads/{id}/conversion", mark_conversion),
        web.get("/leads/{id}/touchpoints", lead_touchpoints),
        web.get("/attribution", attribution_report),
    ]
