"""One shape for inbound mail, whichever way it arrived.

- SendGrid Inbound Parse, parsed: fields `from`, `to`, `cc`, `subject`, `text`, `html`,
  `headers` (the raw header block), `envelope` (JSON), `SPF`, `dkim`, `charsets` (JSON),
  files `attachment1…` described by `attachment-info` (JSON).
- SendGrid, raw ("Send Raw"): the whole message in the field `email`, with the same checks.
- Mailgun routes, parsed: `sender` (envelope), `from`, `recipient`, `subject`, `body-plain`,
  `stripped-text`, `body-html`, `message-headers` (JSON pairs; Message-Id, In-Reply-To,
  References may also come as fields), files `attachment-1…`; raw: the field `body-mime`.
- A raw MIME message (`Content-Type: message/rfc822`) from an MTA.

Everything here is plain computation on bytes already read (run it off the event loop).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from email.policy import default as default_policy
from email.utils import getaddresses
from typing import Any, Final

from bot.attachments.files import AttachmentRefused, Attachments, media_type
from bot.qualifier.normalize.contact import normalize_email
from bot.qualifier.normalize.results import Parsed
from channels.email_auth import (
    AuthResults,
    Verdict,
    dkim_signing_domains,
    domain_of,
    judge,
    parse_authentication_results,
    parse_sendgrid_dkim,
    spf_word,
)
from channels.email_html import html_to_text
from channels.email_reply import fresh_text
from channels.email_request import BadPayload, FilePart, FormPost, RawPost

_MSG_ID: Final = re.compile(r"<[^<>\s]+>")
_HEADER_NAME: Final = re.compile(r"[!-9;-~]+")
_MAILGUN_FIELDS: Final = frozenset(
    {"sender", "recipient", "body-plain", "stripped-text", "body-mime", "message-headers"}
)
_SENDGRID_FIELDS: Final = frozenset({"headers", "text", "html", "envelope", "charsets", "email"})
# Header-like fields Mailgun may post on their own, besides `message-headers`.
_MAILGUN_HEADER_FIELDS: Final = (
    "Message-Id", "In-Reply-To", "References", "Date", "To", "Cc", "X-Mailgun-Spf",
    "X-Mailgun-Dkim-Check-Result", "Auto-Submitted", "Precedence", "List-Id",
)  # fmt: skip
_RECIPIENT_HEADERS: Final = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass(frozen=True)
class Attachment:
    name: str
    type: str
    size: int
    data: bytes | None = field(default=None, repr=False)  # kept within the attachment limits
    refused: str | None = None  # why its bytes were not kept

    def as_meta(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "size": self.size}


@dataclass(frozen=True)
class InboundEmail:
    provider: str  # sendgrid, mailgun or mime
    sender: str  # the From address, normalised like the bot normalises emails
    from_header: str
    recipients: tuple[str, ...]  # every address it was delivered to, lower-cased
    subject: str
    body: str  # the whole plain text (made from the HTML when there is no text part)
    fresh: str  # what the sender just wrote: no quoted history, no signature
    message_id: str  # "<…>"; made up from the content when the mail has none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    auth: Verdict
    attachments: tuple[Attachment, ...]
    automatic: str | None  # why this is an auto-reply, a bounce or list mail; None for a person's


@dataclass
class _Parts:
    """What a provider's payload says, before it is judged and normalised."""

    provider: str
    headers: Message
    from_value: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str | None = None
    text: str = ""
    html: str = ""
    stripped: str | None = None  # the provider's own fresh text (Mailgun's stripped-text)
    attachments: list[Attachment] = field(default_factory=list)
    auth: AuthResults | None = None
    envelope_from: str | None = None  # MAIL FROM; "" for a bounce's null sender


# -- headers ---------------------------------------------------------------------------


def _header(headers: Message, name: str) -> str:
    try:
        value = headers.get(name)
    except Exception:  # a header too broken to decode is treated as absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _headers_all(headers: Message, name: str) -> list[str]:
    try:
        return [" ".join(str(v).split()) for v in headers.get_all(name) or []]
    except Exception:
        return []


