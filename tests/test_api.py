"""The REST API: bearer token, JSON errors, conversations and leads."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH, api_get
from tests.support.visitor import Visitor


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}]
)
async def test_the_api_needs_the_token(client: TestClient[Any, Any], headers: dict[str, str]) -> None:
    for path in ("/api/conversations", "/api/leads", "/api/conversations/x", "/api/leads/x"):
        response = await client.get(path, headers=headers)
        assert response.status == 401
        body = await response.json()
        assert body["error"] == "unauthorized" and "Bearer" in body["message"]


async def test_unknown_records_are_json_404s(client: TestClient[Any, Any]) -> None:
    for path in ("/api/conversations/nope", "/api/leads/nope", "/api/no-such-thing"):
        body = await api_get(client, path, status=404)
        assert body["error"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        "/api/leads?status=hot",
        "/api/leads?min_score=high",
        "/api/leads?min_score=101",
        "/api/conversations?mode=x",
        "/api/conversations?limit=0",
        "/api/conversations?limit=1000",
        "/api/leads?offset=-1",
    ],
)
async def test_bad_query_values_are_json_400s(client: TestClient[Any, Any], query: str) -> None:
    body = await api_get(client, query, status=400)
    assert body["error"] == "bad_request" and body["message"]


async def test_wrong_methods_are_json_405s(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/leads", headers=AUTH)
    assert response.status == 405
    assert (await response.json())["error"] == "method_not_allowed"


async def test_conversations_and_leads_are_listed_and_filtered(client: TestClient[Any, Any]) -> None:
    hot = await Visitor.connect(client)
    await hot.greeting()
    await hot.say("budget is $8k per month and we need it ASAP, I'm the founder so it's my call")
    cold = await Visitor.connect(client)
    await cold.greeting()
    await cold.say("talk to a human")

    listed = await api_get(client, "/api/conversations")
    assert {c["id"] for c in listed["items"]} == {hot.conversation_id, cold.conversation_id}
    pending = await api_get(client, "/api/conversations?mode=pending_human")
    assert [c["id"] for c in pending["items"]] == [cold.conversation_id]
    assert "messages" not in pending["items"][0]

    leads = await api_get(client, "/api/leads?min_score=50")
    assert len(leads["items"]) == 1
    lead = leads["items"][0]
    assert (
        lead["budget_monthly"] == 8000 and lead["timeline"] == "immediate" and lead["decision_maker"] is True
    )
    assert lead["score"] == 75 and lead["status"] == "engaged"
    engaged = await api_get(client, "/api/leads?status=engaged")
    assert len(engaged["items"]) == 2


async def test_a_conversation_shows_every_slot_of_its_flow(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["flow"] == {"id": "default", "version": 1}
    assert conv["channel"] == "web" and conv["mode"] == "bot" and conv["handoff_reason"] is None
    lead = conv["lead"]
    for slot in (
        "need",
        "company",
        "team_size",
        "budget_monthly",
        "timeline",
        "decision_maker",
        "name",
        "email",
        "phone",
    ):
        assert slot in lead and lead[slot] is None
    assert (
        lead["score"] == 0
        and lead["grade"] == "D"
        and lead["temperature"] == "cold"
        and lead["status"] == "new"
    )
    assert conv["messages"][0]["from"] == "bot" and conv["messages"][0]["seq"] == 1


async def test_health_and_readiness(client: TestClient[Any, Any]) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok", "redis": "not configured"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_the_demo_page_and_widget_files_are_served(client: TestClient[Any, Any]) -> None:
    page = await client.get("/")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/widget.js" async></script>' in await page.text()
    for name, kind in (("widget.js", "javascript"), ("widget.css", "text/css")):
        response = await client.get(f"/{name}")
        assert response.status == 200 and kind in response.headers["Content-Type"]
    assert (await client.get("/secrets.js")).status == 404
