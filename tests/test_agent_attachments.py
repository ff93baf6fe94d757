"""Agents send attachments back: a multipart reply stores the files on the agent's message, Twilio
is given signed links to them, mail carries them as parts; files over the limits are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from yarl import URL

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, settle
from tests.support.agents import make_agent
from tests.support.email_app import email_settings, send_mail
from tests.support.fake_twilio import PUBLIC_URL, Rig, ServerFactory, start_rig
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink

LEAD = "+14155550100"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% the quote\n"


def form(text: str, *files: tuple[str, str, bytes]) -> FormData:
    data = FormData(default_to_multipart=True)
    data.add_field("text", text)
    for name, kind, content in files:
        data.add_field("file", content, filename=name, content_type=kind)
    return data


async def claimed_sms(rig: Rig) -> tuple[str, dict[str, str]]:
    await rig.text(LEAD, "Hi, I need a quote")
    [conv] = (await api_get(rig.client, "/api/conversations?channel=sms"))["items"]
    _, agent = await make_agent(rig.app, "dana@example.com", name="Dana")
    claimed = await rig.client.post(f"/api/conversations/{conv['id']}/claim", headers=agent)
    assert claimed.status == 200, await claimed.text()
    await settle(rig.app)
    return conv["id"], agent


async def reply(client: TestClient[Any, Any], conv_id: str, agent: dict[str, str], data: FormData) -> Any:
    return await client.post(f"/api/conversations/{conv_id}/reply", data=data, headers=agent)


@pytest.fixture
async def rig(aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path) -> Rig:
    return await start_rig(
        aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_ATTACHMENT_MAX_BYTES="1000"
    )


async def test_an_agents_file_goes_to_twilio_as_a_working_signed_link(rig: Rig) -> None:
    conv_id, agent = await claimed_sms(rig)
    response = await reply(rig.client, conv_id, agent, form("The plan", ("plan.png", "image/png", PNG)))
    assert response.status == 201, await response.text()
    [attachment] = (await response.json())["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "plan.png",
        "image/png",
        len(PNG),
    )
    await settle(rig.app)

    sent = rig.fake.to(LEAD)[-1]
    assert sent.body == "The plan"
    [media_url] = sent.media_urls
    assert media_url.startswith(f"{PUBLIC_URL}/attachments/{attachment['id']}?")
    # Twilio fetches it without credentials: the signed link alone opens it.
    fetched = await rig.client.get(URL(media_url).relative())
    assert fetched.status == 200 and await fetched.read() == PNG

    conv = await api_get(rig.client, f"/api/conversations/{conv_id}")
    [stored] = [m for m in conv["messages"] if m["from"] == "agent"]
    assert stored["attachments"][0]["id"] == attachment["id"] and stored["delivery"] == "queued"


async def test_a_file_alone_needs_no_text(rig: Rig) -> None:
    conv_id, agent = await claimed_sms(rig)
    response = await reply(rig.client, conv_id, agent, form("", ("quote.pdf", "application/pdf", PDF)))
    assert response.status == 201, await response.text()
    await settle(rig.app)
    assert len(rig.fake.to(LEAD)[-1].media_urls) == 1


async def test_files_over_the_limits_are_refused_and_nothing_is_sent(rig: Rig) -> None:
    conv_id, agent = await claimed_sms(rig)
    before = len(rig.fake.sent)
    big = await reply(rig.client, conv_id, agent, form("big", ("big.png", "image/png", b"\x00" * 2000)))
    assert big.status == 413 and (await big.json())["error"] == "too_large"
    exe = await reply(
        rig.client, conv_id, agent, form("run", ("setup.exe", "application/x-msdownload", b"MZ"))
    )
    assert exe.status == 415 and (await exe.json())["error"] == "unsupported_media_type"
    empty = await reply(rig.client, conv_id, agent, form("  "))
    assert empty.status == 422 and (await empty.json())["error"] == "invalid"
    await settle(rig.app)
    assert len(rig.fake.sent) == before
    conv = await api_get(rig.client, f"/api/conversations/{conv_id}")
    assert [m for m in conv["messages"] if m["from"] == "agent"] == []


async def test_only_the_owner_sends_files(rig: Rig) -> None:
    conv_id, _ = await claimed_sms(rig)
    _, other = await make_agent(rig.app, "fox@example.com", name="Fox")
    refused = await reply(rig.client, conv_id, other, form("mine", ("plan.png", "image/png", PNG)))
    assert refused.status == 409


async def test_without_a_public_url_the_send_fails_clearly(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", LEADBOT_PUBLIC_URL="")
    conv_id, agent = await claimed_sms(rig)
    response = await reply(rig.client, conv_id, agent, form("plan", ("plan.png", "image/png", PNG)))
    assert response.status == 201
    await settle(rig.app)
    conv = await api_get(rig.client, f"/api/conversations/{conv_id}")
    [stored] = [m for m in conv["messages"] if m["from"] == "agent"]
    assert stored["delivery"] == "failed" and "LEADBOT_PUBLIC_URL" in stored["delivery_error"]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


async def test_an_agents_file_is_a_part_of_the_mail(
    sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(email_settings(tmp_path / "data", sink.port)))
    body = await send_mail(client, Mail(text="Hi, we're Acme."))
    await sink.next_mail()
    conv_id = body["conversation_id"]
    _, agent = await make_agent(client.app, "dana@example.com", name="Dana")
    assert (await client.post(f"/api/conversations/{conv_id}/claim", headers=agent)).status == 200
    await settle(client.app)

    response = await reply(client, conv_id, agent, form("The quote", ("quote.pdf", "application/pdf", PDF)))
    assert response.status == 201, await response.text()
    mail = await sink.next_mail()
    assert "The quote" in mail.part("text/plain")
    [part] = list(mail.message.iter_attachments())
    assert part.get_filename() == "quote.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == PDF
