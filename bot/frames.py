"""What both websockets (the widget's and the inbox's) share about client frames.

A client frame is one JSON object of text. A frame the server refuses is answered with an
`error` frame and the socket, and everything on it, stays as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"
UNAVAILABLE_TEXT = "the server cannot store messages right now; send it again in a few seconds"


class FrameError(ValueError):
    """A refused frame; `client_id` names the client's message it was about, when known."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.client_id = client_id


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["id"] = client_id
    return frame


def parse_frame(raw: str) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "frames must be JSON objects") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "frames must be JSON objects")
    return frame


async def read_frames(
    ws: web.WebSocketResponse,
    handle: Callable[[dict[str, Any]], Awaitable[None]],
    answer: Callable[[dict[str, Any]], None],
) -> None:
    """Feed every text frame to `handle` until the socket closes; refusals go to `answer`
    as `error` frames, and the socket stays open."""
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            frame: dict[str, Any] | None = None
            try:
                frame = parse_frame(msg.data)
                await handle(frame)
            except FrameError as exc:
                answer(error_frame(exc.code, str(exc), exc.client_id))
            except StoreUnavailable:
                # Nothing was acknowledged, so nothing is lost: the client sends it again.
                log.warning("store unavailable while handling a %s frame", (frame or {}).get("type"))
                client_id = (frame or {}).get("id")
                answer(
                    error_frame(
                        UNAVAILABLE, UNAVAILABLE_TEXT, client_id if isinstance(client_id, str) else None
                    )
                )
        elif msg.type == WSMsgType.BINARY:
            answer(error_frame("bad_frame", "binary frames are not supported; send JSON text"))
        elif msg.type == WSMsgType.ERROR:
            log.info("socket closed with error %s", ws.exception())
