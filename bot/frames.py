"""What both websockets (the widget's and the inbox's) share about client frames.

A client frame is one JSON object of text. A frame the server refuses is answered with an
`error` frame and the socket, and everything on it, stays as it was.
"""

from __future__ import annotations

import json
from typing import Any


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
