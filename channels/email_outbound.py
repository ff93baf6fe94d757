"""Outbound mail: the reply rendered from templates, threaded, and handed to SMTP.

Every mail gets a fresh, unguessable Message-ID (it also routes replies: email_threads.py).
A reply to the lead's mail says `In-Reply-To` and `References` (from the inbound
message's meta) and `Subject: Re: …`; `Reply-To` is the conversation's plus-address.
Bodies are multipart/alternative, text and HTML, from bot/templates/email/; a message's
attachments go as parts of a multipart/mixed around them.
"""

from __future__ import annotations

import re
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Final

import aiosmtplib
import jinja2

import bot.templates
from bot.attachments.files import StoredFile
from bot.models import Message
from bot.settings import EmailSettings
from bot.store import Store

TEMPLATES_DIR: Final = Path(bot.templates.__file__).resolve().parent / "email"
SMTP_TIMEOUT_SECONDS: Final = 30.0
# References keeps the thread's first id and the latest ones: enough for every client.
MAX_REFERENCES: Final = 20
_REPLY_PREFIX: Final = re.compile(r"^(?:re|aw|sv|antw|réf|rif|odp)\s*:", re.IGNORECASE)
_SCAN_WINDOW: Final = 50


@dataclass(frozen=True)
class Thread:
    """The lead's last mail before a reply: what the reply threads under."""

    subject: str = ""
    message_id: str | None = None
    references: tuple[str, ...] = ()

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Thread:
        email = meta.get("email")
        if not isinstance(email, dict):
            return cls()
        references = email.get("references")
        return cls(
            subject=str(email.get("subject") or ""),
            message_id=str(email["message_id"]) if email.get("message_id") else None,
            references=tuple(str(r) for r in references) if isinstance(references, list) else (),
        )

    def references_for_reply(self) -> tuple[str, ...]:
        chain = [*self.references, *([self.message_id] if self.message_id else [])]
        chain = list(dict.fromkeys(chain))
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        return tuple(chain)


async def last_thread(store: Store, conv_id: str, before_seq: int) -> Thread:
    """The latest inbound mail of the conversation before `before_seq`, scanning back."""
    high = before_seq - 1
    while high >= 1:
        low = max(0, high - _SCAN_WINDOW)
        batch = await store.messages_after(conv_id, low, limit=high - low)
        for message in reversed(batch):
            if message.seq <= high and message.sender == "visitor" and "email" in message.meta:
                return Thread.from_meta(message.meta)
        high = low
    return Thread()


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject.strip()))


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())[:200]
    if not subject:
        return "Re: your message"
    return subject if is_reply_subject(subject) else f"Re: {subject}"


def new_message_id(domain: str) -> str:
    # Random, not make_msgid's time and pid: the id routes replies, so it must not be guessable.
    return f"<{secrets.token_urlsafe(18)}@{domain}>"


def paragraphs(text: str) -> list[list[str]]:
    return [block.split("\n") for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


class ReplyTemplates:
    """bot/templates/email/reply.txt and reply.html, loaded once (no file reads while serving)."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            # HTML escapes everything it prints (message text is untrusted); plain text must not.
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._text = env.get_template("reply.txt")
        self._html = env.get_template("reply.html")

    def render(self, *, text: str, subject: str, signature: str | None) -> tuple[str, str]:
        context = {"paragraphs": paragraphs(text), "subject": subject, "signature": signature}
        return self._text.render(**context), self._html.render(**context)


def _signature(settings: EmailSettings, message: Message) -> str | None:
    if message.sender == "agent" and message.author:
        return f"{message.author}, {settings.from_name}" if settings.from_name else message.author
    return settings.from_name or None


def compose(
    settings: EmailSettings,
    templates: ReplyTemplates,
    *,
    to: str,
    message: Message,
    thread: Thread,
    reply_to: str,
    message_id: str,
    now: datetime,
    files: Sequence[StoredFile] = (),
) -> EmailMessage:
    subject = reply_subject(thread.subject)
    text, html = templates.render(text=message.text, subject=subject, signature=_signature(settings, message))
    mail = EmailMessage()
    mail["Message-ID"] = message_id
    mail["Date"] = format_datetime(now)
    mail["From"] = formataddr((settings.from_name, settings.from_address))
    mail["To"] = to
    mail["Reply-To"] = formataddr((settings.from_name, reply_to))
    mail["Subject"] = subject
    if thread.message_id:
        mail["In-Reply-To"] = thread.message_id
        mail["References"] = " ".join(thread.references_for_reply())
    if message.sender == "bot":
        # RFC 3834: autoresponders must not answer it. A follow-up answers nothing the lead wrote:
        # it is generated, not a reply.
        mail["Auto-Submitted"] = "auto-generated" if "follow_up" in message.meta else "auto-replied"
    # One-click unsubscribe lands in the conversation as "unsubscribe", which the bot honours.
    mail["List-Unsubscribe"] = f"<mailto:{reply_to}?subject=unsubscribe>"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    for file in files:  # the message's attachments: the body becomes multipart/mixed
        maintype, subtype = file.attachment.content_type.split("/", 1)
        mail.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.attachment.filename)
    return mail


class SmtpSender:
    """Sends through the configured SMTP server, one connection per mail."""

    def __init__(self, settings: EmailSettings) -> None:
        self._settings = settings
        # Built once here: loading the CA bundle reads files, which must not happen on the loop.
        self._tls = ssl.create_default_context() if settings.smtp_starttls else None

    async def send(self, mail: EmailMessage, recipient: str) -> None:
        s = self._settings
        await aiosmtplib.send(
            mail,
            sender=s.from_address,
            recipients=[recipient],
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            tls_context=self._tls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
