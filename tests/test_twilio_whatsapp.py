"""WhatsApp's 24-hour window: free text inside it, the flow's approved template outside it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.assets import flows_dir
from bot.flowbook import FlowBook
from bot.flows import parse_flow
from tests.conftest import api_get, settle
from tests.support.agents import make_agent
from tests.support.fake_twilio import WHATSAPP_FROM, ClientFactory, Rig, ServerFactory, start_rig

LEAD = "+14155550100"
ADDRESS = f"whatsapp:{LEAD}"
TEMPLATE_SID = "HX" + "b0a7" * 8


class MovableClock:
    """The app's clock: now, plus however far the test has moved it."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def flows_with(whatsapp: dict[str, Any] | None) -> FlowBook:
    data = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    if whatsapp is not None:
        data["whatsapp"] = whatsapp
    flow = parse_flow(data)
    return FlowBook({flow.id: flow}, flow.id)


async def whatsapp_rig(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    clock: MovableClock,
    whatsapp: dict[str, Any] | None,
) -> Rig:
    flows = flows_with(whatsapp)
    return await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", clock=clock, flows=flows)


async def the_conversation(rig: Rig) -> dict[str, Any]:
    [conv] = (await api_get(rig.client, "/api/conversations?channel=whatsapp"))["items"]
    return dict(await api_get(rig.client, f"/api/conversations/{conv['id']}"))


async def agent_takes_over(rig: Rig, conv_id: str) -> dict[str, str]:
    _, agent = await make_agent(rig.app, "dana@example.com", name="Dana")
    assert (await rig.client.post(f"/api/conversations/{conv_id}/claim", headers=agent)).status == 200
    return agent


async def agent_says(rig: Rig, conv_id: str, agent: dict[str, str], text: str) -> dict[str, Any]:
    response = await rig.client.post(
        f"/api/conversations/{conv_id}/reply", json={"text": text}, headers=agent
    )
    assert response.status == 201, await response.text()
    await settle(rig.app)
    conv = await api_get(rig.client, f"/api/conversations/{conv_id}")
    return dict(conv["messages"][-1])