def _header_block(text: str) -> Message:
    return Parser(policy=default_policy).parsestr(text.lstrip(), headersonly=True)


def _headers_from_pairs(pairs: Iterable[tuple[str, str]]) -> Message:
    lines = [
        f"{name}: {' '.join(str(value).split())}"
        for name, value in pairs
        if isinstance(name, str) and _HEADER_NAME.fullmatch(name)
    ]
    return _header_block("\n".join(lines) + "\n\n")


def _msg_ids(value: str) -> tuple[str, ...]:
    found = _MSG_ID.findall(value)
    if not found and "@" in value and " " not in value.strip():
        found = [f"<{value.strip()}>"]  # some providers drop the angle brackets
    return tuple(found)


def _addresses(values: Iterable[str]) -> list[str]:
    return [address.lower() for _, address in getaddresses(list(values)) if "@" in address]


def _automatic(headers: Message, envelope_from: str | None, sender: str) -> str | None:
    """RFC 3834 and common practice: mail no person wrote, which the bot must not answer."""
    auto = _header(headers, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(headers, name):
            return f"{name} header"
    precedence = _header(headers, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if _header(headers, "List-Id"):
        return "mailing-list mail (List-Id)"
    if sender.partition("@")[0] in ("mailer-daemon", "postmaster"):
        return "a delivery report"
    if envelope_from == "" or _header(headers, "Return-Path") == "<>":
        return "a bounce (empty return path)"
    return None


def _header_auth(headers: Message) -> AuthResults:
    """The receiving MTA's verdicts: the topmost Authentication-Results (or Received-SPF)."""
    found = _headers_all(headers, "Authentication-Results")
    results = parse_authentication_results(found[0]) if found else AuthResults()
    if results.spf == "none":
        received = _headers_all(headers, "Received-SPF")
        if received:
            results.spf = spf_word(received[0])
            match = re.search(r"envelope-from=\"?([^\s;\"]+)", received[0], re.IGNORECASE)
            results.spf_domain = domain_of(match.group(1)) if match else None
    return results


def _mailgun_auth(headers: Message, sender: str | None) -> AuthResults:
    spf = _header(headers, "X-Mailgun-Spf")
    dkim = _header(headers, "X-Mailgun-Dkim-Check-Result")
    if not spf and not dkim:
        return _header_auth(headers)
    dkim_result = spf_word(dkim)
    # Mailgun does not say which signature passed: credit a domain only when every
    # signature is from that one domain.
    domains = set(dkim_signing_domains(_headers_all(headers, "DKIM-Signature")))
    signer = domains.pop() if len(domains) == 1 else None
    return AuthResults(
        spf=spf_word(spf),
        spf_domain=domain_of(sender),
        dkim=[(signer, dkim_result)] if dkim else [],
    )


# -- form fields -----------------------------------------------------------------------


class _Fields:
    """Form fields decoded with the charsets SendGrid reports (UTF-8 otherwise)."""

    def __init__(self, post: FormPost) -> None:
        self.post = post
        self.charsets: dict[str, str] = {}
        loaded = self.json("charsets")
        if isinstance(loaded, dict):
            self.charsets = {str(k): str(v) for k, v in loaded.items()}

    def __contains__(self, name: str) -> bool:
        return name in self.post.fields

    def get(self, name: str) -> str | None:
        raw = self.post.fields.get(name)
        if raw is None:
            return None
        try:
            return raw.decode(self.charsets.get(name, "utf-8"), "replace")
        except LookupError:  # a charset Python does not know
            return raw.decode("utf-8", "replace")

    def text(self, name: str) -> str:
        return self.get(name) or ""

    def json(self, name: str) -> Any:
        raw = self.post.fields.get(name)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise BadPayload(f"the field {name!r} must be JSON") from None

    def raw(self, name: str) -> bytes:
        return self.post.fields.get(name, b"")


def _file_attachments(files: list[FilePart], info: Mapping[str, Any] | None = None) -> list[Attachment]:
    out = []
    for part in files:
        described = (info or {}).get(part.field)
        described = described if isinstance(described, dict) else {}
        name = str(described.get("filename") or part.filename or part.field)
        kind = str(described.get("type") or part.content_type)
        out.append(Attachment(name, kind, part.size, part.data, part.refused))
    return out


def _sendgrid(fields: _Fields, post: FormPost, limits: Attachments | None) -> _Parts:
    envelope = fields.json("envelope")
    envelope = envelope if isinstance(envelope, dict) else {}
    envelope_to = envelope.get("to") or []
    envelope_from = envelope.get("from")
    if "email" in fields:  # "Send Raw": the whole message, with SendGrid's checks beside it
        parts = _mime(fields.raw("email"), "sendgrid", limits)
    else:
        info = fields.json("attachment-info")
        parts = _Parts(
            provider="sendgrid",
            headers=_header_block(fields.text("headers") + "\n\n"),
            text=fields.text("text"),
            html=fields.text("html"),
            attachments=_file_attachments(post.files, info if isinstance(info, dict) else None),
        )
        parts.from_value = fields.text("from") or _header(parts.headers, "From")
        parts.subject = fields.get("subject")
        parts.recipients = [fields.text("to"), fields.text("cc"), *_recipient_headers(parts.headers)]
    parts.recipients += [str(a) for a in envelope_to] if isinstance(envelope_to, list) else [str(envelope_to)]
    if isinstance(envelope_from, str):
        parts.envelope_from = envelope_from
    if "SPF" in fields or "dkim" in fields:
        parts.auth = AuthResults(
            spf=spf_word(fields.get("SPF")),
            spf_domain=domain_of(envelope_from if isinstance(envelope_from, str) else None),
            dkim=parse_sendgrid_dkim(fields.text("dkim")),
        )
    return parts


def _mailgun(fields: _Fields, post: FormPost, limits: Attachments | None) -> _Parts:
    sender = fields.get("sender")
    if "body-mime" in fields:
        parts = _mime(fields.raw("body-mime"), "mailgun", limits)
    else:
        pairs: list[tuple[str, str]] = []
        listed = fields.json("message-headers")
        if isinstance(listed, list):
            pairs = [(str(p[0]), str(p[1])) for p in listed if isinstance(p, list | tuple) and len(p) == 2]
        named = {name.lower() for name, _ in pairs}
        pairs += [
            (n, fields.text(n)) for n in _MAILGUN_HEADER_FIELDS if n in fields and n.lower() not in named
        ]
        headers = _headers_from_pairs(pairs)
        parts = _Parts(
            provider="mailgun",
            headers=headers,
            from_value=fields.text("from") or _header(headers, "From"),
            subject=fields.get("subject"),
            text=fields.text("body-plain"),
            html=fields.text("body-html"),
            stripped=fields.get("stripped-text"),
            attachments=_file_attachments(post.files),
            recipients=_recipient_headers(headers),
        )
    parts.recipients += fields.text("recipient").split(",")
    parts.envelope_from = sender
    parts.auth = _mailgun_auth(parts.headers, sender or _header(parts.headers, "Return-Path"))
    return parts


# -- MIME ------------------------------------------------------------------------------


def _recipient_headers(headers: Message) -> list[str]:
    return [value for name in _RECIPIENT_HEADERS for value in _headers_all(headers, name)]


def _content(part: Message | None) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        return content if isinstance(content, str) else ""
    except (LookupError, ValueError, AssertionError, AttributeError):  # unknown charset, bad encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _kept(limits: Attachments | None, kind: str, payload: Any) -> tuple[bytes | None, str | None]:
    """(the bytes, None) for a file the limits allow; (None, why) for one they refuse."""
    if limits is None:
        return None, "attachments are not stored"
    if not isinstance(payload, bytes):
        return None, "its content could not be decoded"
    try:
        limits.check(media_type(kind), len(payload))
    except AttachmentRefused as exc:
        return None, str(exc)
    return payload, None


def _mime_attachments(message: EmailMessage, limits: Attachments | None) -> list[Attachment]:
    out = []
    try:
        for part in message.iter_attachments():
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else len(part.as_bytes())
            name = part.get_filename() or "(unnamed)"
            kind = part.get_content_type()
            data, refused = _kept(limits, kind, payload)
            out.append(Attachment(name, kind, size, data, refused))
    except Exception:  # a malformed part: keep what was read, the text still counts
        pass
    return out


def _mime(raw: bytes, provider: str, limits: Attachments | None) -> _Parts:
    if not raw.strip():
        raise BadPayload("the raw MIME message is empty")
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
    return _Parts(
        provider=provider,
        headers=message,
        from_value=_header(message, "From"),
        recipients=_recipient_headers(message),
        subject=_header(message, "Subject"),
        text=_content(message.get_body(preferencelist=("plain",))),
        html=_content(message.get_body(preferencelist=("html",))),
        attachments=_mime_attachments(message, limits),
    )


# -- the one shape ---------------------------------------------------------------------


def _made_up_id(sender: str, parts: _Parts, body: str) -> str:
    """A stable id for mail without a Message-ID, so a provider's retry is still a duplicate."""
    seed = "\n".join([sender, parts.subject or "", _header(parts.headers, "Date"), body])
    return f"<{hashlib.sha256(seed.encode()).hexdigest()[:40]}@no-message-id.invalid>"


def _assemble(parts: _Parts) -> InboundEmail:
    from_value = " ".join(parts.from_value.split())
    if not from_value:
        raise BadPayload("the mail has no From address")
    named = getaddresses([from_value])
    address = named[0][1] if named else ""
    normalised = normalize_email(address) if "@" in address else None
    if not isinstance(normalised, Parsed):
        raise BadPayload(f"the From address {from_value[:200]!r} is not a valid email address")
    sender = str(normalised.value)
    body = parts.text if parts.text.strip() else html_to_text(parts.html) if parts.html else ""
    # Mailgun's own stripping first, when it left something; ours runs on it as well.
    fresh = fresh_text(parts.stripped if parts.stripped and parts.stripped.strip() else body)
    message_ids = _msg_ids(_header(parts.headers, "Message-ID"))
    subject = parts.subject if parts.subject is not None else _header(parts.headers, "Subject")
    auth = judge(parts.auth or _header_auth(parts.headers), sender.rpartition("@")[2])
    return InboundEmail(
        provider=parts.provider,
        sender=sender,
        from_header=from_value,
        recipients=tuple(dict.fromkeys(_addresses(parts.recipients))),
        subject=" ".join(subject.split()),
        body=body.strip(),
        fresh=fresh,
        message_id=message_ids[0] if message_ids else _made_up_id(sender, parts, body),
        in_reply_to=_msg_ids(_header(parts.headers, "In-Reply-To")),
        references=_msg_ids(_header(parts.headers, "References")),
        auth=auth,
        attachments=tuple(parts.attachments),
        automatic=_automatic(parts.headers, parts.envelope_from, sender),
    )


def parse_post(post: FormPost | RawPost, limits: Attachments | None = None) -> InboundEmail:
    """The mail in a provider's POST; BadPayload when it is not one. Attached files keep their
    bytes when `limits` allow them (see `Attachment.refused` for the others)."""
    if isinstance(post, RawPost):
        return _assemble(_mime(post.mime, "mime", limits))
    fields = _Fields(post)
    names = set(post.fields)
    if names & _MAILGUN_FIELDS:
        return _assemble(_mailgun(fields, post, limits))
    if names & _SENDGRID_FIELDS or "from" in names:
        return _assemble(_sendgrid(fields, post, limits))
    raise BadPayload(
        "not an inbound mail: expected SendGrid Inbound Parse fields (from, headers, text …), "
        "Mailgun's (sender, body-plain …), or a raw MIME message"
    )
