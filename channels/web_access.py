"""Who may use the widget's endpoints (origins, rate limits), and how visitors open files: shared by
the socket and uploads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from bot import keys
from bot.client_address import client_address
from bot.frames import error_frame
from bot.models import Attachment
from bot.rate_limits import Rule, retry_seconds

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


def limited_frame(message: str, wait: float, client_id: str | None = None) -> dict[str, Any]:
    """The `rate_limited` error frame: nothing was done; the same request is welcome after
    `retry_after` seconds (the widget keeps a refused message and sends it again then)."""
    return {**error_frame("rate_limited", message, client_id), "retry_after": retry_seconds(wait)}


async def new_conversation_wait(request: web.Request) -> float | None:
    """Count a new widget conversation against the client's address: None, or the seconds to wait."""
    address = client_address(request, request.app[keys.SETTINGS].trusted_proxies)
    return await request.app[keys.RATE_LIMITS].hit(Rule.NEW_CONVERSATIONS, address)


async def refuse_new_conversation(request: web.Request, wait: float) -> web.WebSocketResponse:
    """Over the limit: upgrade, say why in an `error` frame, close with 1013 (try again later).

    Not an HTTP 429 before the upgrade: a browser's WebSocket never shows the page a refused
    handshake's status or body, so the widget could not tell the visitor why or for how long.
    """
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    seconds = retry_seconds(wait)
    await ws.send_json(
        limited_frame(f"too many new conversations from this address; try again in {seconds} s", wait)
    )
    await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"rate limited")
    return ws
