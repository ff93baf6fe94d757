"""A CRM stand-in on 127.0.0.1 for webhook tests: checks each request's signature with
`bot.webhooks.signing.verify`, records it, and answers as the test scripts it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.webhooks.signing import HEADER, SignatureError, verify

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass(frozen=True)
class Received:
    event: str
    delivery: str
    signature: str
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    now: Callable[[], datetime]
    secrets: list[str] = field(default_factory=list)  # any of them may sign
    answers: list[int] = field(default_factory=list)  # statuses to answer, in turn; then 200
    received: list[Received] = field(default_factory=list)  # signed correctly
    refused: list[str] = field(default_factory=list)  # why a request's signature was refused
    hold: asyncio.Event | None = None  # the next request (recorded) is answered once this is set
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get(HEADER)
        errors = []
        for secret in self.secrets:
            try:
                verify(secret, header, body, self.now())
                break
            except SignatureError as exc:
                errors.append(str(exc))
        else:
            self.refused.append("; ".join(errors) or "no secret to check with")
            return web.Response(status=401, text="bad signature")
        assert request.headers["Content-Type"] == "application/json"
        self.received.append(
            Received(
                request.headers["Leadbot-Event"], request.headers["Leadbot-Delivery"], header or "", body
            )
        )
        self._arrived.set()
        hold, self.hold = self.hold, None
        if hold is not None:  # a CRM that takes its time: the sender is left waiting
            await hold.wait()
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status, text="ok" if status < 300 else f"the CRM says no ({status})")

    def events(self) -> list[str]:
        return [r.event for r in self.received]

    async def wait_for(self, count: int, deadline: float = 10.0) -> None:
        """Until `count` signed requests arrived (for tests on the real clock)."""
        async with asyncio.timeout(deadline):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()


async def start_receiver(aiohttp_server: ServerFactory, now: Callable[[], datetime]) -> Receiver:
    receiver = Receiver(now=now)
    app = web.Application()
    app.router.add_post("/hook", receiver._hook)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/hook"))
    return receiver
