"""MMS and WhatsApp media: fetched from Twilio after the ack, kept as attachments, served safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from bot import keys
from tests.conftest import AUTH, api_get, settle
from tests.support.fake_twilio import ClientFactory, Rig, ServerFactory, start_rig
from tests.support.inbox import Agent, add_user

LEAD = "+14155550100"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough of a PNG for a browser to be told it is one
PDF = b"%PDF-1.4\n% a quote\n"


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    # No public URL: Twilio signs the test server's own address, and session cookies work over http.
    return await start_rig(
        aiohttp_server,
        aiohttp_client,
        tmp_path / "data",
        LEADBOT_ATTACHMENT_MAX_BYTES="1000",
        LEADBOT_PUBLIC_URL="",
    )


def media(*urls: tuple[str, str]) -> dict[str, str]:
    fields = {"NumMedia": str(len(urls))}
    for i, (url, kind) in enumerate(urls):
        fields[f"MediaUrl{i}"] = url
        fields[f"MediaContentType{i}"] = kind
    return fields


async def the_message(rig: Rig) -> dict[str, Any]:
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    conv = await api_get(rig.client, f"/api/conversations/{conv['id']}")
    [message] = [m for m in conv["messages"] if m["from"] == "visitor"]
    return dict(message)


async def test_an_mms_image_becomes_an_attachment_agents_can_open(rig: Rig) -> None:
    url = rig.fake.add_media("image/png", PNG)
    await rig.twilio.sms(LEAD, "Here is our floor plan", **media((url, "image/png")))
    await settle(rig.app)  # the media are fetched after the ack, with the bot's turn

    message = await the_message(rig)
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/png" and attachment["size"] == len(PNG)
    assert attachment["filename"].startswith("ME") and attachment["filename"].endswith(".png")
    assert attachment["url"] == f"/attachments/{attachment['id']}"

    response = await rig.client.get(attachment["url"], headers=AUTH)
    assert response.status == 200
    assert await response.read() == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_a_signed_in_agent_opens_it_with_their_session(rig: Rig) -> None:
    url = rig.fake.add_media("application/pdf", PDF)
    await rig.twilio.sms(LEAD, "The quote", **media((url, "application/pdf")))
    await settle(rig.app)
    [attachment] = (await the_message(rig))["attachments"]
    agent = await Agent.sign_in(rig.client, await add_user(rig.client, "dana@example.com", name="Dana"))
    try:
        async with agent.http.get(rig.client.make_url(attachment["url"])) as response:
            assert response.status == 200
            assert await response.read() == PDF
            # Not an image: a download, never shown inline by the browser.
            assert response.headers["Content-Disposition"].startswith("attachment;")
    finally:
        await agent.close()


async def test_strangers_need_a_signed_unexpired_link(rig: Rig) -> None:
    url = rig.fake.add_media("image/png", PNG)
    await rig.twilio.sms(LEAD, "", **media((url, "image/png")))
    await settle(rig.app)
    [attachment] = (await the_message(rig))["attachments"]
    assert (await rig.client.get(attachment["url"])).status == 404
    wrong = await rig.client.get(attachment["url"], headers={"Authorization": "Bearer nope"})
    assert wrong.status == 404

    links = rig.app[keys.ATTACHMENT_LINKS]
    now = datetime.now(UTC)
    signed = URL(links.signed(attachment["id"], now))
    response = await rig.client.get(signed)
    assert response.status == 200 and await response.read() == PNG

    other_file = signed.with_path("/attachments/" + "0" * 24)
    assert (await rig.client.get(other_file)).status == 404
    stretched = signed.update_query(expires=str(int(signed.query["expires"]) + 3600))
    assert (await rig.client.get(stretched)).status == 404
    expired = URL(links.signed(attachment["id"], now - timedelta(days=2)))
    assert (await rig.client.get(expired)).status == 404


async def test_disallowed_types_and_oversized_files_are_skipped_with_a_note(rig: Rig) -> None:
    video = rig.fake.add_media("video/mp4", b"\x00" * 10)
    big = rig.fake.add_media("image/jpeg", b"\xff" * 2000)  # the rig allows 1000 bytes
    small = rig.fake.add_media("image/gif", b"GIF89a")
    fields = media((video, "video/mp4"), (big, "image/jpeg"), (small, "image/gif"))
    await rig.twilio.sms(LEAD, "three files", **fields)
    await settle(rig.app)

    message = await the_message(rig)
    assert [a["content_type"] for a in message["attachments"]] == ["image/gif"]
    skipped = message["meta"]["media_skipped"]
    assert [s["content_type"] for s in skipped] == ["video/mp4", "image/jpeg"]
    assert "not an allowed type" in skipped[0]["reason"]
    assert "more than the limit of 1000" in skipped[1]["reason"]
    assert rig.fake.media_fetches == 2  # the video was refused by its type, never downloaded


async def test_media_not_on_twilio_are_never_fetched_with_our_credentials(rig: Rig) -> None:
    await rig.twilio.sms(LEAD, "look", **media(("https://attacker.example/x.png", "image/png")))
    await settle(rig.app)
    message = await the_message(rig)
    assert message["attachments"] == []
    assert "not a Twilio URL" in message["meta"]["media_skipped"][0]["reason"]
    assert rig.fake.media_fetches == 0


async def test_an_open_inbox_gets_the_attachments_when_they_are_stored(rig: Rig) -> None:
    await rig.twilio.sms(LEAD, "hello")
    await settle(rig.app)
    conv_id = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"][0]["id"]
    agent = await Agent.sign_in(rig.client, await add_user(rig.client, "dana@example.com", name="Dana"))
    inbox = await agent.socket()
    try:
        await inbox.send({"type": "open", "conversation_id": conv_id})
        url = rig.fake.add_media("image/webp", b"RIFF....WEBP")
        await rig.twilio.sms(LEAD, "a picture", **media((url, "image/webp")))
        frame = await inbox.next_frame("attachments")
        assert frame["conversation_id"] == conv_id
        [attachment] = frame["attachments"]
        assert attachment["content_type"] == "image/webp"
        await settle(rig.app)
    finally:
        await inbox.close()
        await agent.close()
