"""Flow versions, drafts, bindings, A/B records and the audit log on every store backend.

Runs on the `store` fixture (tests/conftest.py): embedded, the real motor driver against the
wire stand-in, and a real MongoDB when MONGODB_URI is set, so every query stays within
what they all support.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import Invalid
from bot.flow_versions import DraftInvalid, FlowVersions, live_of, open_versions
from bot.flowfile import flow_document
from bot.flows import Flow, load_flow
from bot.models import FlowRef
from bot.store import NotFound, Store

DEFAULT = load_flow(Path(__file__).resolve().parent.parent / "flows" / "default.yaml")


def _clock() -> datetime:
    return datetime.now(UTC)


async def _seeded(store: Store) -> FlowVersions:
    versions = await open_versions(store, clock=_clock)
    assert await versions.seed([DEFAULT]) == ["default"]
    return versions


def _renamed(flow: Flow, name: str) -> Flow:
    return flow.model_copy(update={"name": name})


async def test_seeding_is_once_per_flow(store: Store) -> None:
    versions = await _seeded(store)
    assert await versions.seed([_renamed(DEFAULT, "changed file")]) == []
    assert (await versions.live(DEFAULT.id)) == DEFAULT
    assert [doc["source"] for doc in await versions.versions("default")] == ["seed"]


async def test_concurrent_publishes_each_get_their_own_number(store: Store) -> None:
    versions = await _seeded(store)
    published = await asyncio.gather(
        *(
            versions.publish("default", _renamed(DEFAULT, f"n{i}"), actor="a", source="publish")
            for i in range(5)
        )
    )
    assert sorted(p.version for p in published) == [2, 3, 4, 5, 6]
    assert await versions.live_version("default") == 6
    assert [doc["version"] for doc in await versions.versions("default")] == [6, 5, 4, 3, 2, 1]


async def test_a_draft_publishes_once_and_then_is_gone(store: Store) -> None:
    versions = await _seeded(store)
    body = flow_document(_renamed(DEFAULT, "Draft name"))
    problems, changes = await versions.save_draft("default", body, actor="ada")
    assert problems == [] and changes == ['name "B2B qualification" → "Draft name"']
    published = await versions.publish_draft("default", actor="ada", note="rename")
    assert published.version == 2
    assert (await versions.record("default"))["draft"] is None
    assert (await versions.flow("default", 2)).name == "Draft name"
    with pytest.raises(Invalid):
        await versions.publish_draft("default", actor="ada")


async def test_an_invalid_draft_is_kept_and_refused(store: Store) -> None:
    versions = await _seeded(store)
    body = flow_document(DEFAULT)
    body["slots"][0]["type"] = "nonsense"
    problems, _ = await versions.save_draft("default", body, actor="ada")
    assert [p.path for p in problems] == ["slots.0.type"]
    assert (await versions.record("default"))["draft"] == body
    with pytest.raises(DraftInvalid) as refused:
        await versions.publish_draft("default", actor="ada")
    assert [p.path for p in refused.value.problems] == ["slots.0.type"]
    assert await versions.live_version("default") == 1


async def test_a_new_flow_is_unpublished_until_its_draft_publishes(store: Store) -> None:
    versions = await _seeded(store)
    body = {**flow_document(DEFAULT), "id": "partners"}
    await versions.save_draft("partners", body, actor="ada")
    assert live_of(await versions.record("partners")) is None
    assert await versions.live_version("partners") is None
    assert (await versions.publish_draft("partners", actor="ada")).version == 1
    assert await versions.live_version("partners") == 1


async def test_rollback_copies_an_old_version_forward(store: Store) -> None:
    versions = await _seeded(store)
    await versions.publish("default", _renamed(DEFAULT, "two"), actor="a", source="publish")
    rolled = await versions.rollback("default", 1, actor="a")
    assert rolled.version == 3 and rolled.changes == ['name "two" → "B2B qualification"']
    assert (await versions.flow("default", 3)).model_copy(update={"version": 1}) == DEFAULT
    with pytest.raises(NotFound):
        await versions.rollback("default", 7, actor="a")


async def test_a_channel_belongs_to_one_flow(store: Store) -> None:
    versions = await _seeded(store)
    partners = DEFAULT.model_copy(update={"id": "partners"})
    await versions.publish("partners", partners, actor="a", source="import")
    assert await versions.bind("default", ["sms", "web"], actor="a") == ["web", "sms"]
    assert await versions.bind("partners", ["sms"], actor="a") == ["sms"]
    assert await versions.bound_flow("sms") == "partners"
    assert await versions.bound_flow("web") == "default"
    assert await versions.bound_flow("email") is None
    assert (await versions.record("default"))["channels"] == ["web"]


async def test_the_audit_log_lists_changes_newest_first(store: Store) -> None:
    versions = await _seeded(store)
    await versions.publish("default", _renamed(DEFAULT, "two"), actor="ada", source="publish")
    entries = await versions.audit.entries(flow_id="default")
    assert [(e["action"], e["actor"], e["version"]) for e in entries] == [
        ("publish", "ada", 2),
        ("seed", "seed", 1),
    ]
    assert entries[0]["changes"] == ['name "B2B qualification" → "two"']
    assert await versions.audit.entries(flow_id="other") == []


async def test_variants_are_kept_on_the_conversation_and_first_on_the_lead(store: Store) -> None:
    ref = FlowRef(id="default", version=1)
    conv = await store.create_conversation("web", ref, "tok")
    lead = await store.get_lead(conv.lead_id)
    conv = await store.record_variants(conv, lead, {"greeting": "b"})
    assert conv.variants == {"greeting": "b"}
    lead = await store.get_lead(conv.lead_id)
    assert lead.variants == {"greeting": "b"}
    # A later assignment never replaces the person's first one.
    await store.record_variants(conv, lead, {"greeting": "a", "company": "a"})
    assert (await store.get_lead(conv.lead_id)).variants == {"greeting": "b", "company": "a"}
    other = await store.create_conversation("web", ref, "tok2")
    in_test = await store.conversations_in_experiment("default", "greeting")
    assert [c.id for c in in_test] == [conv.id]
    assert other.id not in {c.id for c in await store.conversations_in_experiment("default", "company")}
    leads = await store.leads_by_id([conv.lead_id, other.lead_id, "missing"])
    assert set(leads) == {conv.lead_id, other.lead_id}
