"""A lead qualifies by SMS: the bot asks, the lead texts back, the REST API carries every reply."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import api_get, settle
from tests.support.agents import make_agent
from tests.support.fake_twilio import ClientFactory, Rig, ServerFactory, start_rig
from tests.support.visitor import Visitor

LEAD = "+14155550100"


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    return await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")


async def the_conversation(rig: Rig, channel: str = "sms") -> dict[str, Any]:
    [conv] = (await api_get(rig.client, f"/api/conversations?channel={channel}"))["items"]
    return dict(await api_get(rig.client, f"/api/conversations/{conv['id']}"))


async def test_a_full_qualification_by_sms_ends_with_a_person(rig: Rig) -> None:
    [first] = await rig.text(LEAD, "Hi, we need to automate our lead follow-ups")
    assert first.startswith("Hi! I'm the leadbot assistant.")  # the greeting opens the first reply
    assert first.endswith("Which company are you with?")
    script = [
        ("Stark Industries", "How many people are on your team?"),
        ("about fifty", "What monthly budget do you have in mind?"),
        ("ten grand a month", "When would you like to get started?"),
        ("ASAP", "Are you the one who makes the buying decision?"),
        ("I'm the CTO, it's my call", "What's your name?"),
        ("my name is Tony Stark", "What's the best email to reach you?"),
    ]
    for answer, question in script:
        [reply] = await rig.text(LEAD, answer)
        assert question in reply, (answer, reply)
    [last] = await rig.text(LEAD, "tony@stark.com")
    # the phone is known from the number: never asked, and the lead is handed to a person
    assert "a person from our team will join" in last
    assert not any("phone" in body for body in rig.fake.bodies_to(LEAD))

    conv = await the_conversation(rig)
    assert (conv["mode"], conv["handoff_reason"]) == ("pending_human", "qualified")
    lead = conv["lead"]
    assert lead["phone"] == LEAD and lead["email"] == "tony@stark.com" and lead["name"] == "Tony Stark"
    assert lead["score"] == 100 and lead["status"] == "qualified"
    bot = [m for m in conv["messages"] if m["from"] == "bot"]
    assert len(bot) == len(rig.fake.to(LEAD)) == 8  # every reply went out, once
    assert {m["delivery"] for m in bot} == {"queued"}


async def test_the_same_phone_on_the_widget_and_by_sms_is_one_lead(rig: Rig) -> None:
    visitor = await Visitor.connect(rig.client)
    await visitor.greeting()
    await visitor.say("We need a CRM, call me on (415) 555-0100")
    await settle(rig.app)
    await rig.text(LEAD, "Hi, it's me again from the website")

    web = (await api_get(rig.client, "/api/conversations?channel=web"))["items"][0]
    sms = await the_conversation(rig)
    assert sms["lead_id"] == web["lead_id"]
    assert set(sms["lead"]["conversation_ids"]) == {web["id"], sms["id"]}
    assert sms["lead"]["need"]  # what the visitor told the widget is on the lead the SMS joined


async def test_stop_silences_everyone_and_start_opts_back_in(rig: Rig) -> None:
    await rig.text(LEAD, "Hi there")
    [confirmation] = await rig.text(LEAD, "STOP")
    assert "unsubscribed" in confirmation
    conv = await the_conversation(rig)
    assert conv["lead"]["status"] == "opted_out" and conv["opted_out"]

    assert await rig.text(LEAD, "hello?") == []  # the bot stays silent
    _, agent = await make_agent(rig.app, "dana@example.com", name="Dana")
    claimed = await rig.client.post(f"/api/conversations/{conv['id']}/claim", headers=agent)
    assert claimed.status == 200
    refused = await rig.client.post(
        f"/api/conversations/{conv['id']}/reply", json={"text": "Hi!"}, headers=agent
    )
    assert refused.status == 409 and "opted out" in (await refused.json())["message"]
    await settle(rig.app)
    conv = await the_conversation(rig)
    joined = next(m for m in conv["messages"] if m["from"] == "system")  # "Dana joined …"
    assert (joined["delivery"], joined["delivery_error"]) == ("failed", "the lead opted out")
    assert len(rig.fake.to(LEAD)) == 2  # the first reply and the confirmation; nothing since

    [welcome] = await rig.text(LEAD, "START")
    assert welcome.startswith("Welcome back")
    assert (await the_conversation(rig))["lead"]["status"] == "engaged"
    sent = await rig.client.post(
        f"/api/conversations/{conv['id']}/reply", json={"text": "Hi!"}, headers=agent
    )
    assert sent.status == 201
    await settle(rig.app)
    assert rig.fake.bodies_to(LEAD)[-1] == "Hi!"


async def test_help_gets_the_flows_help_text(rig: Rig) -> None:
    await rig.text(LEAD, "Hi there")
    [help_reply] = await rig.text(LEAD, "HELP")
    assert "I'm an automated assistant." in help_reply and "STOP to opt out" in help_reply


@pytest.mark.parametrize(
    ("status", "code", "reason", "expected"),
    [
        (
            400,
            21610,
            "Attempt to send to unsubscribed recipient",
            "Twilio refused the message: Attempt to send to unsubscribed recipient (error 21610, HTTP 400)",
        ),
        (500, 20500, "Internal Server Error", "(error 20500, HTTP 500)"),
        (503, 503, "Service Unavailable", "Twilio refused the message: Service Unavailable (HTTP 503)"),
    ],
)
async def test_a_reply_twilio_refuses_is_recorded_as_failed_with_its_reason(
    rig: Rig, status: int, code: int, reason: str, expected: str
) -> None:
    rig.fake.fail_with(status, code, reason)
    await rig.text(LEAD, "Hi there")
    reply = next(m for m in (await the_conversation(rig))["messages"] if m["from"] == "bot")
    assert reply["delivery"] == "failed" and expected in reply["delivery_error"]
    assert "\x1b" not in reply["delivery_error"]  # not the SDK's coloured terminal report
    rig.fake.succeed()
    await rig.text(LEAD, "Stark Industries")  # the next one goes out again
    assert len(rig.fake.to(LEAD)) == 1


async def test_a_reply_that_cannot_reach_twilio_is_recorded_as_failed(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    with socket.socket() as placeholder:  # a port on 127.0.0.1 that nothing listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    rig = await start_rig(
        aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_TWILIO_API_URL=f"http://127.0.0.1:{port}"
    )
    await rig.text(LEAD, "Hi there")
    reply = next(m for m in (await the_conversation(rig))["messages"] if m["from"] == "bot")
    assert reply["delivery"] == "failed" and reply["delivery_error"].startswith("could not reach Twilio")


async def test_a_messaging_service_sends_when_no_number_is_configured(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    service = "MG" + "0123456789abcdef" * 2
    rig = await start_rig(
        aiohttp_server,
        aiohttp_client,
        tmp_path / "data",
        LEADBOT_TWILIO_SMS_FROM="",
        LEADBOT_TWILIO_MESSAGING_SERVICE_SID=service,
    )
    await rig.text(LEAD, "Hi there")
    [sent] = rig.fake.sent
    assert (sent.messaging_service_sid, sent.from_) == (service, None)


async def test_stop_by_sms_keeps_whatsapp_silent_too_until_start(rig: Rig) -> None:
    await rig.text(LEAD, "Hi there")
    await rig.text(LEAD, "STOP")
    whatsapp = f"whatsapp:{LEAD}"
    await rig.twilio.whatsapp(LEAD, "hello from WhatsApp")
    await settle(rig.app)
    assert rig.fake.to(whatsapp) == []  # opted out anywhere: nothing on any channel
    lead = (await the_conversation(rig, "whatsapp"))["lead"]
    assert lead["status"] == "opted_out"

    await rig.twilio.whatsapp(LEAD, "START")
    await settle(rig.app)
    [welcome] = rig.fake.bodies_to(whatsapp)
    assert welcome.startswith("Welcome back")
    assert (await the_conversation(rig, "whatsapp"))["lead"]["status"] == "engaged"
