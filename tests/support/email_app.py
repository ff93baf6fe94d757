"""The app with its email channel on a loopback SMTP sink, and posting inbound mail to it."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.settings import Settings
from tests.conftest import api_get, make_settings, settle
from tests.support.inbound_mail import INBOUND_KEY, Mail
from tests.support.smtp_sink import ReceivedMail

INBOUND = "/channels/email/inbound"
FROM = "leads@example.com"
MESSAGE_DOMAIN = "mail.example.com"


def email_settings(data_dir: Path, smtp_port: int, **env: str) -> Settings:
    return make_settings(
        data_dir,
        **{
            "LEADBOT_SMTP_HOST": "127.0.0.1",
            "LEADBOT_SMTP_PORT": str(smtp_port),
            "LEADBOT_SMTP_STARTTLS": "false",
            "LEADBOT_EMAIL_FROM": f"Acme Sales <{FROM}>",
            "LEADBOT_EMAIL_DOMAIN": MESSAGE_DOMAIN,
            "LEADBOT_EMAIL_INBOUND_KEY": INBOUND_KEY,
            **env,
        },
    )


async def post_form(
    client: TestClient[Any, Any], form: FormData, *, status: int = 200, key: str | None = INBOUND_KEY
) -> Any:
    """POST a form to the inbound URL, with `?key=` unless `key` is None."""
    response = await client.post(INBOUND, params={"key": key} if key is not None else {}, data=form)
    body = await response.json()
    assert response.status == status, body
    return body


async def post_mime(client: TestClient[Any, Any], raw: bytes, *, status: int = 200) -> Any:
    response = await client.post(
        INBOUND, params={"key": INBOUND_KEY}, data=raw, headers={"Content-Type": "message/rfc822"}
    )
    body = await response.json()
    assert response.status == status, body
    return body


async def send_mail(client: TestClient[Any, Any], mail: Mail, how: str = "sendgrid") -> Any:
    """Post `mail` the way `how` says (sendgrid, sendgrid_raw, mime) and wait for the bot."""
    if how == "mime":
        body = await post_mime(client, mail.mime())
    else:
        body = await post_form(client, getattr(mail, how)())
    await settle(client.app)
    return body


async def conversation(client: TestClient[Any, Any], conv_id: str) -> Any:
    return await api_get(client, f"/api/conversations/{conv_id}")


def reply_to(received: ReceivedMail) -> str:
    return parseaddr(str(received.message["Reply-To"]))[1]


def reply_from_lead(received: ReceivedMail, text: str, **changes: Any) -> Mail:
    """The lead's answer to a mail we sent: to its Reply-To, threaded under its Message-ID."""
    message_id = str(received.message["Message-ID"])
    references = f"{received.message['References'] or ''} {message_id}".strip()
    quoted = "\n".join(f"> {line}" for line in received.part("text/plain").splitlines())
    attribution = f"On Tue, 5 Mar 2024 at 10:12, Acme Sales <{reply_to(received)}> wrote:"
    options: dict[str, Any] = {
        "to": reply_to(received),
        "subject": str(received.message["Subject"]),
        "text": f"{text}\n\n{attribution}\n{quoted}\n",
        "in_reply_to": message_id,
        "references": references,
    }
    options.update(changes)
    return Mail(**options)
