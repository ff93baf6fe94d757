"""Inbound mail as the providers post it: SendGrid Inbound Parse (parsed and raw), Mailgun
routes (signed), and raw MIME from an MTA — built from one description of the mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr

from aiohttp import FormData

INBOUND_KEY = "inbound-test-key"
MAILGUN_KEY = "mailgun-test-signing-key"


def new_message_id(domain: str = "mail.acme.io") -> str:
    return f"<{secrets.token_hex(8)}@{domain}>"


@dataclass
class Mail:
    sender: str = "Jane Doe <jane@acme.io>"
    to: str = "Acme Sales <leads@example.com>"
    subject: str = "Pricing question"
    text: str | None = "Hello!"
    html: str | None = None
    message_id: str = field(default_factory=new_message_id)
    in_reply_to: str | None = None
    references: str | None = None
    spf: str = "pass"
    dkim: str = "pass"  # the result for a signature by the sender's domain; "none": unsigned
    envelope_from: str | None = None  # MAIL FROM; the From address unless given
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def mail_from(self) -> str:
        return self.envelope_from if self.envelope_from is not None else self.address

    def _header_pairs(self) -> list[tuple[str, str]]:
        pairs = [
            ("From", self.sender),
            ("To", self.to),
            ("Subject", self.subject),
            ("Date", "Tue, 05 Mar 2024 10:12:00 +0000"),
        ]
        if self.message_id:
            pairs.append(("Message-ID", self.message_id))
        if self.in_reply_to:
            pairs.append(("In-Reply-To", self.in_reply_to))
        if self.references:
            pairs.append(("References", self.references))
        pairs += list(self.extra_headers.items())
        return pairs

    def headers_text(self) -> str:
        return "".join(f"{name}: {value}\n" for name, value in self._header_pairs())

    def mime(self, *, attachments: Sequence[tuple[str, str, bytes]] = ()) -> bytes:
        """The message as an MTA delivers it, its checks in the topmost Authentication-Results."""
        message = EmailMessage()
        dkim = f"dkim={self.dkim} header.d={self.domain}" if self.dkim != "none" else "dkim=none"
        message["Authentication-Results"] = (
            f"mx.example.com; spf={self.spf} smtp.mailfrom={self.mail_from}; {dkim}"
        )
        for name, value in self._header_pairs():
            message[name] = value
        if self.text is not None:
            message.set_content(self.text)
        if self.html is not None:
            if self.text is None:
                message.set_content(self.html, subtype="html")
            else:
                message.add_alternative(self.html, subtype="html")
        for filename, content_type, data in attachments:
            maintype, subtype = content_type.split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return message.as_bytes()

    def _sendgrid_checks(self, form: FormData) -> None:
        form.add_field("SPF", self.spf)
        form.add_field("dkim", f"{{@{self.domain} : {self.dkim}}}" if self.dkim != "none" else "none")
        to = parseaddr(self.to)[1]
        form.add_field("envelope", json.dumps({"to": [to], "from": self.mail_from}))

    def sendgrid(self, *, attachments: Sequence[tuple[str, str, bytes]] = ()) -> FormData:
        """SendGrid Inbound Parse, parsed mode: multipart/form-data."""
        form = FormData()
        form.add_field("headers", self.headers_text())
        form.add_field("from", self.sender)
        form.add_field("to", self.to)
        form.add_field("subject", self.subject)
        if self.text is not None:
            form.add_field("text", self.text)
        if self.html is not None:
            form.add_field("html", self.html)
        self._sendgrid_checks(form)
        form.add_field("charsets", json.dumps({"text": "UTF-8", "subject": "UTF-8", "from": "UTF-8"}))
        info = {}
        for n, (filename, content_type, data) in enumerate(attachments, start=1):
            form.add_field(f"attachment{n}", data, filename=filename, content_type=content_type)
            info[f"attachment{n}"] = {"filename": filename, "name": filename, "type": content_type}
        if attachments:
            form.add_field("attachments", str(len(attachments)))
            form.add_field("attachment-info", json.dumps(info))
        return form

    def sendgrid_raw(self) -> FormData:
        """SendGrid Inbound Parse with "Send Raw": the message in the field `email`."""
        form = FormData()
        form.add_field("email", self.mime().decode())
        form.add_field("from", self.sender)
        form.add_field("to", self.to)
        form.add_field("subject", self.subject)
        self._sendgrid_checks(form)
        return form

    def mailgun(
        self, *, signing_key: str = MAILGUN_KEY, timestamp: int, token: str | None = None
    ) -> FormData:
        """Mailgun's parsed route POST, signed."""
        token = token or secrets.token_hex(25)
        form = FormData()
        for name, value in mailgun_signature_fields(signing_key, timestamp, token).items():
            form.add_field(name, value)
        form.add_field("sender", self.mail_from)
        form.add_field("from", self.sender)
        form.add_field("recipient", parseaddr(self.to)[1])
        form.add_field("subject", self.subject)
        form.add_field("body-plain", self.text or "")
        if self.html is not None:
            form.add_field("body-html", self.html)
        headers = [
            ("X-Mailgun-Spf", self.spf.capitalize()),
            *([("X-Mailgun-Dkim-Check-Result", self.dkim.capitalize())] if self.dkim != "none" else []),
            *(
                [("DKIM-Signature", f"v=1; a=rsa-sha256; d={self.domain}; s=s1; b=abc")]
                if self.dkim != "none"
                else []
            ),
            *self._header_pairs(),
        ]
        form.add_field("message-headers", json.dumps(headers))
        if self.message_id:
            form.add_field("Message-Id", self.message_id)
        return form


def mailgun_signature_fields(signing_key: str, timestamp: int, token: str) -> dict[str, str]:
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": str(timestamp), "token": token, "signature": signature}
