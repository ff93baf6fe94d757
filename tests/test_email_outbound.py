"""Outbound mail through a real SMTP server on loopback: threading headers, plus-addressed
Reply-To, text and HTML bodies from the templates, and failures recorded on the message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import AUTH, ClientFactory, settle
from tests.support.agents import make_agent
from tests.support.email_app import (
    FROM,
    MESSAGE_DOMAIN,
    conversation,
    email_settings,
    reply_from_lead,
    reply_to,
    send_mail,
)
from tests.support.inbound_mail import Mail
from tests.support.smtp_sink import SmtpSink, free_port

MESSAGE_ID = re.compile(rf"^<[A-Za-z0-9_-]{{16,}}@{re.escape(MESSAGE_DOMAIN)}>$")
PLUS_ADDRESS = re.compile(r"^leads\+([0-9a-f]{20})@example\.com$")


# Requested before aiohttp_client by the fixtures below, so the app closes (finishing its
# bot turns and their sends) before the SMTP server stops.
@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
async def client(sink: SmtpSink, aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(email_settings(tmp_path / "data", sink.port)))


async def test_the_bots_reply_is_threaded_under_the_leads_mail(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    first = Mail(subject="Pricing question", text="Hi, we're Acme and need a shared inbox.")
    await send_mail(client, first)

    mail = await sink.next_mail()
    headers = mail.message
    assert (mail.mail_from, mail.rcpt_tos) == (FROM, ["jane@acme.io"])
    assert MESSAGE_ID.match(str(headers["Message-ID"])), headers["Message-ID"]
    assert str(headers["In-Reply-To"]) == first.message_id
    assert str(headers["References"]) == first.message_id
    assert str(headers["Subject"]) == "Re: Pricing question"
    assert parseaddr(str(headers["From"])) == ("Acme Sales", FROM)
    assert PLUS_ADDRESS.match(reply_to(mail)), headers["Reply-To"]
    assert str(headers["To"]) == "jane@acme.io"
    assert str(headers["Auto-Submitted"]) == "auto-replied"  # RFC 3834: autoresponders leave it alone
    assert headers.get_content_type() == "multipart/alternative"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert text.startswith("Hi! I'm the leadbot assistant.")
    assert "How many people are on your team?" in text and text.endswith("\n-- \nAcme Sales\n")
    assert "I&#39;m the leadbot assistant" in html and "How many people are on your team?" in html
    assert sink.received_nothing_more()


async def test_every_reply_continues_the_thread_and_keeps_the_reply_to(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    first = Mail(subject="Re: Pricing question", text="Hi, we're Acme and need a shared inbox.")
    body = await send_mail(client, first)
    mail_1 = await sink.next_mail()
    answer = reply_from_lead(mail_1, "About 40 people.")
    await send_mail(client, answer, "mime")
    mail_2 = await sink.next_mail()

    assert str(mail_2.message["Subject"]) == "Re: Pricing question"  # not "Re: Re: …"
    assert str(mail_2.message["In-Reply-To"]) == answer.message_id
    assert str(mail_2.message["References"]).split() == [
        first.message_id,
        str(mail_1.message["Message-ID"]),
        answer.message_id,
    ]
    assert reply_to(mail_2) == reply_to(mail_1)
    assert str(mail_2.message["Message-ID"]) != str(mail_1.message["Message-ID"])
    # Each outbound message records its Message-ID as the provider id, delivery queued.
    messages = (await conversation(client, body["conversation_id"]))["messages"]
    assert [m["delivery"] for m in messages if m["from"] == "bot"] == ["queued", "queued"]


async def test_an_agents_reply_is_escaped_in_html_and_notices_stay_in_the_inbox(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    body = await send_mail(client, Mail(text="Hi, we're Acme."))
    await sink.next_mail()
    conv_id = body["conversation_id"]
    _, agent = await make_agent(client.app, "dana@example.com", name="Dana Scully")
    claimed = await client.post(f"/api/conversations/{conv_id}/claim", headers=agent)
    assert claimed.status == 200, await claimed.text()
    await settle(client.app)
    assert sink.received_nothing_more()  # "Dana Scully joined the conversation." is not a mail

    text = 'Here is the plan <script>alert("x")</script> & more.\n\nSecond paragraph,\nsecond line.'
    replied = await client.post(f"/api/conversations/{conv_id}/reply", json={"text": text}, headers=agent)
    assert replied.status == 201, await replied.text()
    mail = await sink.next_mail()

    html = mail.part("text/html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more." in html
    assert "Second paragraph,<br>second line.</p>" in html
    plain = mail.part("text/plain")
    assert 'Here is the plan <script>alert("x")</script> & more.' in plain  # plain text is not escaped
    assert plain.rstrip().endswith("-- \nDana Scully, Acme Sales")
    assert mail.message["Auto-Submitted"] is None  # a person wrote it
    assert PLUS_ADDRESS.match(reply_to(mail))
    assert sink.received_nothing_more()


# The loopback sink has no TLS; aiosmtpd warns about AUTH without it, which is the point here.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_credentials_are_used(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        settings = email_settings(
            tmp_path / "data", sink.port, LEADBOT_SMTP_USERNAME="mailer", LEADBOT_SMTP_PASSWORD="s3cret"
        )
        client = await aiohttp_client(create_app(settings))
        await send_mail(client, Mail(text="Hi, we're Acme."))
        mail = await sink.next_mail()
        assert mail.login == "mailer"


async def test_a_failed_send_is_recorded_and_the_inbound_mail_kept(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    nobody_listens = free_port()
    client = await aiohttp_client(create_app(email_settings(tmp_path / "data", nobody_listens)))
    body = await send_mail(client, Mail(text="Hi, we're Acme."))

    messages = (await conversation(client, body["conversation_id"]))["messages"]
    assert [m["from"] for m in messages] == ["visitor", "bot"]
    assert messages[1]["delivery"] == "failed" and messages[1]["delivery_error"]


async def test_a_client_that_wants_the_whole_conversation_sees_the_mail_facts(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    mail = Mail(subject="Demo", text="Hi, we're Acme.\n\n-- \nJane Doe\nCEO")
    body = await send_mail(client, mail)
    await sink.next_mail()
    response = await client.get(f"/api/conversations/{body['conversation_id']}", headers=AUTH)
    first = (await response.json())["messages"][0]
    assert first["text"] == "Hi, we're Acme."
    assert first["meta"]["email"]["subject"] == "Demo"
    assert first["meta"]["email"]["original"] == "Hi, we're Acme.\n\n-- \nJane Doe\nCEO"
    assert first["meta"]["auth"] == {"spf": "pass", "dkim": "pass", "aligned": True, "suspicious": False}
