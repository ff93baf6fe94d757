"""Inbound SMS and WhatsApp: `POST /channels/twilio/sms` and `POST /channels/twilio/whatsapp`.

Acknowledge fast: check the signature, store the message once per MessageSid (a unique index,
so Twilio's retries and concurrent duplicates are ignored, across processes too), answer with
empty TwiML. The bot's turn runs afterwards as a background job and replies through the REST
API (channels/twilio_send.py), not in the TwiML.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from aiohttp import web
from multidict import MultiDict

from bot import keys
from channels.twilio_media import TwilioMedia
from channels.twilio_signature import SignatureRefused, verify_signature
from channels.twilio_window import WHATSAPP

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FORM = "application/x-www-form-urlencoded"
MAX_MEDIA = 10  # Twilio sends at most ten attachments with one message

Form = MultiDict[str]


class BadWebhook(Exception):
    """A request we cannot use; `status` and the text go back to the caller as JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def webhook_error(exc: BadWebhook) -> web.Response:
    body = {"error": exc.code, "message": str(exc)}
    return web.Response(status=exc.status, text=json.dumps(body), content_type="application/json")


async def signed_form(request: web.Request) -> Form:
    """The form Twilio posted, once its signature checks out against the URL it called."""
    if request.content_type != FORM:
        raise BadWebhook(
            415, "unsupported_media_type", f"Twilio webhooks are {FORM}, not {request.content_type}"
        )
    form: Form = MultiDict()
    for name, value in (await request.post()).items():
        if isinstance(value, str):  # always, in a url-encoded body (files come only in multipart)
            form.add(name, value)
    try:
        verify_signature(request, form)
    except SignatureRefused as exc:
        raise BadWebhook(403, "bad_signature", str(exc)) from None
    return form


def required(form: Form, name: str, *older_names: str) -> str:
    """The field's value; Twilio's older spellings of it count too."""
    for candidate in (name, *older_names):
        value = form.get(candidate, "").strip()
        if value:
            return value
    raise BadWebhook(400, "bad_request", f"{name} is missing")


def contact_of(sender: str, medium: str) -> str:
    """The lead's number in E.164 from Twilio's `From` (`+1…`, or `whatsapp:+1…` on WhatsApp)."""
    number = sender
    if medium == WHATSAPP:
        if not sender.startswith("whatsapp:"):
            raise BadWebhook(
                400, "bad_request", f"From {sender!r} is not a WhatsApp address like whatsapp:+1…"
            )
        number = sender.removeprefix("whatsapp:")
    elif not sender.startswith("+"):
        # WhatsApp, Messenger … senders pointed at the SMS webhook by mistake land here too.
        raise BadWebhook(400, "bad_request", f"From {sender!r} is not a phone number like +14155550100")
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise BadWebhook(400, "bad_request", f"From {sender!r} is not a phone number like +14155550100")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def media_of(form: Form) -> list[dict[str, str]]:
    """Attachments as Twilio lists them (`NumMedia`, `MediaUrl<i>`, `MediaContentType<i>`)."""
    raw = form.get("NumMedia", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise BadWebhook(
            400, "bad_request", f"NumMedia must be a whole number from 0 to {MAX_MEDIA}, got {raw!r}"
        )
    media = []
    for i in range(int(raw)):
        url = required(form, f"MediaUrl{i}")
        media.append({"url": url, "content_type": form.get(f"MediaContentType{i}", "").strip()})
    return media


@dataclass(frozen=True)
class InboundText:
    sid: str
    contact: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def parse_inbound(form: Form, medium: str) -> InboundText:
    sid = required(form, "MessageSid", "SmsMessageSid")
    contact = contact_of(required(form, "From"), medium)
    meta: dict[str, Any] = {"to": form.get("To", "").strip()}
    media = media_of(form)
    if media:
        # Listed as Twilio sent them; their bytes are fetched after the ack (channels/twilio_media.py).
        meta["media"] = media
    if form.get("ProfileName"):
        meta["profile_name"] = form["ProfileName"].strip()
    return InboundText(sid=sid, contact=contact, text=form.get("Body", "").strip(), meta=meta)


def inbound_handler(
    medium: str, media: TwilioMedia
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def receive(request: web.Request) -> web.StreamResponse:
        try:
            inbound = parse_inbound(await signed_form(request), medium)
        except BadWebhook as exc:
            return webhook_error(exc)
        convs = request.app[keys.CONVERSATIONS]
        # A MessageSid seen before comes back not new: acknowledged the same way, and ignored.
        _, message, is_new = await convs.receive_from_contact(
            medium,
            inbound.contact,
            text=inbound.text,
            provider_id=inbound.sid,
            lead_slots={"phone": inbound.contact},
            meta=inbound.meta,
        )
        if is_new and inbound.meta.get("media"):
            # Fetched after the ack: Twilio waits for nobody's downloads (channels/twilio_media.py).
            await convs.background(media.keep(message, inbound.meta["media"]), f"media:{message.id}")
        return web.Response(text=EMPTY_TWIML, content_type="text/xml", charset="utf-8")

    return receive
