"""Outside business hours the visitor learns when the team is back, and the bot gets a contact first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings
from tests.support.visitor import Visitor

ROOT = Path(__file__).resolve().parent.parent
WEEKDAYS = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
SATURDAY_NOON_BERLIN = datetime(2025, 3, 8, 11, 0, tzinfo=UTC)
MONDAY_TEN_BERLIN = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


async def _client(aiohttp_client: ClientFactory, tmp_path: Path, now: datetime) -> TestClient[Any, Any]:
    flow = yaml.safe_load((ROOT / "flows" / "default.yaml").read_text())
    flow["business_hours"] = {"timezone": "Europe/Berlin", "week": WEEKDAYS}
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "default.yaml").write_text(yaml.safe_dump(flow))
    settings = make_settings(tmp_path / "data", LEADBOT_FLOWS_DIR=str(flows))
    return await aiohttp_client(create_app(settings, clock=lambda: now))


async def test_after_hours_the_bot_asks_for_a_contact_then_hands_off(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, SATURDAY_NOON_BERLIN)
    v = await Visitor.connect(client)
    await v.greeting()
    asked = await v.say("I want to talk to a human")
    assert "they're back Monday at 09:00 (Europe/Berlin)" in asked["text"]
    assert "So they can get back to you" in asked["text"] and asked["expects"]["slot"] == "email"
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "bot"  # the bot keeps it until it has a way to reach the visitor

    again = await v.say("jane@")  # an invalid contact is asked for again
    assert again["expects"]["slot"] == "email"
    queued = await v.say("jane@acme.io")
    assert "back Monday at 09:00" in queued["text"] and "reply here as soon as they're back" in queued["text"]
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "pending_human" and conv["handoff_reason"] == "requested"
    assert conv["lead"]["email"] == "jane@acme.io"


async def test_during_business_hours_the_handoff_is_immediate(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, MONDAY_TEN_BERLIN)
    v = await Visitor.connect(client)
    await v.greeting()
    reply = await v.say("I want to talk to a human")
    assert "away" not in reply["text"] and reply["expects"] is None
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "pending_human"
