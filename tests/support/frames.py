"""Reading JSON frames from a test websocket, with a deadline instead of a wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType

Frame = dict[str, Any]
DEADLINE = 10.0  # seconds; a frame that takes longer than this is a failure, not a wait


class FrameSocket:
    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.hello: Frame = {}
        self.frames: list[Frame] = []  # every frame received, in order

    async def receive(self) -> Frame:
        async with asyncio.timeout(DEADLINE):
            msg = await self.ws.receive()
        if msg.type != WSMsgType.TEXT:
            raise AssertionError(f"socket closed or sent non-text: {msg.type} {msg.data!r}")
        frame: Frame = msg.json()
        self.frames.append(frame)
        return frame

    async def next_frame(self, kind: str, where: Callable[[Frame], bool] = lambda f: True) -> Frame:
        """The next frame of `kind` for which `where` holds, skipping any others."""
        while True:
            frame = await self.receive()
            if frame["type"] == kind and where(frame):
                return frame

    async def close(self) -> None:
        await self.ws.close()
