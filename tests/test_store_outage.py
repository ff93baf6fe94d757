"""The store going away mid-run: webhooks answer 503 so providers retry, sockets get an `error`
frame, and nothing acknowledged is lost. The database is the wire stand-in in its own process,
frozen with SIGSTOP (it stops answering, as a partitioned server does) and thawed with SIGCONT."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.cluster import start_database
from tests.support.fake_twilio import ACCOUNT_SID, PUBLIC_URL, SMS_FROM, FakeTwilio, sign, twilio_env
from tests.support.visitor import Visitor


async def next_of(visitor: Visitor, *kinds: str) -> dict[str, Any]:
    while True:
        frame = await visitor.receive()
        if frame["type"] in kinds:
            return frame


@pytest.fixture
async def database() -> AsyncIterator[Any]:
    proc, uri = await start_database()
    proc.uri = uri  # type: ignore[attr-defined]
    yield proc
    proc.send_signal(signal.SIGCONT)
    proc.terminate()
    await proc.wait()


async def test_an_outage_refuses_clearly_and_loses_nothing(
    aiohttp_client: ClientFactory, aiohttp_server: Any, tmp_path: Path, database: Any
) -> None:
    fake = FakeTwilio()
    twilio = await aiohttp_server(fake.app())
    settings = make_settings(
        tmp_path / "data",
        MONGODB_URI=database.uri,
        LEADBOT_STORE_TIMEOUT_SECONDS="1",
        **twilio_env(str(twilio.make_url("")).rstrip("/")),
    )
    client = await aiohttp_client(create_app(settings))
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    params = {
        "MessageSid": "SM" + "ab" * 16,
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550177",
        "To": SMS_FROM,
        "Body": "We need a CRM",
        "NumMedia": "0",
    }
    path = "/channels/twilio/sms"
    signed = {"X-Twilio-Signature": sign(PUBLIC_URL + path, params)}

    database.send_signal(signal.SIGSTOP)
    try:
        await visitor.send("We need better lead routing", client_id="during-outage")
        refused = await visitor.next_frame("error")
        assert refused["code"] == "unavailable" and refused["id"] == "during-outage"
        webhook = await client.post(path, data=params, headers=signed)
        assert webhook.status == 503 and webhook.headers["Retry-After"] == "5"
        assert (await webhook.json())["error"] == "unavailable"
        assert (await client.get("/readyz")).status == 503
    finally:
        database.send_signal(signal.SIGCONT)

    # Back: the widget sends its message again with the same id; Twilio retries its webhook.
    # (The driver may need a moment to see the server again: the widget resends while refused.)
    for _ in range(20):
        await visitor.send("We need better lead routing", client_id="during-outage")
        answer = await next_of(visitor, "ack", "error")
        if answer["type"] == "ack":
            break
        assert answer["code"] == "unavailable"
    assert answer["type"] == "ack" and answer["id"] == "during-outage"
    reply = await visitor.next_frame("message", lambda f: f["from"] == "bot")
    assert "Which company are you with?" in reply["text"]
    for _ in range(20):  # Twilio retries until it gets a 200
        webhook = await client.post(path, data=params, headers=signed)
        if webhook.status == 200:
            break
        assert webhook.status == 503
    assert webhook.status == 200
    again = await client.post(path, data=params, headers=signed)  # a duplicate retry on top
    assert again.status == 200
    await settle(client.app)

    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    said = [m["text"] for m in conv["messages"] if m["from"] == "visitor"]
    assert said == ["We need better lead routing"]  # stored once
    sms = (await api_get(client, "/api/conversations?channel=sms"))["items"]
    assert len(sms) == 1
    messages = (await api_get(client, f"/api/conversations/{sms[0]['id']}"))["messages"]
    assert [m["text"] for m in messages if m["from"] == "visitor"] == ["We need a CRM"]
    await visitor.close()
