"""The access audit: agents' and admins' reads of lead data are recorded (who, what, when; never
the data itself), once per opening in the inbox; and the admin leads search."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from tests.conftest import api_call, api_get
from tests.support.agents import make_agent
from tests.support.frames import Frame
from tests.support.inbox import Agent, add_user
from tests.support.visitor import Visitor

EMAIL = "dana.reader@example.com"


async def lead_with_email(client: TestClient[Any, Any]) -> tuple[Visitor, str]:
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say(f"my email is {EMAIL}, phone 415 555 0142")
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    return visitor, conv["lead_id"]


def saying(text: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("text") == text


async def access_entries(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api_get(client, "/api/audit?kind=access&limit=200"))["items"]
    return items


async def test_api_reads_are_recorded_without_the_data(client: TestClient[Any, Any]) -> None:
    visitor, lead_id = await lead_with_email(client)
    _, agent = await make_agent(client.app, "reader@example.com")
    before = len(await access_entries(client))

    for path in (f"/api/leads/{lead_id}", f"/api/conversations/{visitor.conversation_id}", "/api/leads"):
        response = await client.get(path, headers=agent)
        assert response.status == 200, await response.json()

    entries = await access_entries(client)
    new = entries[: len(entries) - before]  # newest first
    by_action = {e["action"]: e for e in new if e["actor"] == "reader@example.com"}
    assert by_action["lead.viewed"]["lead_id"] == lead_id
    assert by_action["conversation.viewed"]["conversation_id"] == visitor.conversation_id
    assert by_action["conversation.viewed"]["lead_id"] == lead_id
    assert by_action["leads.listed"]["count"] >= 1 and "lead_id" not in by_action["leads.listed"]
    assert all(e["kind"] == "access" and e["at"] for e in by_action.values())
    assert EMAIL not in str(new) and "0142" not in str(new)


async def test_the_inbox_records_an_opening_once_not_every_update(client: TestClient[Any, Any]) -> None:
    visitor, _ = await lead_with_email(client)
    user = await add_user(client, "dana@example.com", name="Dana", role="admin")
    agent = await Agent.sign_in(client, user)
    try:
        inbox = await agent.socket()
        await inbox.send({"type": "open", "conversation_id": visitor.conversation_id})
        await inbox.next_frame("conversation")
        opened = [e for e in await access_entries(client) if e["actor"] == "dana@example.com"]
        assert [(e["action"], e["conversation_id"]) for e in opened] == [
            ("conversation.viewed", visitor.conversation_id)
        ]

        # The conversation goes on while it is open: live frames, no more audit writes.
        audit = client.app[keys.STORE].collection("audit")
        writes = await audit.count_documents({})
        for text in ("we are 40 people", "budget about 5k a month"):
            await visitor.say(text)
            await inbox.next_frame("message", saying(text))
        assert await audit.count_documents({}) == writes

        await inbox.send({"type": "open", "conversation_id": None})
        await inbox.send({"type": "open", "conversation_id": visitor.conversation_id})
        await inbox.next_frame("conversation")
        opened = [e for e in await access_entries(client) if e["actor"] == "dana@example.com"]
        assert len(opened) == 2  # opened again: a read again
        await inbox.close()
    finally:
        await agent.close()


async def test_touchpoints_and_webhook_deliveries_are_reads_of_lead_data(
    client: TestClient[Any, Any],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the delivery stays retrying
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    await api_call(client, "POST", "/api/webhooks", {"url": url, "events": ["lead.updated"]}, status=201)
    visitor, lead_id = await lead_with_email(client)
    _, agent = await make_agent(client.app, "reader@example.com")
    before = len(await access_entries(client))

    response = await client.get(f"/api/leads/{lead_id}/touchpoints", headers=agent)
    assert response.status == 200, await response.json()
    [delivery] = (await api_get(client, "/api/webhooks/deliveries"))["items"]
    shown = await api_get(client, f"/api/webhooks/deliveries/{delivery['id']}")
    assert EMAIL in shown["body"]  # the body is the lead as sent: their data
    await api_call(client, "POST", f"/api/webhooks/deliveries/{delivery['id']}/redeliver")

    entries = await access_entries(client)
    new = entries[: len(entries) - before]  # newest first
    found = [(e["action"], e.get("lead_id")) for e in reversed(new)]  # oldest first
    assert found == [
        ("touchpoints.viewed", lead_id),
        ("webhook_delivery.viewed", lead_id),
        ("webhook_delivery.viewed", lead_id),
    ]
    assert new[-1]["actor"] == "reader@example.com" and EMAIL not in str(new)
    await visitor.close()


async def test_the_audit_log_filters_by_kind(client: TestClient[Any, Any]) -> None:
    _, lead_id = await lead_with_email(client)
    await api_get(client, f"/api/leads/{lead_id}")
    flows = (await api_get(client, "/api/audit?kind=flows"))["items"]
    assert flows and {e["kind"] for e in flows} == {"flows"}  # the flows seeded at start
    access = await access_entries(client)
    assert access and {e["kind"] for e in access} == {"access"}
    everything = (await api_get(client, "/api/audit?limit=200"))["items"]
    assert len(everything) == len(flows) + len(access)
    refused = await client.get("/api/audit?kind=secrets", headers={"Authorization": "Bearer test-api-token"})
    assert refused.status == 400
    assert "kind must be one of flows, access, privacy, webhooks" in (await refused.json())["message"]


async def test_admins_find_leads_by_email_phone_or_id(client: TestClient[Any, Any]) -> None:
    _, lead_id = await lead_with_email(client)
    for query in (EMAIL.upper(), "(415) 555-0142", lead_id, "dana.reader"):
        found = (await api_get(client, f"/api/privacy/leads?q={query}"))["items"]
        assert [lead["id"] for lead in found] == [lead_id], query
    assert (await api_get(client, "/api/privacy/leads?q=nobody@example.org"))["items"] == []
    await api_get(client, "/api/privacy/leads?q=", status=400)
    searches = [e for e in await access_entries(client) if e["action"] == "leads.searched"]
    assert [e["count"] for e in searches] == [0, 1, 1, 1, 1]  # newest first; the query is not kept
    assert "dana.reader" not in str(searches)
    _, agent = await make_agent(client.app, "agent@example.com")
    refused = await client.get(f"/api/privacy/leads?q={lead_id}", headers=agent)
    assert refused.status == 403


async def test_a_search_of_zeros_does_not_find_every_lead_with_a_phone(client: TestClient[Any, Any]) -> None:
    """Leading zeros are dropped to match a national number against an international one; a
    query of zeros only leaves nothing to match, and must not match every phone number (an
    admin about to erase someone would see strangers)."""
    await lead_with_email(client)  # has the phone (415) 555-0142
    for query in ("0000", "000-000"):
        assert (await api_get(client, f"/api/privacy/leads?q={query}"))["items"] == [], query


async def test_the_leads_page_is_for_admins(client: TestClient[Any, Any]) -> None:
    admin = await Agent.sign_in(client, await add_user(client, "boss@example.com", name="Boss", role="admin"))
    agent = await Agent.sign_in(client, await add_user(client, "rep@example.com", name="Rep"))
    try:
        page = await admin.get_text("/admin/leads")
        assert "Leads" in page and "/static/admin-leads.js" in page
        async with agent.http.get(client.make_url("/admin/leads"), allow_redirects=False) as response:
            assert response.status == 403
    finally:
        await admin.close()
        await agent.close()