async def test_a_conversation_crossing_the_window_switches_from_text_to_the_template(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = MovableClock()
    template = {"template_sid": TEMPLATE_SID, "variables": {"1": "{name|there}", "2": "{company|your team}"}}
    rig = await whatsapp_rig(aiohttp_server, aiohttp_client, tmp_path, clock, template)
    await rig.twilio.whatsapp(LEAD, "Hi, I'm Jane. We need a better CRM", ProfileName="Jane D")
    await settle(rig.app)

    # Inside the window: free text, from our WhatsApp sender to the lead's WhatsApp address.
    [greeting] = rig.fake.sent
    assert (greeting.to, greeting.from_) == (ADDRESS, WHATSAPP_FROM)
    assert greeting.body and greeting.body.startswith("Hi! I'm the leadbot assistant.")
    assert greeting.content_sid is None
    conv = await the_conversation(rig)
    assert conv["lead"]["phone"] == LEAD and conv["lead"]["name"] == "Jane"
    window = conv["whatsapp_window"]
    wrote_at = datetime.fromisoformat(conv["messages"][0]["created_at"])
    assert window["open"] is True
    assert abs(datetime.fromisoformat(window["closes_at"]) - (wrote_at + timedelta(hours=24))) < timedelta(
        seconds=1
    )

    agent = await agent_takes_over(rig, conv["id"])
    clock.ahead = timedelta(hours=23, minutes=59)
    inside = await agent_says(rig, conv["id"], agent, "Hi Jane, Dana here. Got a minute?")
    assert rig.fake.sent[-1].body == "Hi Jane, Dana here. Got a minute?" and inside["delivery"] == "queued"

    # Outside the window: the approved template, with the lead's slots in its variables.
    clock.ahead = timedelta(hours=25)
    outside = await agent_says(rig, conv["id"], agent, "Following up on your CRM question")
    template_sent = rig.fake.sent[-1]
    assert (template_sent.to, template_sent.content_sid, template_sent.body) == (ADDRESS, TEMPLATE_SID, None)
    assert json.loads(template_sent.content_variables or "") == {"1": "Jane", "2": "your team"}
    assert outside["delivery"] == "queued" and outside["delivery_error"] is None

    # A bot follow-up outside the window goes as the template too; a mere notice does not go.
    count = len(rig.fake.sent)
    assert (await rig.client.post(f"/api/conversations/{conv['id']}/release", headers=agent)).status == 200
    await settle(rig.app)
    assert len(rig.fake.sent) == count + 1 and rig.fake.sent[-1].content_sid == TEMPLATE_SID
    messages = (await the_conversation(rig))["messages"]
    assert messages[-1]["from"] == "bot" and messages[-1]["delivery"] == "queued"

    _, other = await make_agent(rig.app, "fox@example.com", name="Fox")
    assert (await rig.client.post(f"/api/conversations/{conv['id']}/claim", headers=other)).status == 200
    await settle(rig.app)
    joined = (await the_conversation(rig))["messages"][-1]
    assert joined["from"] == "system" and joined["delivery"] is None  # stored, shown, not sent
    assert len(rig.fake.sent) == count + 1


async def test_without_a_template_a_reply_outside_the_window_fails_with_a_clear_error(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = MovableClock()
    rig = await whatsapp_rig(aiohttp_server, aiohttp_client, tmp_path, clock, whatsapp=None)
    await rig.twilio.whatsapp(LEAD, "Hi, we need a CRM")
    await settle(rig.app)
    conv = await the_conversation(rig)
    agent = await agent_takes_over(rig, conv["id"])

    clock.ahead = timedelta(days=2)
    reply = await agent_says(rig, conv["id"], agent, "Are you still there?")
    assert reply["delivery"] == "failed"
    assert "WhatsApp's 24-hour window is closed since" in reply["delivery_error"]
    assert "flow 'default' has no template" in reply["delivery_error"]
    assert len(rig.fake.sent) == 2  # the greeting and Dana's notice, both inside the window


async def test_a_template_variable_the_lead_has_not_given_fails_with_a_clear_error(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = MovableClock()
    template = {"template_sid": TEMPLATE_SID, "variables": {"1": "{company}"}}
    rig = await whatsapp_rig(aiohttp_server, aiohttp_client, tmp_path, clock, template)
    await rig.twilio.whatsapp(LEAD, "hello")
    await settle(rig.app)
    conv = await the_conversation(rig)
    agent = await agent_takes_over(rig, conv["id"])

    clock.ahead = timedelta(hours=30)
    reply = await agent_says(rig, conv["id"], agent, "Still interested?")
    assert reply["delivery"] == "failed"
    assert "the template needs the lead's company, which is unknown" in reply["delivery_error"]
    assert "{company|there}" in reply["delivery_error"]


async def test_the_inbox_shows_whether_the_window_is_open(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    from tests.support.inbox import Agent, add_user

    clock = MovableClock()
    # Plain http, no public https URL: the inbox's session cookie is not marked Secure here.
    rig = await start_rig(
        aiohttp_server,
        aiohttp_client,
        tmp_path / "data",
        clock=clock,
        flows=flows_with(None),
        LEADBOT_PUBLIC_URL="",
    )
    await rig.twilio.whatsapp(LEAD, "Hi, we need a CRM")
    await settle(rig.app)
    conv_id = (await the_conversation(rig))["id"]
    user = await add_user(rig.client, "dana@example.com", name="Dana")
    agent = await Agent.sign_in(rig.client, user)
    inbox = await agent.socket()
    await inbox.send({"type": "open", "conversation_id": conv_id})
    package = (await inbox.next_frame("conversation"))["conversation"]
    assert package["contact"] == LEAD and package["whatsapp_window"]["open"] is True
    await agent.close()

    clock.ahead = timedelta(hours=25)  # the window has closed (and the idle session ended: sign in again)
    agent = await Agent.sign_in(rig.client, user)
    inbox = await agent.socket()
    await inbox.send({"type": "open", "conversation_id": conv_id})
    package = (await inbox.next_frame("conversation"))["conversation"]
    assert package["whatsapp_window"]["open"] is False
    await agent.close()
