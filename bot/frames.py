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

log = logging.getLogger(__name__)


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
            try:
                await handle(parse_frame(msg.data))
            except FrameError as exc:
                answer(error_frame(exc.code, str(exc), exc.client_id))
        elif msg.type == WSMsgType.BINARY:
            answer(error_frame("bad_frame", "binary frames are not supported; send JSON text"))
        elif msg.type == WSMsgType.ERROR:
            log.info("socket closed with error %s", ws.exception())
