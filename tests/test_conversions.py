"""Conversions: marking a lead converted or lost through the API and the inbox's close, the
events that tell listeners, refusals of bad input; and the attribution report's API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.lead_events import LeadEvent
from tests.conftest import AUTH, api_call, api_get, settle
from tests.support.agents import make_agent
from tests.support.inbox import Agent, add_user, hand_off
from tests.support.visitor import Visitor


@pytest.fixture
def events(client: TestClient[Any, Any]) -> list[LeadEvent]:
    """Every lead event of the kinds this feature emits, in order."""
    seen: list[LeadEvent] = []

    async def listener(event: LeadEvent) -> None:
        if event.kind in ("lead.converted", "lead.lost"):
            seen.append(event)

    client.app[keys.LEAD_EVENTS].listen(listener)
    return seen


async def a_lead(client: TestClient[Any, Any]) -> str:
    v = await Visitor.connect(client)
    await v.greeting()
    lead_id: str = (await client.app[keys.STORE].get_conversation(v.conversation_id)).lead_id
    return lead_id


async def mark(
    client: TestClient[Any, Any],
    lead_id: str,
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    return await api_call(client, "POST", f"/api/leads/{lead_id}/conversion", body, status, headers)


async def test_the_api_marks_a_lead_converted_with_its_value(
    client: TestClient[Any, Any], events: list[LeadEvent]
) -> None:
    lead_id = await a_lead(client)
    lead = await mark(client, lead_id, {"outcome": "converted", "value": 1200, "currency": "eur"})
    conversion = lead["conversion"]
    assert conversion == {
        "outcome": "converted",
        "value": 1200.0,
        "currency": "EUR",
        "reason": None,
        "at": conversion["at"],
        "by": conversion["by"],
    }
    assert conversion["by"] and conversion["at"]
    assert lead["status"] == "converted"
    assert lead["status_history"][-1]["status"] == "converted"
    assert lead["status_history"][-1]["reason"] == "marked by Admin (API token): converted (value 1,200 EUR)"
    assert (await api_get(client, f"/api/leads/{lead_id}"))["conversion"] == conversion  # stored

    [event] = events
    assert (event.kind, event.lead.id, event.conversation) == ("lead.converted", lead_id, None)
    assert event.details == {"value": 1200.0, "currency": "EUR"}


async def test_an_agent_marks_a_lead_lost_with_a_reason(
    client: TestClient[Any, Any], events: list[LeadEvent]
) -> None:
    dana, auth = await make_agent(client.app, "dana@example.com", name="Dana")
    lead_id = await a_lead(client)
    lead = await mark(client, lead_id, {"outcome": "lost", "reason": "  chose a competitor "}, headers=auth)
    assert lead["status"] == "lost"
    assert lead["conversion"]["reason"] == "chose a competitor"
    assert lead["conversion"]["value"] is None and lead["conversion"]["by"] == dana.id
    assert lead["status_history"][-1]["reason"] == "marked by Dana: lost (chose a competitor)"
    [event] = events
    assert (event.kind, event.details) == ("lead.lost", {"reason": "chose a competitor"})


async def test_marking_again_replaces_the_conversion_and_keeps_the_history(
    client: TestClient[Any, Any], events: list[LeadEvent]
) -> None:
    lead_id = await a_lead(client)
    await mark(client, lead_id, {"outcome": "converted", "value": 1000})
    await mark(client, lead_id, {"outcome": "converted", "value": 1250.5, "currency": "USD"})
    lead = await mark(client, lead_id, {"outcome": "lost", "reason": "the deal fell through"})
    assert lead["conversion"]["outcome"] == "lost" and lead["conversion"]["value"] is None
    assert [c["reason"] for c in lead["status_history"][-3:]] == [
        "marked by Admin (API token): converted (value 1,000)",
        "marked by Admin (API token): converted (value 1,250.50 USD); replaces converted (value 1,000)",
        "marked by Admin (API token): lost (the deal fell through); replaces converted (value 1,250.50 USD)",
    ]
    assert [e.kind for e in events] == ["lead.converted", "lead.converted", "lead.lost"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"outcome": "won"}, "outcome must be 'converted' or 'lost'"),
        ({}, "outcome must be 'converted' or 'lost'"),
        ({"outcome": "converted", "value": -5}, "value must be a number ≥ 0"),
        ({"outcome": "converted", "value": "1200"}, "value must be a number ≥ 0"),
        ({"outcome": "converted", "value": True}, "value must be a number ≥ 0"),
        ({"outcome": "converted", "value": 10, "currency": "EURO"}, "currency must be a three-letter"),
        ({"outcome": "converted", "currency": "EUR"}, "currency needs a value"),
        ({"outcome": "converted", "value": 10, "reason": "price"}, "reason is for lost leads"),
        ({"outcome": "lost"}, "a lost lead needs a reason"),
        ({"outcome": "lost", "reason": "   "}, "a lost lead needs a reason"),
        ({"outcome": "lost", "reason": 42}, "reason must be a string"),
        ({"outcome": "lost", "reason": "x" * 501}, "reason is longer than 500"),
        ({"outcome": "lost", "reason": "price", "value": 0}, "value and currency are for converted"),
        (["converted"], "the body must be a JSON object"),
    ],
)
async def test_bad_input_is_a_400_that_changes_nothing(
    client: TestClient[Any, Any], events: list[LeadEvent], body: Any, complaint: str
) -> None:
    lead_id = await a_lead(client)
    answer = await mark(client, lead_id, body, status=400)
    assert answer["error"] == "bad_request" and complaint in answer["message"], answer
    lead = await api_get(client, f"/api/leads/{lead_id}")
    assert lead["conversion"] is None and lead["status"] == "new"
    assert events == []


async def test_a_value_that_is_not_finite_is_refused(client: TestClient[Any, Any]) -> None:
    lead_id = await a_lead(client)
    response = await client.post(
        f"/api/leads/{lead_id}/conversion",
        data='{"outcome": "converted", "value": NaN}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status == 400 and "value must be a number" in (await response.json())["message"]


async def test_an_unknown_lead_is_404_and_strangers_are_401(client: TestClient[Any, Any]) -> None:
    answer = await mark(client, "nobody", {"outcome": "converted"}, status=404)
    assert answer["error"] == "not_found"
    lead_id = await a_lead(client)
    response = await client.post(f"/api/leads/{lead_id}/conversion", json={"outcome": "converted"})
    assert response.status == 401


# -- the inbox: closing a conversation with an outcome ---------------------------------------


@pytest.fixture
async def dana(client: TestClient[Any, Any]) -> AsyncIterator[Agent]:
    user = await add_user(client, "dana@example.com", name="Dana")
    agent = await Agent.sign_in(client, user)
    yield agent
    await agent.close()


async def claimed_by(client: TestClient[Any, Any], agent: Agent) -> tuple[Visitor, str]:
    """A visitor handed off to people, and the agent owning their conversation (and its API path)."""
    v = await hand_off(client)
    path = f"/api/conversations/{v.conversation_id}"
    await agent.api("POST", f"{path}/claim")
    return v, path


async def test_closing_as_lost_in_the_inbox_records_the_reason(
    client: TestClient[Any, Any], dana: Agent, events: list[LeadEvent]
) -> None:
    v, path = await claimed_by(client, dana)
    # as the inbox page sends it: the session, its CSRF token, and the dialog's fields
    closed = await dana.api("POST", f"{path}/close", {"outcome": "lost", "reason": "no budget this year"})
    assert closed["mode"] == "closed" and closed["outcome"] == "lost"
    lead = (await api_get(client, path))["lead"]
    assert lead["status"] == "lost"
    assert lead["conversion"]["reason"] == "no budget this year"
    assert lead["conversion"]["by"] == dana.user.id
    assert lead["status_history"][-1]["reason"] == "closed by Dana: lost (no budget this year)"
    [event] = events
    assert event.kind == "lead.lost" and event.details == {"reason": "no budget this year"}
    assert event.conversation is not None and event.conversation.id == v.conversation_id


async def test_closing_as_converted_records_the_value(
    client: TestClient[Any, Any], dana: Agent, events: list[LeadEvent]
) -> None:
    _, path = await claimed_by(client, dana)
    closed = await dana.api("POST", f"{path}/close", {"outcome": "converted", "value": 12000})
    assert closed["outcome_value"] == 12000
    lead = (await api_get(client, path))["lead"]
    assert (lead["status"], lead["conversion"]["value"]) == ("converted", 12000.0)
    assert lead["status_history"][-1]["reason"] == "closed by Dana: converted (value 12,000)"
    [event] = events
    assert event.kind == "lead.converted" and event.details == {"value": 12000.0, "currency": None}


async def test_closing_with_a_bad_outcome_is_refused_and_changes_nothing(
    client: TestClient[Any, Any], dana: Agent, events: list[LeadEvent]
) -> None:
    _, path = await claimed_by(client, dana)
    # 422 like every agent action's body; a lost close may leave the reason out (older clients)
    refused = await dana.api("POST", f"{path}/close", {"outcome": "lost", "reason": "x" * 501}, status=422)
    assert "reason is longer than 500" in refused["message"]
    await dana.api("POST", f"{path}/close", {"outcome": "converted", "value": 5, "reason": "why"}, status=422)
    conv = await api_get(client, path)
    assert conv["mode"] == "human" and conv["lead"]["conversion"] is None and events == []
    closed = await dana.api("POST", f"{path}/close", {"outcome": "lost"})
    assert closed["outcome"] == "lost"
    assert (await api_get(client, path))["lead"]["conversion"]["reason"] is None


# -- the attribution report over the API -----------------------------------------------------


async def test_the_report_credits_a_converted_visit(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_json(
        {
            "type": "visit",
            "id": "v1",
            "utm": {"source": "google", "campaign": "spring-sale"},
            "landing_page": "https://shop.example.com/",
        }
    )
    await v.say("We need a CRM")  # acked after the visit was handled
    await settle(client.app)
    lead_id = (await client.app[keys.STORE].get_conversation(v.conversation_id)).lead_id
    await mark(client, lead_id, {"outcome": "converted", "value": 900})

    report = await api_get(client, "/api/attribution?model=w_shaped&by=campaign")
    assert report["model"] == "w_shaped" and report["by"] == "campaign" and report["half_life_days"] == 7
    assert report["rows"] == [{"key": "spring-sale", "conversions": 1.0, "value": 900.0}]
    assert report["total"] == {"conversions": 1.0, "value": 900.0}
    by_source = await api_get(client, "/api/attribution?model=time_decay&half_life_days=2")
    assert by_source["rows"] == [{"key": "google", "conversions": 1.0, "value": 900.0}]
    # a range that ends before today has no conversions
    empty = await api_get(client, "/api/attribution?from=2020-01-01&to=2020-01-31")
    assert empty["rows"] == [] and empty["to"] == "2020-02-01T00:00:00+00:00"  # to: the whole day


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("model=position", "model must be one of first_touch, last_touch, linear"),
        ("by=medium", "by must be one of source, campaign"),
        ("half_life_days=0", "half_life_days must be a number > 0"),
        ("half_life_days=soon", "half_life_days must be a number > 0"),
        ("from=yesterday", "from must be a date"),
        ("from=2025-02-01&to=2025-01-01", "from must come before to"),
        ("to=9999-12-31", "to must be a date"),  # its end is past the last day there is
    ],
)
async def test_bad_report_queries_are_400(client: TestClient[Any, Any], query: str, complaint: str) -> None:
    answer = await api_get(client, f"/api/attribution?{query}", status=400)
    assert answer["error"] == "bad_request" and complaint in answer["message"]


async def test_the_report_is_for_admins(client: TestClient[Any, Any]) -> None:
    _, agent_auth = await make_agent(client.app, "fox@example.com", name="Fox")
    response = await client.get("/api/attribution", headers=agent_auth)
    assert response.status == 403 and "only admins" in (await response.json())["message"]
    _, admin_auth = await make_agent(client.app, "boss@example.com", name="Boss", role="admin")
    response = await client.get("/api/attribution", headers=admin_auth)
    assert response.status == 200
