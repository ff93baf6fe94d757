"""A scripted widget client for end-to-end tests over the real websocket."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp.test_utils import TestClient

from tests.support.frames import Frame, FrameSocket


class Visitor(FrameSocket):
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
