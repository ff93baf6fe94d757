"""`/static/<name>`: the pages' stylesheets, scripts and images, from `bot/static/` only.

Names are flat (no folders, no dots first) and must have a known type, so nothing outside
the folder — and nothing inside it that is not an asset, like `__init__.py` — is served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
NAME_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    kind = TYPES.get(Path(name).suffix)
    path = STATIC_DIR / name
    if kind is None or not path.is_file():
        raise web.HTTPNotFound(text=f"no static file {name!r}")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": kind,
            # Revalidated each time (cheap: ETag/Last-Modified), so a deploy shows at once.
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def static_routes() -> list[web.RouteDef]:
    return [web.get(f"/static/{{name:{NAME_PATTERN}}}", static_file)]
