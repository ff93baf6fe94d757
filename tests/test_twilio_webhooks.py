"""Inbound SMS and WhatsApp webhooks: only requests Twilio signed for our URL get in, and fast."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import keys
from bot.app import create_app
from tests.conftest import api_get, make_settings, settle
from tests.support.fake_twilio import (
    EMPTY_TWIML,
    PUBLIC_URL,
    SMS_FROM,
    ClientFactory,
    Rig,
    ServerFactory,
    sign,
    start_rig,
)

LEAD = "+14155550100"
SMS_PATH = "/channels/twilio/sms"


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    return await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")


async def sms_conversations(rig: Rig) -> list[dict[str, Any]]:
    return list((await api_get(rig.client, "/api/conversations?channel=sms"))["items"])


async def assert_nothing_stored(rig: Rig) -> None:
    await settle(rig.app)
    assert await sms_conversations(rig) == []
    assert rig.fake.requests == 0


async def test_a_signed_message_is_stored_and_answered_through_the_rest_api(rig: Rig) -> None:
    response = await rig.twilio.sms(LEAD, "Hi, we need a better way to follow up on leads")
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    await settle(rig.app)

    [conv] = await sms_conversations(rig)
    full = await api_get(rig.client, f"/api/conversations/{conv['id']}")
    visitor, bot = full["messages"]
    assert visitor["text"] == "Hi, we need a better way to follow up on leads"
    assert full["lead"]["phone"] == LEAD  # known from the number: the bot will not ask for it
    [sent] = rig.fake.sent
    assert (sent.to, sent.from_, sent.body) == (LEAD, SMS_FROM, bot["text"])
    assert sent.status_callback == f"{PUBLIC_URL}/channels/twilio/status"
    assert bot["delivery"] == "queued" and bot["delivery_error"] is None
    assert "whatsapp_window" not in full  # SMS has no window


async def test_a_tampered_body_is_refused_and_nothing_is_stored(rig: Rig) -> None:
    params = rig.twilio.inbound(LEAD, "I'd like a demo")
    signature = sign(PUBLIC_URL + SMS_PATH, params)
    tampered = {**params, "Body": "I'd like a refund"}
    response = await rig.twilio.post(SMS_PATH, tampered, signature=signature)
    assert response.status == 403
    body = await response.json()
    assert body["error"] == "bad_signature" and "does not match" in body["message"]
    await assert_nothing_stored(rig)


async def test_a_missing_signature_is_refused(rig: Rig) -> None:
    response = await rig.twilio.post(SMS_PATH, rig.twilio.inbound(LEAD, "hello"), signature="")
    assert response.status == 403
    assert "X-Twilio-Signature is missing" in (await response.json())["message"]
    await assert_nothing_stored(rig)


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example.com/channels/twilio/sms",  # another host
        f"{PUBLIC_URL}/channels/twilio/whatsapp",  # another of our webhooks
        f"{PUBLIC_URL}/channels/twilio/sms?retry=1",  # another query
        f"http://{PUBLIC_URL.removeprefix('https://')}/channels/twilio/sms",  # another scheme
    ],
)
async def test_a_signature_for_another_url_is_refused(rig: Rig, url: str) -> None:
    response = await rig.twilio.post(SMS_PATH, rig.twilio.inbound(LEAD, "hello"), signed_url=url)
    assert response.status == 403
    await assert_nothing_stored(rig)


async def test_a_signature_with_another_auth_token_is_refused(rig: Rig) -> None:
    params = rig.twilio.inbound(LEAD, "hello")
    forged = sign(PUBLIC_URL + SMS_PATH, params, token="someone-elses-token")
    assert (await rig.twilio.post(SMS_PATH, params, signature=forged)).status == 403
    await assert_nothing_stored(rig)


async def test_the_query_string_is_part_of_what_is_signed(rig: Rig) -> None:
    # A webhook URL configured with a query (e.g. to tell numbers apart) is signed with it.
    path = SMS_PATH + "?number=main&campaign=spring"
    response = await rig.twilio.post(path, rig.twilio.inbound(LEAD, "hello"))
    assert response.status == 200, await response.text()


# -- behind a proxy (no LEADBOT_PUBLIC_URL: the URL is rebuilt from the request) ------------

PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.org"}


async def proxied_rig(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path, trusted: str
) -> Rig:
    return await start_rig(
        aiohttp_server,
        aiohttp_client,
        tmp_path / "data",
        LEADBOT_PUBLIC_URL="",
        LEADBOT_TRUSTED_PROXIES=trusted,
    )


async def test_forwarded_headers_from_a_trusted_proxy_give_the_signed_url(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig = await proxied_rig(aiohttp_server, aiohttp_client, tmp_path, trusted="10.0.0.0/8, 127.0.0.1")
    params = rig.twilio.inbound(LEAD, "hello from behind the proxy")
    response = await rig.twilio.post(
        SMS_PATH, params, signed_url=f"https://chat.example.org{SMS_PATH}", headers=PROXIED
    )
    assert response.status == 200, await response.text()
    await settle(rig.app)
    assert len(await sms_conversations(rig)) == 1
    # Without a public URL there is nowhere to send status callbacks: none is asked for.
    [sent] = rig.fake.sent
    assert sent.status_callback is None


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig = await proxied_rig(aiohttp_server, aiohttp_client, tmp_path, trusted="10.0.0.0/8")
    params = rig.twilio.inbound(LEAD, "hello")
    # Signed for the forwarded URL, from a peer that may not forward: refused …
    response = await rig.twilio.post(
        SMS_PATH, params, signed_url=f"https://chat.example.org{SMS_PATH}", headers=PROXIED
    )
    assert response.status == 403
    assert f"http://{rig.client.host}:{rig.client.port}{SMS_PATH}" in (await response.json())["message"]
    await assert_nothing_stored(rig)
    # … while the URL the request really reached is what counts, whatever the headers claim.
    direct = str(rig.client.make_url(SMS_PATH))
    response = await rig.twilio.post(SMS_PATH, params, signed_url=direct, headers=PROXIED)
    assert response.status == 200, await response.text()


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "sender", "message"),
    [
        (SMS_PATH, "hello", "From 'hello' is not a phone number"),
        (SMS_PATH, "+1415", "From '+1415' is not a phone number"),
        (SMS_PATH, "whatsapp:+14155550100", "is not a phone number"),  # WhatsApp pointed at SMS
        ("/channels/twilio/whatsapp", "+14155550100", "is not a WhatsApp address"),
    ],
)
async def test_a_bad_sender_is_a_clear_400(rig: Rig, path: str, sender: str, message: str) -> None:
    response = await rig.twilio.post(path, rig.twilio.inbound(sender, "hello"))
    assert response.status == 400
    assert message in (await response.json())["message"]
    await settle(rig.app)
    assert (await api_get(rig.client, "/api/conversations"))["items"] == []


async def test_missing_fields_and_bad_media_counts_are_clear_400s(rig: Rig) -> None:
    no_sid = {k: v for k, v in rig.twilio.inbound(LEAD, "hi").items() if "MessageSid" not in k}
    response = await rig.twilio.post(SMS_PATH, no_sid)
    assert response.status == 400 and (await response.json())["message"] == "MessageSid is missing"
    for count in ("many", "11"):
        response = await rig.twilio.post(SMS_PATH, rig.twilio.inbound(LEAD, "hi", NumMedia=count))
        assert response.status == 400
        assert "NumMedia must be a whole number" in (await response.json())["message"]
    response = await rig.twilio.post(SMS_PATH, rig.twilio.inbound(LEAD, "hi", NumMedia="1"))
    assert response.status == 400 and (await response.json())["message"] == "MediaUrl0 is missing"
    await assert_nothing_stored(rig)


async def test_a_body_that_is_not_a_form_is_415(rig: Rig) -> None:
    response = await rig.client.post(SMS_PATH, json={"From": LEAD}, headers={"X-Twilio-Signature": "x"})
    assert response.status == 415
    assert "application/x-www-form-urlencoded" in (await response.json())["message"]


async def test_media_is_passed_through_on_the_message(rig: Rig) -> None:
    media = {
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        "MediaContentType1": "application/pdf",
    }
    await rig.twilio.sms(LEAD, "", **media)
    await settle(rig.app)
    [conv] = await sms_conversations(rig)
    stored = await rig.app[keys.STORE].messages_after(conv["id"], 0)  # the API shows no meta yet
    assert stored[0].meta["media"] == [
        {"url": media["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": media["MediaUrl1"], "content_type": "application/pdf"},
    ]
    assert stored[0].meta["to"] == SMS_FROM


# -- fast acknowledgement -----------------------------------------------------------------


async def test_the_webhook_answers_before_the_reply_has_gone_out(rig: Rig) -> None:
    rig.fake.hold()  # Twilio's REST API does not answer until released
    await rig.twilio.sms(LEAD, "hello")  # … and yet the webhook has its empty TwiML
    async with asyncio.timeout(10):
        await rig.fake.requested.wait()  # the bot's reply is on its way, in the background
    assert rig.fake.sent == []
    rig.fake.release()
    await settle(rig.app)
    assert len(rig.fake.sent) == 1


async def test_a_message_seen_before_is_acknowledged_and_ignored(rig: Rig) -> None:
    sid = rig.twilio.new_sid()
    for _ in range(3):  # Twilio retrying, say after a timeout on its side
        response = await rig.twilio.sms(LEAD, "hello", sid=sid)
        assert await response.text() == EMPTY_TWIML
    await settle(rig.app)
    [conv] = await sms_conversations(rig)
    full = await api_get(rig.client, f"/api/conversations/{conv['id']}")
    assert [m["from"] for m in full["messages"]] == ["visitor", "bot"]
    assert len(rig.fake.sent) == 1


async def test_without_twilio_credentials_there_are_no_twilio_webhooks(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data")))
    for path in (SMS_PATH, "/channels/twilio/whatsapp", "/channels/twilio/status"):
        assert (await client.post(path, data={"From": LEAD})).status == 404
