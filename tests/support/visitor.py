"""A scripted widget client for end-to-end tests over the real websocket."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

Frame = dict[str, Any]
DEADLINE = 10.0  # seconds; a frame that takes longer than this is a failure, not a wait


class Visitor:
    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.hello: Frame = {}
        self.frames: list[Frame] = []  # every frame received, in order

    @classmethod
    async def connect(
        cls,
        client: TestClient[Any, Any],
        *,
        token: str | None = None,
        after_seq: int | None = None,
        **headers: str,
    ) -> Visitor:
        params = {}
        if token is not None:
            params["token"] = token
        if after_seq is not None:
            params["after_seq"] = str(after_seq)
        ws = await client.ws_connect("/ws/chat", params=params, headers=headers)
        visitor = cls(ws)
        visitor.hello = await visitor.next_frame("hello")
        return visitor

    @property
    def token(self) -> str:
        return str(self.hello["visitor_token"])

    @property
    def conversation_id(self) -> str:
        return str(self.hello["conversation_id"])

    async def receive(self) -> Frame:
        async with asyncio.timeout(DEADLINE):
            msg = await self.ws.receive()
        if msg.type != WSMsgType.TEXT:
            raise AssertionError(f"socket closed or sent non-text: {msg.type} {msg.data!r}")
        frame: Frame = msg.json()
        self.frames.append(frame)
        return frame

    async def next_frame(self, kind: str, where: Callable[[Frame], bool] = lambda f: True) -> Frame:
        """The next frame of `kind` (skipping typing frames and others)."""
        while True:
            frame = await self.receive()
            if frame["type"] == kind and where(frame):
                return frame

    async def greeting(self) -> Frame:
        return await self.next_frame("message", lambda f: f["from"] == "bot")

    async def send(self, text: str, client_id: str | None = None) -> str:
        # Unique across visitors and reloads, as the widget's ids are: a reused id is the same message.
        client_id = client_id or secrets.token_hex(8)
        await self.ws.send_json({"type": "message", "id": client_id, "text": text})
        return client_id

    async def say(self, text: str) -> Frame:
        """Send a message, wait for its ack, then return the bot's reply."""
        client_id = await self.send(text)
        ack = await self.next_frame("ack")
        assert ack["id"] == client_id, ack
        reply = await self.next_frame("message", lambda f: f["from"] == "bot")
        assert reply["seq"] > ack["seq"]
        return reply

    async def close(self) -> None:
        await self.ws.close()
