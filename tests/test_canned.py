"""Canned replies over HTTP: agents read them, admins write them, with the API's guards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH
from tests.support.inbox import Agent, add_user

PATH = "/api/canned-replies"


@pytest.fixture
async def admin(client: TestClient[Any, Any]) -> AsyncIterator[Agent]:
    agent = await Agent.sign_in(client, await add_user(client, "ada@example.com", name="Ada", role="admin"))
    yield agent
    await agent.close()


@pytest.fixture
async def agent(client: TestClient[Any, Any]) -> AsyncIterator[Agent]:
    agent = await Agent.sign_in(client, await add_user(client, "dana@example.com", name="Dana"))
    yield agent
    await agent.close()


async def test_admins_add_and_delete_and_agents_list(admin: Agent, agent: Agent) -> None:
    assert await agent.api("GET", PATH) == {"items": []}
    pricing = await admin.api(
        "POST", PATH, {"title": "  Pricing ", "text": "Plans start at $49.\n"}, status=201
    )
    assert pricing["title"] == "Pricing" and pricing["text"] == "Plans start at $49."
    assert pricing["created_by"] == admin.user.id and pricing["id"] and pricing["created_at"]
    await admin.api("POST", PATH, {"title": "after hours", "text": "We're back at 9."}, status=201)
    await admin.api("POST", PATH, {"title": "Demo", "text": "Book a demo: …"}, status=201)

    listed = await agent.api("GET", PATH)
    assert [r["title"] for r in listed["items"]] == ["after hours", "Demo", "Pricing"]  # by title, any case

    await admin.api("DELETE", f"{PATH}/{pricing['id']}", status=204)
    assert [r["title"] for r in (await agent.api("GET", PATH))["items"]] == ["after hours", "Demo"]
    gone = await admin.api("DELETE", f"{PATH}/{pricing['id']}", status=404)
    assert gone["error"] == "not_found"


async def test_agents_may_not_write(admin: Agent, agent: Agent) -> None:
    made = await admin.api("POST", PATH, {"title": "Hi", "text": "Hello!"}, status=201)
    refused = await agent.api("POST", PATH, {"title": "Mine", "text": "Mine"}, status=403)
    assert refused["error"] == "forbidden" and "admin" in refused["message"]
    refused = await agent.api("DELETE", f"{PATH}/{made['id']}", status=403)
    assert refused["error"] == "forbidden"
    assert len((await agent.api("GET", PATH))["items"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"text": "no title"}, 422, "title"),
        ({"title": "   ", "text": "blank title"}, 422, "title"),
        ({"title": "x" * 81, "text": "long title"}, 422, "80"),
        ({"title": "two\nlines", "text": "t"}, 422, "one line"),
        ({"title": "No text"}, 422, "text"),
        ({"title": "Blank", "text": " \n "}, 422, "text"),
        ({"title": "Long", "text": "x" * 4001}, 422, "4000"),
        ({"title": 7, "text": "t"}, 422, "title"),
        (["title", "text"], 400, "JSON object"),
    ],
)
async def test_bad_canned_replies_are_refused_plainly(
    admin: Agent, body: Any, status: int, says: str
) -> None:
    refused = await admin.api("POST", PATH, body, status=status)
    assert says in refused["message"]
    assert (await admin.api("GET", PATH))["items"] == []


async def test_a_body_that_is_not_json_is_refused(client: TestClient[Any, Any], admin: Agent) -> None:
    async with admin.http.post(
        client.make_url(PATH),
        data=b"title=x",
        headers={"X-CSRF-Token": admin.csrf, "Content-Type": "text/plain"},
    ) as response:
        assert response.status == 400 and (await response.json())["error"] == "bad_request"


async def test_sessions_need_the_csrf_token_and_tokens_do_not(
    client: TestClient[Any, Any], admin: Agent
) -> None:
    async with admin.http.post(client.make_url(PATH), json={"title": "t", "text": "t"}) as response:
        body = await response.json()
        assert response.status == 403 and body["error"] == "csrf"
    async with admin.http.post(
        client.make_url(PATH), json={"title": "t", "text": "t"}, headers={"X-CSRF-Token": "forged"}
    ) as response:
        assert response.status == 403
    # The admin API token acts as an admin, and no browser sends it on another site's behalf.
    made = await client.post(PATH, json={"title": "By token", "text": "t"}, headers=AUTH)
    assert made.status == 201
    assert (await made.json())["created_by"] == "api-token"


async def test_nobody_anonymous_and_no_other_method(client: TestClient[Any, Any], agent: Agent) -> None:
    for method, path in (("GET", PATH), ("POST", PATH), ("DELETE", f"{PATH}/x")):
        response = await client.request(method, path)
        assert response.status == 401 and (await response.json())["error"] == "unauthorized"
    put = await agent.api("PUT", PATH, {"title": "t"}, status=405)
    assert put["error"] == "method_not_allowed"
    async with agent.http.get(client.make_url(f"{PATH}/x"), headers={"X-CSRF-Token": agent.csrf}) as response:
        assert response.status == 405 and response.headers["Allow"] == "DELETE"
