"""Every API error is JSON: `{"error": <code>, "message": <text>}` with its HTTP status."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.errors import Refused
from bot.store import NotFound, StoreUnavailable

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def json_error(status: int, message: str, code: str | None = None) -> web.Response:
    body = {"error": code or _CODES.get(status, "error"), "message": message}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def unavailable() -> web.Response:
    """503: the store cannot be reached; nothing was done, so the caller may simply try again."""
    response = json_error(503, "the store is unreachable right now; nothing was changed, try again shortly")
    response.headers["Retry-After"] = "5"
    return response


@web.middleware
async def store_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outside /api too (channel webhooks, pages): 503 so providers and browsers retry."""
    try:
        return await handler(request)
    except StoreUnavailable:
        log.warning("store unavailable in %s %s", request.method, request.path)
        if request.writer.output_size:
            raise  # a response (a websocket's upgrade) already went out: nothing more can
        return unavailable()


class ApiError(web.HTTPException):
    """Raise with a status, a code and a message; the middleware renders it as JSON."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        self.status_code = status
        super().__init__(reason=None)
        self.code = code or _CODES.get(status, "error")
        self.detail = message


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status_code, exc.detail, exc.code)
    except Refused as exc:
        return json_error(exc.status, exc.message, exc.code)
    except NotFound as exc:
        return json_error(404, str(exc))
    except StoreUnavailable:
        log.warning("store unavailable in %s %s", request.method, request.path)
        return unavailable()
    except web.HTTPException as exc:
        if exc.status_code < 400 or exc.content_type == "application/json":
            raise
        response = json_error(exc.status_code, exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error; the request was logged", "internal")
