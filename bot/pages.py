"""Public pages and files: the demo page, the widget's files, health checks."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.assets import widget_dir

# The widget is plain files; they may be embedded from any site, so they are cacheable
# for a short while (a deploy shows up within minutes) and served with their real type.
WIDGET_FILES = {
    "widget.js": "application/javascript",
    "widget.css": "text/css",
    "demo.css": "text/css",
}
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)


async def demo_page(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(
        widget_dir() / "demo.html", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


async def widget_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    kind = WIDGET_FILES.get(name)
    path = widget_dir() / name
    if kind is None or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": f"{kind}; charset=utf-8",
            "Cache-Control": "public, max-age=300",
            "Access-Control-Allow-Origin": "*",
        },
    )


async def healthz(request: web.Request) -> web.Response:
    """Alive. `degraded` while Redis is configured but unreachable: this process then works alone
    (no live events from other processes, local locks and limits) until Redis is back."""
    link = request.app[keys.REDIS]
    degraded = link.configured and not link.healthy
    return web.json_response({"status": "degraded" if degraded else "ok", **link.status()})


async def readyz(request: web.Request) -> web.Response:
    if request.app[keys.SHUTTING_DOWN].is_set():
        return web.json_response({"status": "shutting_down"}, status=503)
    try:
        await request.app[keys.STORE].ping()
    except Exception as exc:  # any store failure means not ready
        return web.json_response({"status": "unavailable", "store": str(exc)[:200]}, status=503)
    return web.json_response({"status": "ready", "store": "ok", **request.app[keys.REDIS].status()})


def page_routes() -> list[web.RouteDef]:
    return [
        web.get("/", demo_page),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get(r"/{name:(widget\.js|widget\.css|demo\.css)}", widget_file),
    ]
