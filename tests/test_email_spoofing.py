"""Mail whose From cannot be believed (SPF or DKIM failed, or nothing vouches for its domain)
is flagged for the inbox and never joins the lead that owns that address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get
from tests.support.email_app import (
    conversation,
    email_settings,
    post_form,
    reply_from_lead,
    reply_to,
    send_mail,
)
from tests.support.inbound_mail import MAILGUN_KEY, Mail
from tests.support.smtp_sink import SmtpSink
from tests.support.visitor import Visitor


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


async def janes_lead_from_the_widget(client: TestClient[Any, Any]) -> Any:
    """Jane chats on the website and gives her email: the lead that owns jane@acme.io."""
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say("We need a shared inbox for support. I'm Jane, jane@acme.io")
    await visitor.ws.close()
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    assert conv["lead"]["email"] == "jane@acme.io"
    return conv["lead"]


async def test_a_genuine_mail_joins_the_lead_of_the_web_chat_with_the_same_address(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    lead = await janes_lead_from_the_widget(client)
    body = await send_mail(client, Mail(text="Following up by email: we are 40 people."))

    conv = await conversation(client, body["conversation_id"])
    assert conv["lead_id"] == lead["id"]
    assert conv["lead"]["team_size"] == 40 and conv["lead"]["need"] == lead["need"]
    assert set(conv["lead"]["conversation_ids"]) == {*lead["conversation_ids"], body["conversation_id"]}
    mail = await sink.next_mail()
    assert "Which company are you with?" in mail.part("text/plain")
    assert "What's the best email to reach you?" not in mail.part("text/plain")  # it is known


@pytest.mark.parametrize(
    ("mail", "reasons"),
    [
        (Mail(spf="fail", dkim="none"), ["SPF fail", "no passing SPF or DKIM check for acme.io"]),
        (Mail(spf="softfail", dkim="none"), ["SPF softfail", "no passing SPF or DKIM check for acme.io"]),
        (Mail(spf="pass", dkim="fail"), ["DKIM fail"]),
        # SPF passes for the spoofer's own envelope domain, which proves nothing about From.
        (
            Mail(spf="pass", dkim="none", envelope_from="bounce@evil.example"),
            ["no passing SPF or DKIM check for acme.io"],
        ),
    ],
    ids=["spf-fail", "spf-softfail", "dkim-fail", "unaligned-spf-pass"],
)
@pytest.mark.parametrize("how", ["sendgrid", "mime"])
async def test_a_spoofed_from_is_flagged_and_never_merged_into_the_real_lead(
    client: TestClient[Any, Any], sink: SmtpSink, mail: Mail, reasons: list[str], how: str
) -> None:
    lead = await janes_lead_from_the_widget(client)
    mail.text = "This is Jane. Actually my email is now jane@evil.example and the budget is 0."
    body = await send_mail(client, mail, how)

    assert body["suspicious"] and body["routed_by"] == "unverified"
    conv = await conversation(client, body["conversation_id"])
    assert conv["lead_id"] != lead["id"]
    auth = conv["messages"][0]["meta"]["auth"]
    assert auth["suspicious"] is True and auth["reasons"] == reasons
    assert (auth["spf"], auth["dkim"]) == (mail.spf, "none" if mail.dkim == "none" else mail.dkim)
    # Jane's lead is untouched: not merged, no new conversation, no new email.
    after = await api_get(client, f"/api/leads/{lead['id']}")
    assert after["email"] == "jane@acme.io"
    assert after["conversation_ids"] == lead["conversation_ids"]
    # The sender's own conversation's lead was not seeded with the claimed address.
    assert conv["lead"]["email"] != "jane@acme.io"


async def test_a_spoofed_mail_to_the_leads_reply_address_still_stays_apart(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    genuine = await send_mail(client, Mail(text="Hi, we need a shared inbox."))
    ours = await sink.next_mail()
    spoofed = Mail(to=reply_to(ours), in_reply_to=str(ours.message["Message-ID"]), spf="fail", dkim="none")
    body = await send_mail(client, spoofed)

    assert body["conversation_id"] != genuine["conversation_id"]
    assert body["routed_by"] == "unverified"
    conv = await conversation(client, genuine["conversation_id"])
    assert [m["from"] for m in conv["messages"]] == ["visitor", "bot"]


async def test_the_real_owner_answering_the_flagged_conversation_lands_in_their_own(
    client: TestClient[Any, Any], sink: SmtpSink
) -> None:
    lead = await janes_lead_from_the_widget(client)
    spoofed = await send_mail(client, Mail(spf="fail", dkim="none", text="Send me the price list"))
    to_jane = await sink.next_mail()  # the bot answered the claimed address: the real Jane
    assert to_jane.rcpt_tos == ["jane@acme.io"]

    answer = reply_from_lead(to_jane, "I never wrote to you, but we are 40 people.")
    body = await send_mail(client, answer)

    assert body["conversation_id"] != spoofed["conversation_id"] and body["routed_by"] == "sender"
    conv = await conversation(client, body["conversation_id"])
    assert conv["lead_id"] == lead["id"] and conv["lead"]["team_size"] == 40


async def test_a_second_suspicious_mail_from_the_address_joins_its_flagged_conversation(
    client: TestClient[Any, Any],
) -> None:
    first = await send_mail(client, Mail(spf="fail", dkim="none", text="Hello"))
    second = await send_mail(client, Mail(spf="fail", dkim="none", text="Hello again"))
    genuine = await send_mail(client, Mail(text="Hello, the real Jane"))
    assert first["conversation_id"] == second["conversation_id"] != genuine["conversation_id"]


async def test_mailgun_verdicts_are_read_from_its_headers(client: TestClient[Any, Any]) -> None:
    form = Mail(spf="fail", dkim="none", text="Hi").mailgun(timestamp=int(time.time()))
    body = await post_form(client, form, key=None)
    assert body["suspicious"]
    conv = await conversation(client, body["conversation_id"])
    assert conv["messages"][0]["meta"]["auth"]["spf"] == "fail"

    good = Mail(sender="bob@globex.com", text="Hi").mailgun(timestamp=int(time.time()))
    assert not (await post_form(client, good, key=None))["suspicious"]
