"""Inbound mail: SendGrid (parsed and raw), raw MIME and Mailgun posts are parsed, stripped,
threaded into the right conversation, stored once, and bad payloads refused whole."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, MultipartWriter
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, settle
from tests.support.email_app import (
    INBOUND,
    conversation,
    email_settings,
    post_form,
    post_mime,
    reply_from_lead,
    reply_to,
    send_mail,
)
from tests.support.inbound_mail import INBOUND_KEY, MAILGUN_KEY, Mail
from tests.support.smtp_sink import SmtpSink


# Requested before aiohttp_client by the fixtures below, so the app closes (finishing its
# bot turns and their sends) before the SMTP server stops.
@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
async def client(sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    settings = email_settings(tmp_path / "data", sink.port, LEADBOT_MAILGUN_SIGNING_KEY=MAILGUN_KEY)
    return await aiohttp_client(create_app(settings))


async def email_conversations(client: TestClient[Any, Any]) -> list[Any]:
    return list((await api_get(client, "/api/conversations?channel=email"))["items"])


@pytest.mark.parametrize("how", ["sendgrid", "sendgrid_raw", "mime"])
async def test_a_reply_without_threading_headers_finds_its_conversation_by_the_plus_address(
    client: TestClient[Any, Any], sink: SmtpSink, how: str
) -> None:
    first = await send_mail(client, Mail(text="Hi, we're Acme and need a shared inbox."), how)
    ours = await sink.next_mail()
    # The lead's client dropped In-Reply-To and References: only the Reply-To address is left.
    answer = reply_from_lead(ours, "About 40 people.", in_reply_to=None, references=None)
    second = await send_mail(client, answer, how)
    await sink.next_mail()

    assert second["conversation_id"] == first["conversation_id"]
    assert second["routed_by"] == "token"
    conv = await conversation(client, first["conversation_id"])
    visitor = [m for m in conv["messages"] if m["from"] == "visitor"]
    assert visitor[1]["text"] == "About 40 people."  # the quote of our mail is not read
    assert "wrote:\n> Hi! I'm the leadbot assistant." in visitor[1]["meta"]["email"]["original"]
    assert visitor[1]["meta"]["email"]["provider"] == ("mime" if how == "mime" else "sendgrid")
    assert conv["lead"]["team_size"] == 40


async def test_a_colleague_replying_in_the_thread_joins_the_conversation_by_in_reply_to(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    first = await send_mail(client, Mail(text="Hi, we're Acme and need a shared inbox."))
    ours = await sink.next_mail()
    # Sent to the plain address (no token), from someone else: only In-Reply-To links it.
    answer = reply_from_lead(
        ours, "We're about 40 people.", sender="Bob <bob@acme.io>", to="leads@example.com"
    )
    second = await send_mail(client, answer, "mime")

    assert second["conversation_id"] == first["conversation_id"]
    assert second["routed_by"] == "thread"
    conv = await conversation(client, first["conversation_id"])
    assert conv["messages"][-2]["meta"]["email"]["from"] == "Bob <bob@acme.io>"
    assert conv["lead"]["email"] == "jane@acme.io"


async def test_without_token_or_thread_mail_goes_by_sender_one_conversation_per_address(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    jane_1 = await send_mail(client, Mail(text="Hi, we're Acme."))
    jane_2 = await send_mail(
        client, Mail(text="Forgot to say: 40 people.", to="leads+0000000000@example.com")
    )
    bob = await send_mail(client, Mail(sender="bob@globex.com", text="Hi, Globex here."))

    assert jane_2["conversation_id"] == jane_1["conversation_id"] and jane_2["routed_by"] == "sender"
    assert bob["conversation_id"] != jane_1["conversation_id"]
    assert len(await email_conversations(client)) == 2


async def test_a_provider_retry_is_stored_once_and_answered_once(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    mail = Mail(text="Hi, we're Acme.")
    first = await send_mail(client, mail)
    again = await send_mail(client, mail)
    also_raw = await send_mail(client, mail, "mime")

    assert again["duplicate"] and also_raw["duplicate"] and not first["duplicate"]
    conv = await conversation(client, first["conversation_id"])
    assert [m["from"] for m in conv["messages"]] == ["visitor", "bot"]
    await sink.next_mail()
    assert sink.received_nothing_more()


async def test_a_mail_without_message_id_is_still_stored_once(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    mail = Mail(message_id="", text="Hi, we're Acme.")
    first = await send_mail(client, mail)
    again = await send_mail(client, mail)
    assert again["duplicate"] and again["conversation_id"] == first["conversation_id"]
    conv = await conversation(client, first["conversation_id"])
    assert conv["messages"][0]["meta"]["email"]["message_id"].endswith("@no-message-id.invalid>")


async def test_sendgrid_fields_are_decoded_with_the_charsets_it_reports(client: TestClient[Any, Any]) -> None:
    # SendGrid posts each field in the mail's own charset, and says which in `charsets`.
    fields = {
        "from": "Jürgen <juergen@acme.de>".encode(),
        "headers": b"Message-ID: <latin1@acme.de>\nSubject: Anfrage\n",
        "text": "Grüße aus München, wir sind 40 Leute.".encode("iso-8859-1"),
        "charsets": b'{"text": "iso-8859-1", "from": "UTF-8"}',
        "SPF": b"pass",
        "dkim": b"{@acme.de : pass}",
        "envelope": b'{"to": ["leads@example.com"], "from": "juergen@acme.de"}',
    }
    with MultipartWriter("form-data") as form:
        for name, value in fields.items():
            part = form.append(value, {"Content-Type": "text/plain"})
            part.set_content_disposition("form-data", name=name)
    response = await client.post(INBOUND, params={"key": INBOUND_KEY}, data=form)
    body = await response.json()
    assert response.status == 200, body
    await settle(client.app)
    conv = await conversation(client, body["conversation_id"])
    assert conv["messages"][0]["text"] == "Grüße aus München, wir sind 40 Leute."
    assert conv["messages"][0]["meta"]["email"]["from"] == "Jürgen <juergen@acme.de>"


async def test_mailgun_posts_are_read_with_their_own_stripped_text(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    mail = Mail(text="We need a shared inbox.\n\n-- \nJane")
    form = mail.mailgun(timestamp=int(time.time()))
    form.add_field("stripped-text", "We need a shared inbox.")
    body = await post_form(client, form, key=None)  # no ?key: Mailgun's signature vouches
    assert body["routed_by"] == "sender" and not body["suspicious"]
    await sink.next_mail()
    conv = await conversation(client, body["conversation_id"])
    first = conv["messages"][0]
    assert first["text"] == "We need a shared inbox."
    assert first["meta"]["email"]["provider"] == "mailgun"
    assert first["meta"]["email"]["message_id"] == mail.message_id


async def test_attachments_are_described_in_the_meta(client: TestClient[Any, Any], sink: SmtpSink) -> None:
    files = [
        ("brief.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 1000),
        ("logo.png", "image/png", b"\x89PNG" * 10),
    ]
    form_body = await post_form(client, Mail(text="Our brief is attached.").sendgrid(attachments=files))
    mime_body = await post_mime(
        client, Mail(sender="bob@globex.com", text="See attached.").mime(attachments=files)
    )

    for body in (form_body, mime_body):
        conv = await conversation(client, body["conversation_id"])
        assert conv["messages"][0]["meta"]["email"]["attachments"] == [
            {"name": "brief.pdf", "type": "application/pdf", "size": 1009},
            {"name": "logo.png", "type": "image/png", "size": 40},
        ]


async def test_html_only_mail_is_read_from_its_html(client: TestClient[Any, Any], sink: SmtpSink) -> None:
    html = "<p>We are <b>Acme</b>, 40 people.</p><blockquote>old question</blockquote>"
    body = await send_mail(client, Mail(text=None, html=html), "mime")
    conv = await conversation(client, body["conversation_id"])
    assert conv["messages"][0]["text"] == "We are Acme, 40 people."


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<news.acme.io>"},
    ],
)
async def test_automatic_mail_is_acknowledged_and_never_answered(
    client: TestClient[Any, Any], sink: SmtpSink, headers: dict[str, str]
) -> None:
    body = await send_mail(
        client, Mail(subject="Out of office", text="I'm away until Monday.", extra_headers=headers)
    )
    assert "ignored" in body
    assert await email_conversations(client) == []
    assert sink.received_nothing_more()


async def test_the_list_unsubscribe_mail_opts_the_lead_out(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    first = await send_mail(client, Mail(text="Hi, we're Acme."))
    ours = await sink.next_mail()
    assert str(ours.message["List-Unsubscribe"]).strip() == f"<mailto:{reply_to(ours)}?subject=unsubscribe>"
    # What a mail client sends for it: generated, and with a body of its own.
    unsubscribe = Mail(
        to=reply_to(ours),
        subject="unsubscribe",
        text="This message was automatically generated by Gmail.",
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    body = await send_mail(client, unsubscribe)

    assert body["conversation_id"] == first["conversation_id"]
    conv = await conversation(client, first["conversation_id"])
    assert conv["lead"]["status"] == "opted_out"
    confirmation = await sink.next_mail()
    assert "unsubscribed" in confirmation.part("text/plain")
    assert sink.received_nothing_more()


async def test_our_own_mail_coming_back_is_not_answered(client: TestClient[Any, Any], sink: SmtpSink) -> None:
    body = await send_mail(client, Mail(sender="Acme Sales <leads+abc123abc1@example.com>", text="Hello"))
    assert body["ignored"] == "mail from our own address"
    assert await email_conversations(client) == []


def _form(**fields: str) -> FormData:
    form = FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    return form


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (_form(greeting="hello"), "not an inbound mail"),
        (_form(text="hi", subject="no sender"), "no From address"),
        (_form(**{"from": "not an address", "text": "hi"}), "'not an address' is not a valid email address"),
        (_form(**{"from": "jane@", "text": "hi"}), "not a valid email address"),
        (_form(**{"from": "jane@acme.io", "text": "hi", "envelope": "{nope"}), "'envelope' must be JSON"),
        (_form(email="", SPF="pass"), "raw MIME message is empty"),
    ],
)
async def test_a_form_that_is_not_mail_is_refused_and_nothing_is_stored(
    client: TestClient[Any, Any], form: FormData, message: str
) -> None:
    body = await post_form(client, form, status=400)
    assert body["error"] == "bad_request" and message in body["message"]
    assert await email_conversations(client) == []


async def test_raw_mime_without_a_sender_and_broken_bodies_are_refused(client: TestClient[Any, Any]) -> None:
    body = await post_mime(client, b"this is not a mail at all", status=400)
    assert "no From address" in body["message"]

    broken = await client.post(
        INBOUND,
        params={"key": INBOUND_KEY},
        data=b"--nope\r\nContent-Disposition: form-data\r\n\r\nx",
        headers={"Content-Type": "multipart/form-data; boundary=other"},
    )
    assert broken.status == 400, await broken.text()
    assert (await broken.json())["error"] == "bad_request"

    as_json = await client.post(INBOUND, params={"key": INBOUND_KEY}, json={"from": "jane@acme.io"})
    assert as_json.status == 415
    assert "message/rfc822" in (await as_json.json())["message"]

    too_big = await client.post(
        INBOUND,
        params={"key": INBOUND_KEY},
        data=b"x" * (32 * 1024 * 1024 + 1),
        headers={"Content-Type": "message/rfc822"},
    )
    assert too_big.status == 413
    assert await email_conversations(client) == []
