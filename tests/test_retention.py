"""Retention (LEADBOT_RETENTION_DAYS): a daily job removes conversations idle for longer than N
days, with everything they hold, and leads left with no conversation. Time is a ManualClock."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.clock import ManualClock
from bot.privacy.retention import KIND
from tests.conftest import AUTH, ClientFactory, api_get, make_settings, settle
from tests.support.visitor import Visitor

DAY = 24 * 3600


@pytest.fixture
def clock() -> ManualClock:
    # The store stamps `updated_at` with the real time: the manual clock starts there too.
    return ManualClock(datetime.now(UTC))


async def retention_client(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock, **env: str
) -> TestClient[Any, Any]:
    settings = make_settings(tmp_path / "data", **env)
    client = await aiohttp_client(create_app(settings, clock=clock.now, timers=clock))
    await client.app[keys.JOBS].idle()  # the run at start
    return client


async def chat(client: TestClient[Any, Any], email: str) -> tuple[str, str]:
    """A widget conversation in which the visitor gave their email: (conversation id, lead id)."""
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say(f"you can reach me at {email}")
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    assert conv["lead"]["email"] == email, conv["lead"]
    await visitor.close()
    return visitor.conversation_id, conv["lead_id"]


async def age(client: TestClient[Any, Any], conversation_id: str, lead_id: str | None, days: int) -> None:
    """As if nothing had happened in the conversation (and to the lead) for `days` days."""
    store = client.app[keys.STORE]
    then = client.app[keys.CLOCK]() - timedelta(days=days)
    await store.conversations.update_one({"_id": conversation_id}, {"$set": {"updated_at": then}})
    if lead_id is not None:
        await store.leads.update_one({"_id": lead_id}, {"$set": {"updated_at": then}})


async def purges(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    entries = (await api_get(client, "/api/audit?kind=privacy"))["items"]
    return [e for e in entries if e["action"] == "retention.purged"]


async def test_old_conversations_and_lone_leads_go_recent_ones_stay(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock
) -> None:
    client = await retention_client(aiohttp_client, tmp_path, clock, LEADBOT_RETENTION_DAYS="30")
    app, store = client.app, client.app[keys.STORE]
    [at_start] = await purges(client)
    assert at_start["removed"] == {} and at_start["days"] == 30

    old_conv, old_lead = await chat(client, "old.lead@example.com")
    saved = await app[keys.ATTACHMENTS].save(
        old_conv, filename="plan.txt", content_type="text/plain", data=b"an old plan"
    )
    await store.collection("touchpoints").insert_one(
        {"_id": secrets.token_hex(12), "lead_id": old_lead, "conversation_id": old_conv, "at": clock.now()}
    )
    mixed_old, mixed_lead = await chat(client, "mixed.lead@example.com")
    convs = app[keys.CONVERSATIONS]
    sms, _, _ = await convs.receive_from_contact(
        "sms",
        "+14155550188",
        text="still here, mixed.lead@example.com",
        provider_id="SM" + secrets.token_hex(16),
        lead_slots={"phone": "+14155550188", "email": "mixed.lead@example.com"},
    )
    await settle(app)
    assert sms.id in (await api_get(client, f"/api/leads/{mixed_lead}"))["conversation_ids"]
    recent_conv, recent_lead = await chat(client, "recent.lead@example.com")

    await age(client, old_conv, old_lead, days=31)
    await age(client, mixed_old, mixed_lead, days=31)  # its SMS conversation is new, though
    clock.advance(DAY)  # the next daily run
    await app[keys.JOBS].idle()

    await api_get(client, f"/api/conversations/{old_conv}", status=404)
    await api_get(client, f"/api/leads/{old_lead}", status=404)  # no conversation left
    assert await app[keys.ATTACHMENTS].get(saved.id) is None
    assert await store.messages.count_documents({"conversation_id": {"$in": [old_conv, mixed_old]}}) == 0
    assert await store.collection("touchpoints").count_documents({"lead_id": old_lead}) == 0
    await api_get(client, f"/api/conversations/{mixed_old}", status=404)
    mixed = await api_get(client, f"/api/leads/{mixed_lead}")
    assert mixed["conversation_ids"] == [sms.id]  # the lead stays with the conversation it has
    await api_get(client, f"/api/conversations/{sms.id}")
    await api_get(client, f"/api/conversations/{recent_conv}")
    await api_get(client, f"/api/leads/{recent_lead}")

    latest = (await purges(client))[0]
    assert latest["removed"]["conversations"] == 2
    assert latest["removed"]["leads"] == 1
    assert latest["removed"]["attachments"] == 1
    assert latest["actor"] == "retention"
    text = str(latest)
    assert not any(i in text for i in (old_conv, old_lead, mixed_old, "old.lead@example.com"))

    # It runs again tomorrow, once.
    [tomorrow] = await app[keys.JOBS].pending(kind=KIND)
    assert abs(tomorrow.run_at - (clock.now() + timedelta(days=1))) < timedelta(seconds=1)  # stored in ms


async def test_without_a_retention_period_everything_is_kept(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock
) -> None:
    client = await retention_client(aiohttp_client, tmp_path, clock)
    conv, lead = await chat(client, "kept@example.com")
    await age(client, conv, lead, days=3650)
    clock.advance(2 * DAY)
    await client.app[keys.JOBS].idle()
    await api_get(client, f"/api/conversations/{conv}")
    assert await client.app[keys.JOBS].pending(kind=KIND) == []
    assert await purges(client) == []


def test_the_retention_setting_is_checked() -> None:
    from bot.settings import Settings, SettingsError

    assert Settings.from_env({}).retention_days is None
    assert Settings.from_env({"LEADBOT_RETENTION_DAYS": "90"}).retention_days == 90
    for bad in ("0", "-3", "soon"):
        with pytest.raises(SettingsError, match="LEADBOT_RETENTION_DAYS"):
            Settings.from_env({"LEADBOT_RETENTION_DAYS": bad})


async def test_a_conversation_active_again_by_the_time_its_locks_are_held_is_kept(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: ManualClock
) -> None:
    """The purge chooses idle conversations, then waits for their turn locks (a turn may be
    running); one whose visitor came back meanwhile is checked again under the locks and kept."""
    client = await retention_client(aiohttp_client, tmp_path, clock, LEADBOT_RETENTION_DAYS="30")
    idle, idle_lead = await chat(client, "idle@example.com")
    back, back_lead = await chat(client, "back@example.com")
    await age(client, idle, idle_lead, 40)
    cutoff = client.app[keys.CLOCK]() - timedelta(days=30)
    # `back` was chosen while idle, but its visitor wrote again before the locks were held.
    removed, counts = await client.app[keys.PRIVACY].erasure.remove_idle_conversations(
        [idle, back], idle_before=cutoff
    )
    assert removed == [idle] and counts.as_dict()["conversations"] == 1
    assert (await api_get(client, f"/api/conversations/{back}"))["lead_id"] == back_lead
    assert (await client.get(f"/api/conversations/{idle}", headers=AUTH)).status == 404
