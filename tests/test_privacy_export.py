"""`GET /api/leads/{id}/export`: everything about a lead in one JSON document, and nothing
the store keeps about the lead missing from it."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from tests.conftest import AUTH, ClientFactory, api_get, make_settings, settle
from tests.support.agents import make_agent
from tests.support.consent_flow import CONSENT_TEXT, consent_flows
from tests.support.lead_seed import (
    EMAIL,
    FILE_BYTES,
    FILE_CAPTION,
    JOB_KIND,
    PHONE,
    SMS_TEXT,
    WIDGET_TEXT,
    SeededLead,
    seed_lead,
)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    flows = consent_flows(tmp_path / "flows", required=False)
    settings = make_settings(tmp_path / "data", LEADBOT_FLOWS_DIR=str(flows))
    return await aiohttp_client(create_app(settings))


async def export(client: TestClient[Any, Any], lead_id: str, status: int = 200, **headers: str) -> Any:
    response = await client.get(f"/api/leads/{lead_id}/export", headers=headers or AUTH)
    body = await response.json()
    assert response.status == status, body
    if status == 200:
        assert response.headers["Content-Disposition"] == f'attachment; filename="lead-{lead_id}.json"'
    return body


async def test_the_export_holds_everything_about_the_lead(client: TestClient[Any, Any]) -> None:
    seeded: SeededLead = await seed_lead(client, consent=True)
    document = await export(client, seeded.lead_id)

    assert (document["format"], document["version"], document["lead_id"]) == (
        "leadbot.lead-export",
        1,
        seeded.lead_id,
    )
    lead = document["lead"]
    assert (lead["email"], lead["phone"]) == (EMAIL, PHONE)
    assert lead["merged_ids"] == [seeded.merged_lead_id]

    conversations = {c["id"]: c for c in document["conversations"]}
    assert set(conversations) == set(seeded.conversation_ids)
    assert {c["channel"] for c in conversations.values()} == {"web", "sms"}
    web_texts = [m["text"] for m in conversations[seeded.web_conversation_id]["messages"]]
    assert WIDGET_TEXT in web_texts and FILE_CAPTION in web_texts
    assert any(m["from"] == "bot" for m in conversations[seeded.web_conversation_id]["messages"])
    assert SMS_TEXT in [m["text"] for m in conversations[seeded.sms_conversation_id]["messages"]]

    [attachment] = document["attachments"]
    assert attachment["id"] == seeded.attachment_id
    assert (attachment["filename"], attachment["content_type"]) == ("plan.txt", "text/plain")
    assert base64.b64decode(attachment["data_base64"]) == FILE_BYTES

    [consent] = document["consent"]
    assert consent["given"] is True and consent["text"] == CONSENT_TEXT
    assert consent["conversation_id"] == seeded.web_conversation_id
    assert consent["flow"]["id"] == "default" and consent["at"]
    assert conversations[seeded.web_conversation_id]["consent"] == consent
    assert lead["consent"] == consent

    # The visit seeded here, and the SMS conversation's start, recorded by attribution.
    touchpoints = {(t["channel"], t["campaign"]) for t in document["touchpoints"]}
    assert touchpoints == {("web", "zephyrine-spring"), ("sms", None)}
    [delivery] = document["webhook_deliveries"]
    assert delivery["lead_id"] == seeded.lead_id and EMAIL in json.dumps(delivery["body"])
    assert [j["key"] for j in document["jobs"] if j["kind"] == JOB_KIND] == [f"{JOB_KIND}:{seeded.lead_id}"]
    assert [r["conversation_id"] for r in document["other_records"]["email_message_ids"]] == [
        seeded.web_conversation_id
    ]

    reads = {(e["action"], e.get("lead_id"), e.get("conversation_id")) for e in document["access_log"]}
    assert ("lead.viewed", seeded.lead_id, None) in reads
    assert ("conversation.viewed", seeded.lead_id, seeded.web_conversation_id) in reads
    again = await export(client, seeded.lead_id)
    assert ("lead.exported", seeded.lead_id) in {(e["action"], e.get("lead_id")) for e in again["access_log"]}


async def test_nothing_the_store_keeps_about_the_lead_is_missing(client: TestClient[Any, Any]) -> None:
    seeded = await seed_lead(client, consent=True)
    document = json.dumps(await export(client, seeded.lead_id))
    store = client.app[keys.STORE]
    ids = [seeded.lead_id, seeded.merged_lead_id, *seeded.conversation_ids]
    missing = []
    for name in await store.collection_names():
        async for doc in store.collection(name).find({}):
            text = json.dumps(doc, default=str)
            if name != "audit" and any(i in text for i in ids) and str(doc["_id"]) not in document:
                missing.append(f"{name} {doc['_id']}")
    assert missing == []


async def test_only_admins_export(client: TestClient[Any, Any]) -> None:
    seeded = await seed_lead(client)
    _, agent = await make_agent(client.app, "agent@example.com")
    refused = await export(client, seeded.lead_id, status=403, **agent)
    assert "only admins export leads" in refused["message"]
    await export(client, "no-such-lead", status=404)
    entries = (await api_get(client, "/api/audit?kind=access"))["items"]
    assert "lead.exported" not in {e["action"] for e in entries}


async def test_records_kept_under_a_merged_leads_id_are_exported(client: TestClient[Any, Any]) -> None:
    """A lead merged into another keeps its id on what was written before the merge (the
    webhook deliveries of its `lead.created`, its jobs): the person's export has them too, as
    their erasure removes them."""
    seeded = await seed_lead(client)
    store = client.app[keys.STORE]
    now = client.app[keys.CLOCK]()
    await store.collection("webhook_deliveries").insert_one(
        {
            "_id": "delivery-of-the-merged-lead",
            "endpoint_id": "crm",
            "event_id": "event-of-the-merged-lead",
            "kind": "lead.created",
            "lead_id": seeded.merged_lead_id,
            "seq": 2,
            "body": f'{{"lead": {{"id": "{seeded.merged_lead_id}", "phone": "{PHONE}"}}}}',
            "status": "delivered",
            "attempts": [],
            "scheduled": False,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": now,
        }
    )
    key = f"{JOB_KIND}:{seeded.merged_lead_id}"
    await client.app[keys.JOBS].schedule(
        JOB_KIND,
        {"lead_id": seeded.merged_lead_id},
        key=key,
        run_at=now + timedelta(days=3),
        subject=seeded.merged_lead_id,
    )

    document = await export(client, seeded.lead_id)

    assert "delivery-of-the-merged-lead" in {d["id"] for d in document["webhook_deliveries"]}
    assert key in {j["key"] for j in document["jobs"]}


async def test_the_number_a_texter_wrote_from_is_exported(client: TestClient[Any, Any]) -> None:
    """An SMS conversation is with a phone number (its `contact`), which stays the conversation's
    even when the lead's phone answer changes: the export shows it."""
    convs = client.app[keys.CONVERSATIONS]
    texted_from = "+14155550177"
    sms, _, _ = await convs.receive_from_contact(
        "sms", texted_from, text="hi", provider_id="SM" + secrets.token_hex(16), lead_slots={}
    )
    await settle(client.app)

    document = await export(client, sms.lead_id)

    [conversation] = document["conversations"]
    assert conversation["contact"] == texted_from
