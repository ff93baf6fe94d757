"""Inbound mail's files: kept as the message's attachments (SendGrid multipart and raw MIME),
within the attachment limits; the rest noted in the meta with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import AUTH, ClientFactory, settle
from tests.support.email_app import conversation, email_settings, post_form, post_mime
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 60
LIMIT = 1000


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
async def client(sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    settings = email_settings(tmp_path / "data", sink.port, LEADBOT_ATTACHMENT_MAX_BYTES=str(LIMIT))
    return await aiohttp_client(create_app(settings))


async def post(
    client: TestClient[Any, Any], mail: Mail, how: str, files: list[tuple[str, str, bytes]]
) -> Any:
    if how == "mime":
        body = await post_mime(client, mail.mime(attachments=files))
    else:
        body = await post_form(client, mail.sendgrid(attachments=files))
    await settle(client.app)
    return body


async def first_message(client: TestClient[Any, Any], body: Any) -> dict[str, Any]:
    conv = await conversation(client, body["conversation_id"])
    return dict(conv["messages"][0])


@pytest.mark.parametrize("how", ["sendgrid", "mime"])
async def test_an_allowed_file_is_stored_and_a_disallowed_one_noted(
    client: TestClient[Any, Any], sink: SmtpSink, how: str
) -> None:
    files = [("plan.png", "image/png", PNG), ("setup.exe", "application/x-msdownload", EXE)]
    body = await post(client, Mail(text="Our floor plan and the tool."), how, files)
    await sink.next_mail()

    message = await first_message(client, body)
    [attachment] = message["attachments"]
    assert attachment["filename"] == "plan.png"
    assert attachment["content_type"] == "image/png" and attachment["size"] == len(PNG)
    response = await client.get(attachment["url"], headers=AUTH)
    assert response.status == 200
    assert await response.read() == PNG

    [skipped] = message["meta"]["attachments_skipped"]
    assert skipped["name"] == "setup.exe" and skipped["type"] == "application/x-msdownload"
    assert "not an allowed type" in skipped["reason"]
    # The facts of every file are still described.
    assert [a["name"] for a in message["meta"]["email"]["attachments"]] == ["plan.png", "setup.exe"]


@pytest.mark.parametrize("how", ["sendgrid", "mime"])
async def test_an_oversized_file_is_skipped(client: TestClient[Any, Any], sink: SmtpSink, how: str) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (LIMIT * 3)
    body = await post(client, Mail(text="A big picture."), how, [("big.png", "image/png", big)])
    await sink.next_mail()

    message = await first_message(client, body)
    assert message["attachments"] == []
    [skipped] = message["meta"]["attachments_skipped"]
    assert skipped["name"] == "big.png" and skipped["size"] == len(big)
    assert f"{len(big)} bytes is more than the limit of {LIMIT}" in skipped["reason"]


async def test_a_duplicate_stores_nothing_more(client: TestClient[Any, Any], sink: SmtpSink) -> None:
    mail = Mail(text="The plan.")
    files = [("plan.png", "image/png", PNG)]
    first = await post(client, mail, "sendgrid", files)
    await sink.next_mail()
    again = await post(client, mail, "sendgrid", files)  # the provider's retry
    assert again["duplicate"] is True

    message = await first_message(client, first)
    assert len(message["attachments"]) == 1


async def test_suspicious_mail_keeps_its_files_as_evidence(client: TestClient[Any, Any]) -> None:
    files = [("invoice.png", "image/png", PNG)]
    body = await post(client, Mail(spf="fail", dkim="none", text="Pay this"), "mime", files)
    assert body["suspicious"] is True

    message = await first_message(client, body)
    [attachment] = message["attachments"]
    response = await client.get(attachment["url"], headers=AUTH)
    assert await response.read() == PNG
