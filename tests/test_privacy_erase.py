"""Erasing a lead (`DELETE /api/leads/{id}`) leaves nothing of it behind: every collection of the
store and every Redis key and value are searched for its ids, contacts, name and words."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.models import FlowRef
from bot.store import Store
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.agents import make_agent
from tests.support.inbox import Agent, add_user
from tests.support.lead_seed import JOB_KIND, SeededLead, erase, seed_lead


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path, redis_url: str) -> TestClient[Any, Any]:
    settings = make_settings(tmp_path / "data", LEADBOT_REDIS_URL=redis_url)
    return await aiohttp_client(create_app(settings))


async def store_leftovers(store: Store, needles: list[str]) -> list[str]:
    """Every (collection, needle) where a document still holds one of the needles."""
    found = []
    for name in await store.collection_names():
        async for doc in store.collection(name).find({}):
            text = json.dumps(doc, default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v))
            found += [f"{name}: {needle!r} in {text[:300]}" for needle in needles if needle in text]
    return found


async def redis_leftovers(url: str, needles: list[str]) -> list[str]:
    client = aioredis.Redis.from_url(url)
    found = []
    try:
        async for raw in client.scan_iter(count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            kind_raw = await client.type(raw)
            kind = kind_raw.decode() if isinstance(kind_raw, bytes) else str(kind_raw)
            if kind == "string":
                value: Any = await client.get(raw)
            elif kind == "hash":
                value = await client.hgetall(raw)
            elif kind == "list":
                value = await client.lrange(raw, 0, -1)
            elif kind == "set":
                value = await client.smembers(raw)
            elif kind == "zset":
                value = await client.zrange(raw, 0, -1)
            elif kind == "stream":
                value = await client.xrange(raw)
            else:
                value = kind
            text = key + " " + repr(value)
            found += [f"redis {key}: {needle!r}" for needle in needles if needle in text]
    finally:
        await client.aclose()
    return found


async def test_erasing_a_lead_leaves_nothing_behind(
    client: TestClient[Any, Any], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    app = client.app
    seeded: SeededLead = await seed_lead(client)
    needles = seeded.needles()
    store = app[keys.STORE]
    # The seed is where the test expects it: in the store and in Redis.
    assert await store_leftovers(store, needles)
    assert await redis_leftovers(redis_url, [seeded.web_conversation_id])
    assert [j.key for j in await app[keys.JOBS].pending(subject=seeded.lead_id)] == [
        f"{JOB_KIND}:{seeded.lead_id}"
    ]

    answer = await erase(client, seeded.lead_id)  # the visitor is still connected meanwhile
    await settle(app)

    removed = answer["removed"]
    assert answer["erased"] is True
    assert removed["conversations"] == 2
    assert removed["leads"] == 1  # the merged SMS lead had been folded into it already
    assert removed["attachments"] == 1
    assert removed["messages"] >= 5
    assert removed["redis_keys"] >= 2  # the widget conversation's rate-limit window and fence

    # The connected widget hears that its conversation is gone, and is let go.
    error = await seeded.visitor.next_frame("error")
    assert error["code"] == "not_found"
    closing = await seeded.visitor.ws.receive(timeout=5)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)

    assert await store_leftovers(store, needles) == []
    assert await redis_leftovers(redis_url, needles) == []
    assert await app[keys.JOBS].pending(subject=seeded.lead_id) == []

    # The one trace: an audit entry with counts and a salted hash, no personal data.
    entries = (await api_get(client, "/api/audit?kind=privacy"))["items"]
    [entry] = [e for e in entries if e["action"] == "lead.erased"]
    assert entry["removed"] == removed
    assert entry["actor"] == "Admin (API token)"
    digest = hashlib.sha256(f"{entry['subject_salt']}:{seeded.lead_id}".encode()).hexdigest()
    assert entry["subject_hash"] == digest
    # Who read the lead before stays on record, linked to the erasure by the same hash.
    reads = [e for e in (await api_get(client, "/api/audit?kind=access"))["items"] if "subject_hash" in e]
    assert {e["action"] for e in reads} >= {"lead.viewed", "conversation.viewed"}
    assert {e["subject_hash"] for e in reads} == {digest}

    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_erasing_twice_is_not_found_the_second_time(client: TestClient[Any, Any]) -> None:
    seeded = await seed_lead(client)
    await erase(client, seeded.lead_id)
    again = await erase(client, seeded.lead_id, status=404)
    assert again["error"] == "not_found"
    await erase(client, seeded.merged_lead_id, status=404)
    await api_get(client, f"/api/conversations/{seeded.web_conversation_id}", status=404)


async def test_only_admins_erase(client: TestClient[Any, Any]) -> None:
    seeded = await seed_lead(client)
    _, agent = await make_agent(client.app, "agent@example.com")
    refused = await erase(client, seeded.lead_id, status=403, headers=agent)
    assert "only admins erase leads" in refused["message"]
    unsigned = await client.delete(f"/api/leads/{seeded.lead_id}")
    assert unsigned.status == 401
    lead = await api_get(client, f"/api/leads/{seeded.lead_id}")
    assert lead["id"] == seeded.lead_id
    _, admin = await make_agent(client.app, "admin@example.com", role="admin")
    await erase(client, seeded.lead_id, headers=admin)


async def test_an_erased_conversation_leaves_the_inbox(client: TestClient[Any, Any]) -> None:
    seeded = await seed_lead(client)
    admin = await Agent.sign_in(client, await add_user(client, "boss@example.com", name="Boss", role="admin"))
    try:
        inbox = await admin.socket()
        await inbox.send({"type": "open", "conversation_id": seeded.web_conversation_id})
        opened = await inbox.next_frame("conversation")
        assert opened["conversation"]["id"] == seeded.web_conversation_id
        await erase(client, seeded.lead_id)
        gone = await inbox.next_frame("conversation_removed")
        assert gone["conversation_id"] == seeded.web_conversation_id
        # Opening it again finds nothing.
        await inbox.send({"type": "open", "conversation_id": seeded.web_conversation_id})
        missing = await inbox.next_frame("error")
        assert missing["code"] == "not_found"
        await inbox.close()
    finally:
        await admin.close()


async def test_a_merge_stays_remembered_when_a_turn_saves_an_older_copy_of_the_lead(store: Store) -> None:
    """The person writes on two channels at once: a turn of one conversation read the lead before
    the other conversation's lead was merged into it, and saves it after. The merged lead's id
    must stay in `merged_ids`, or erasing the person would leave what was kept under that id."""
    conv = await store.create_conversation("web", FlowRef(id="default", version=1))
    lead = await store.get_lead(conv.lead_id)
    lead.slots["email"] = "ada@example.com"
    await store.save_lead(lead)
    older_copy = await store.get_lead(conv.lead_id)  # a turn of the web conversation begins

    sms = await store.create_conversation(
        "sms", FlowRef(id="default", version=1), contact="+14155550188", lead_slots={"phone": "+14155550188"}
    )
    texter = await store.get_lead(sms.lead_id)
    texter.slots["email"] = "ada@example.com"  # the same person: merged into the web lead
    merged = await store.save_lead(texter)
    assert merged.id == conv.lead_id and merged.merged_ids == [sms.lead_id]

    older_copy.slots["company"] = "Analytical Engines"
    await store.save_lead(older_copy, contacts_changed=False)  # the turn ends

    assert (await store.get_lead(conv.lead_id)).merged_ids == [sms.lead_id]
