"""Who may use the widget's endpoints, and how visitors open files: shared by the socket and uploads."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot import keys
from bot.models import Attachment

LinkMaker = Callable[[Attachment], str]


def origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: browsers always send Origin on websocket requests
    origin = origin.rstrip("/")
    settings = request.app[keys.SETTINGS]
    own = {f"{request.scheme}://{request.host}"}
    if settings.public_url:
        own.add(settings.public_url)
    return origin in own or origin in settings.allowed_origins


def visitor_link(app: web.Application) -> LinkMaker:
    links, clock = app[keys.ATTACHMENT_LINKS], app[keys.CLOCK]
    return lambda attachment: links.signed(attachment.id, clock())
