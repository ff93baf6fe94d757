"""`/admin/analytics` (the page), `GET /api/analytics` (JSON) and `GET /api/analytics/<table>.csv`.

Admins only: the page through the session, the API through the session or an admin's token.
The page is drawn on the server, charts included (SVG), so it needs no script; the date range
and the filters are a plain GET form.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import keys
from bot.analytics.csv_export import table_csv
from bot.analytics.report import Report, build_report
from bot.analytics.sections import sections
from bot.analytics.tables import TABLES, all_tables
from bot.analytics.window import BadFilter, Window, parse_window
from bot.api.admins import admin_user
from bot.api.errors import ApiError
from bot.attribution.report import GROUPINGS, Grouping
from bot.auth.guards import require_role
from bot.auth.rendering import render
from bot.flow_versions import CHANNEL_NAMES

DOING = "see analytics"


def _filters(request: web.Request) -> tuple[Window, Grouping]:
    """The window and the attribution grouping the query asks for (BadFilter when it is wrong)."""
    window = parse_window(request.query, request.config_dict[keys.CLOCK]())
    asked = request.query.get("by", "").strip() or "source"
    by = next((grouping for grouping in GROUPINGS if grouping == asked), None)
    if by is None:
        raise BadFilter(f"by must be one of {', '.join(GROUPINGS)}")
    return window, by


def _query(window: Window, by: Grouping) -> dict[str, str]:
    query = window.query()
    if by != "source":
        query["by"] = by
    return query


async def _report(request: web.Request) -> tuple[Report, Grouping]:
    try:
        window, by = _filters(request)
    except BadFilter as exc:
        raise ApiError(400, str(exc)) from None
    return await build_report(request.config_dict[keys.STORE], window, attribution_by=by), by


async def analytics_json(request: web.Request) -> web.Response:
    admin_user(request, DOING)
    report, by = await _report(request)
    body: dict[str, Any] = {"window": report.window.as_json(), "attribution_by": by}
    body.update({name: table.records() for name, table in all_tables(report).items()})
    return web.json_response(body)


async def analytics_csv(request: web.Request) -> web.Response:
    admin_user(request, DOING)
    name = request.match_info["table"]
    if name not in TABLES:
        raise ApiError(404, f"no table {name!r}; the tables are {', '.join(TABLES)}")
    report, _ = await _report(request)
    window = report.window
    filename = f"leadbot-{name}-{window.first_day.isoformat()}-{window.last_day.isoformat()}.csv"
    return web.Response(
        text=table_csv(TABLES[name](report)),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def analytics_routes() -> list[web.RouteDef]:
    """For the API sub-application (mounted under /api)."""
    return [
        web.get("/analytics", analytics_json),
        web.get("/analytics/{table:[a-z_]+}.csv", analytics_csv),
    ]


async def _flow_choices(request: web.Request, selected: str | None) -> list[tuple[str, str]]:
    flows = [(flow.id, flow.name or flow.id) for flow in await request.config_dict[keys.FLOWS].live_flows()]
    if selected and selected not in {flow_id for flow_id, _ in flows}:
        flows.append((selected, selected))
    return sorted(flows)


@require_role("admin", page=True)
async def analytics_page(request: web.Request) -> web.Response:
    try:
        window, by = _filters(request)
    except BadFilter as exc:
        form = {name: request.query.get(name, "") for name in ("from", "to", "channel", "flow", "by")}
        return render(
            request,
            "admin_analytics.html",
            status=400,
            error=str(exc),
            form=form,
            channels=CHANNEL_NAMES,
            flows=await _flow_choices(request, None),
            window=None,
            sections=[],
        )
    report = await build_report(request.config_dict[keys.STORE], window, attribution_by=by)
    form = {
        "from": window.first_day.isoformat(),
        "to": window.last_day.isoformat(),
        "channel": window.channel or "",
        "flow": window.flow or "",
        "by": by,
    }
    return render(
        request,
        "admin_analytics.html",
        error=None,
        form=form,
        channels=CHANNEL_NAMES,
        flows=await _flow_choices(request, window.flow),
        window=window,
        sections=sections(report, _query(window, by)),
    )


def setup_analytics(app: web.Application) -> None:
    """The admin page; its JSON and CSV routes join the API (`analytics_routes`)."""
    app.router.add_get("/admin/analytics", analytics_page)
