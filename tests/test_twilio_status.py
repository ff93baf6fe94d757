"""Status callbacks: shuffled and duplicated, they still leave every message at its true status."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from bot import keys
from bot.bus import EVERYTHING, DeliveryChanged, Event
from bot.models import DELIVERY_RANK
from tests.conftest import api_get, settle
from tests.support.fake_twilio import ClientFactory, Rig, ServerFactory, start_rig
from tests.support.inbox import Agent, add_user

LEADS = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"]
STATUS_PATH = "/channels/twilio/status"


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    return await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")


async def test_shuffled_and_duplicated_callbacks_end_at_each_messages_true_status(rig: Rig) -> None:
    for number in LEADS:
        await rig.twilio.sms(number, "Hi there")
    await settle(rig.app)
    sids = [next(m.sid for m in rig.fake.sent if m.to == number) for number in LEADS]
    journeys = {
        sids[0]: [("queued", None), ("sent", None), ("delivered", None), ("read", None)],
        sids[1]: [("queued", None), ("sending", None), ("sent", None), ("undelivered", "30005")],
        sids[2]: [("accepted", None), ("queued", None), ("failed", "30007")],
        sids[3]: [("sent", None), ("delivered", None)],
    }
    final = {"read", "undelivered", "failed", "delivered"}
    callbacks = [
        (sid, status, code) for sid, steps in journeys.items() for status, code in steps for _ in range(3)
    ]
    random.Random(7).shuffle(callbacks)
    events: list[DeliveryChanged] = []

    def listen(event: Event) -> None:
        if isinstance(event, DeliveryChanged):
            events.append(event)

    subscription = rig.app[keys.BUS].subscribe(EVERYTHING, listen)
    responses = await asyncio.gather(
        *(rig.twilio.status(sid, status, error_code=code) for sid, status, code in callbacks)
    )
    subscription.close()
    assert {r.status for r in responses} == {204}

    convs = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    by_number = {}
    for conv in convs:
        full = await api_get(rig.client, f"/api/conversations/{conv['id']}")
        [reply] = [m for m in full["messages"] if m["from"] == "bot"]
        by_number[full["lead"]["phone"]] = reply
    statuses = {
        number: (by_number[number]["delivery"], by_number[number]["delivery_error"]) for number in LEADS
    }
    assert statuses[LEADS[0]] == ("read", None)
    assert statuses[LEADS[1]][0] == "undelivered" and "Twilio error 30005" in statuses[LEADS[1]][1]
    assert statuses[LEADS[2]][0] == "failed" and "Twilio error 30007" in statuses[LEADS[2]][1]
    assert statuses[LEADS[3]] == ("delivered", None)
    assert final == {status for status, _ in statuses.values()}

    # The inbox hears of every change, never of one backwards, and last of the final status.
    seen: dict[str, list[int]] = {}
    for event in events:
        seen.setdefault(event.message.provider_id or "", []).append(
            DELIVERY_RANK[event.message.delivery or ""]
        )
    assert all(ranks == sorted(set(ranks)) for ranks in seen.values()), seen
    last = {sid: [e for e in events if e.message.provider_id == sid][-1].message.delivery for sid in sids}
    assert last == {sids[0]: "read", sids[1]: "undelivered", sids[2]: "failed", sids[3]: "delivered"}


async def test_a_late_sent_never_undoes_delivered(rig: Rig) -> None:
    await rig.twilio.sms(LEADS[0], "Hi there")
    await settle(rig.app)
    [sent] = rig.fake.sent
    for status in ("delivered", "sent", "queued", "delivered"):
        assert (await rig.twilio.status(sent.sid, status)).status == 204
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    messages = (await api_get(rig.client, f"/api/conversations/{conv['id']}"))["messages"]
    assert messages[-1]["delivery"] == "delivered"


async def test_callbacks_must_be_signed_and_well_formed(rig: Rig) -> None:
    await rig.twilio.sms(LEADS[0], "Hi there")
    await settle(rig.app)
    [sent] = rig.fake.sent
    params = {"MessageSid": sent.sid, "MessageStatus": "delivered"}
    unsigned = await rig.twilio.post(STATUS_PATH, params, signature="")
    assert unsigned.status == 403
    wrong_url = await rig.twilio.post(STATUS_PATH, params, signed_url="https://leadbot.example.com/elsewhere")
    assert wrong_url.status == 403
    unknown = await rig.twilio.status(sent.sid, "teleported")
    assert unknown.status == 400
    assert "MessageStatus 'teleported' is not one of" in (await unknown.json())["message"]
    missing = await rig.twilio.post(STATUS_PATH, {"MessageStatus": "sent"})
    assert missing.status == 400 and (await missing.json())["message"] == "MessageSid is missing"
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    messages = (await api_get(rig.client, f"/api/conversations/{conv['id']}"))["messages"]
    assert messages[-1]["delivery"] == "queued"  # none of these moved it


async def test_a_callback_for_a_message_we_never_sent_is_acknowledged_and_changes_nothing(rig: Rig) -> None:
    response = await rig.twilio.status("SM" + "f" * 32, "delivered")
    assert response.status == 204


async def test_the_inbox_shows_a_delivery_change_on_the_open_conversation(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    # Signed in over plain http, as tests are: no https public URL (its cookies would be secure).
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_PUBLIC_URL="")
    await rig.twilio.sms(LEADS[0], "Hi there")
    await settle(rig.app)
    [sent] = rig.fake.sent
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    user = await add_user(rig.client, "dana@example.com", name="Dana", role="admin")
    agent = await Agent.sign_in(rig.client, user)
    try:
        inbox = await agent.socket()
        await inbox.send({"type": "open", "conversation_id": conv["id"]})
        reply = await inbox.next_frame("message", lambda f: f["from"] == "bot")
        assert reply["delivery"] == "queued"

        await rig.twilio.status(sent.sid, "delivered")
        frame = await inbox.next_frame("delivery")
        assert frame == {
            "type": "delivery",
            "conversation_id": conv["id"],
            "seq": reply["seq"],
            "delivery": "delivered",
            "delivery_error": None,
        }
        await inbox.close()
    finally:
        await agent.close()
