"""Signed-in inbox users for tests: a cookie jar, the CSRF token, API calls and the inbox socket."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from bot import keys
from bot.auth.users import User
from tests.support.frames import Frame, FrameSocket
from tests.support.visitor import Visitor

PASSWORD = "correct horse battery"
TOKEN_FIELD = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


async def add_user(
    client: TestClient[Any, Any],
    email: str,
    *,
    name: str,
    role: str = "agent",
    teams: tuple[str, ...] = ("sales",),
) -> User:
    return await client.app[keys.USERS].add(email, PASSWORD, role=role, name=name, teams=teams)


class InboxSocket(FrameSocket):
    """The agent's end of `/ws/inbox`."""

    async def send(self, frame: Frame) -> None:
        await self.ws.send_json(frame)


class Agent:
    """One person signed in to the inbox, with their own cookies."""

    def __init__(self, client: TestClient[Any, Any], user: User) -> None:
        self.client = client
        self.user = user
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    @classmethod
    async def sign_in(cls, client: TestClient[Any, Any], user: User) -> Agent:
        agent = cls(client, user)
        page = await agent.get_text("/login")
        found = TOKEN_FIELD.search(page)
        assert found is not None, page
        form = {"email": user.email, "password": PASSWORD, "csrf_token": found.group(1), "next": "/inbox"}
        response = await agent.http.post(client.make_url("/login"), data=form, allow_redirects=False)
        assert response.status == 303, await response.text()
        inbox = await agent.get_text("/inbox")
        meta = CSRF_META.search(inbox)
        assert meta is not None and meta.group(1), inbox
        agent.csrf = meta.group(1)
        return agent

    async def get_text(self, path: str) -> str:
        async with self.http.get(self.client.make_url(path), allow_redirects=False) as response:
            assert response.status == 200, (path, response.status)
            return await response.text()

    async def api(self, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
        """A JSON API call with the session and its CSRF token, as the inbox page makes it."""
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.request(
            method, self.client.make_url(path), json=body, headers=headers
        ) as response:
            payload = await response.json() if response.content_type == "application/json" else None
            assert response.status == status, (response.status, payload)
            return payload

    async def socket(self, **headers: str) -> InboxSocket:
        ws = await self.http.ws_connect(self.client.make_url("/ws/inbox"), headers=headers)
        inbox = InboxSocket(ws)
        inbox.hello = await inbox.next_frame("hello")
        return inbox

    async def close(self) -> None:
        await self.http.close()


async def hand_off(client: TestClient[Any, Any], company: str = "Acme Corp") -> Visitor:
    """A visitor who says what they need and where they work, then asks for a person."""
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say("We need better lead routing")
    await visitor.say(company)
    reply = await visitor.say("I'd like to talk to a person")
    assert "bringing in a person" in reply["text"], reply
    return visitor
