"""`POST /channels/email/inbound`: mail from SendGrid, Mailgun or an MTA into a conversation.

1. Who may post: the URL key or Mailgun's signature (email_signing.py) — else 403.
2. What was posted: read and parsed off the loop (email_request.py, email_parse.py) — a
   body that is not mail is 400 (413 too big, 415 not a mail format), nothing stored.
3. Mail no person wrote (auto-replies, bounces, list mail) and our own mail coming back
   are acknowledged and dropped: answering them could loop. The one exception is the mail
   our List-Unsubscribe link writes: that is the lead's request, whoever generated it.
4. Where it goes: a suspicious mail (failed SPF/DKIM, or nothing vouching for its From
   domain) to a conversation of its own, its lead not seeded with the address; otherwise
   the conversation of the plus-address token, else of a Message-ID it replies to (never a
   flagged one), else the sender's (opened on first mail, its lead seeded with the address,
   so it joins the lead that already has it).
5. The fresh text (no quoted history, no signature) is what the bot reads; the whole body,
   the threading headers, the auth results and the attachments' facts stay in the meta.
6. Attached files of an allowed type within the size limit (their bytes are held only for
   those, while the request is read) are stored as the message's attachments once it is
   recorded — for a suspicious mail too, as evidence; a duplicate stores nothing. The others
   are listed in `meta.attachments_skipped` with the reason.

Answered 200 with JSON, also for a duplicate (a provider's retry): providers retry
anything else.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from aiohttp import web

from bot import keys
from bot.api.errors import json_error
from bot.attachments.files import AttachmentRefused
from bot.bus import AttachmentsAdded
from bot.models import Attachment, Message
from bot.settings import EmailSettings
from channels.email_addresses import contact_for, is_ours, is_unverified, token_in
from channels.email_outbound import is_reply_subject
from channels.email_parse import InboundEmail, parse_post
from channels.email_request import BadPayload, FormPost, RawPost, read_post
from channels.email_signing import NotAllowed, check_mailgun, check_url_key
from channels.email_threads import EMAIL_THREADS, EmailThreads

log = logging.getLogger(__name__)

# The whole body is kept for the inbox up to this size; a longer one is cut and marked.
MAX_ORIGINAL_CHARS: Final = 100_000


def _settings(request: web.Request) -> EmailSettings:
    settings = request.app[keys.SETTINGS].email
    assert settings is not None  # the route exists only when email is configured
    return settings


def _vouched_by_url(request: web.Request, settings: EmailSettings) -> bool:
    """True when the URL key (or development mode) admits the request; False when the body's
    Mailgun signature must decide. NotAllowed when nothing can admit it."""
    given = request.query.get("key")
    if given is not None:
        check_url_key(settings.inbound_key, given)
        return True
    if settings.mailgun_signing_key:
        return False
    if settings.inbound_key:
        raise NotAllowed(
            "the inbound key is missing: post to /channels/email/inbound?key=<LEADBOT_EMAIL_INBOUND_KEY>"
        )
    if settings.inbound_insecure:
        return True
    raise NotAllowed(
        "inbound mail is not configured: set LEADBOT_EMAIL_INBOUND_KEY (SendGrid, ?key=) or "
        "LEADBOT_MAILGUN_SIGNING_KEY (Mailgun); LEADBOT_EMAIL_INBOUND_INSECURE=true is for development only"
    )


def _check_signature(request: web.Request, settings: EmailSettings, post: FormPost | RawPost) -> None:
    assert settings.mailgun_signing_key is not None
    fields = post.fields if isinstance(post, FormPost) else {}

    def field(name: str) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    now = request.app[keys.CLOCK]()
    check_mailgun(settings.mailgun_signing_key, field("timestamp"), field("token"), field("signature"), now)


def is_unsubscribe(email: InboundEmail) -> bool:
    """The mail our List-Unsubscribe link writes (subject "unsubscribe"), whatever the mail
    client put in its body or headers: it is the lead's own request."""
    return email.subject.strip().lower() == "unsubscribe"


def bot_text(email: InboundEmail, max_chars: int) -> str:
    """What the bot reads: the fresh text; for a mail with no text of its own, a first
    mail's subject."""
    if is_unsubscribe(email):
        return "unsubscribe"
    text = email.fresh
    if not text and email.subject and not is_reply_subject(email.subject):
        text = email.subject
    return text[:max_chars]


def message_meta(email: InboundEmail, routed_by: str) -> dict[str, Any]:
    original = email.body
    meta: dict[str, Any] = {
        "provider": email.provider,
        "message_id": email.message_id,
        "in_reply_to": list(email.in_reply_to),
        "references": list(email.references),
        "subject": email.subject,
        "from": email.from_header,
        "to": list(email.recipients),
        "routed_by": routed_by,
        "original": original[:MAX_ORIGINAL_CHARS],
        "attachments": [a.as_meta() for a in email.attachments],
    }
    if len(original) > MAX_ORIGINAL_CHARS:
        meta["original_truncated"] = True
    return {"email": meta, "auth": email.auth.as_meta()}


async def _route(
    request: web.Request, threads: EmailThreads, email: InboundEmail, settings: EmailSettings
) -> tuple[str, dict[str, str], str]:
    """(contact, lead slots, how it was routed) for the conversation the mail belongs to."""
    if email.auth.suspicious:
        return contact_for(email.sender, verified=False), {}, "unverified"
    conv_id: str | None = None
    routed_by = "sender"
    token = token_in(email.recipients, settings)
    if token is not None:
        conv_id, routed_by = await threads.conversation_for_token(token), "token"
    if conv_id is None:
        replied_to = [*reversed(email.in_reply_to), *reversed(email.references)]
        conv_id, routed_by = await threads.conversation_for_thread(replied_to), "thread"
    if conv_id is not None:
        conv = await request.app[keys.STORE].get_conversation(conv_id)
        # A genuine mail never joins a flagged conversation: its sender's own is the right place.
        if conv.channel == "email" and conv.contact is not None and not is_unverified(conv.contact):
            return conv.contact, {}, routed_by
    return contact_for(email.sender, verified=True), {"email": email.sender}, "sender"


async def _store_attachments(request: web.Request, message: Message, email: InboundEmail) -> None:
    """Save the files kept while reading, list them on the message, and tell the inbox."""
    files = request.app[keys.ATTACHMENTS]
    kept: list[Attachment] = []
    skipped: list[dict[str, Any]] = []
    for attached in email.attachments:
        reason = attached.refused
        if attached.data is not None:
            try:
                kept.append(
                    await files.save(
                        message.conversation_id,
                        filename=attached.name,
                        content_type=attached.type,
                        data=attached.data,
                    )
                )
                continue
            except AttachmentRefused as exc:  # e.g. attachment-info named another type
                reason = str(exc)
        skipped.append({**attached.as_meta(), "reason": reason})
    notes = {"attachments_skipped": skipped} if skipped else None
    updated = await request.app[keys.STORE].add_attachments(message.id, kept, notes)
    request.app[keys.BUS].publish(AttachmentsAdded(updated))


async def inbound_mail(request: web.Request) -> web.Response:
    settings = _settings(request)
    try:
        vouched = _vouched_by_url(request, settings)
        limits = request.app[keys.ATTACHMENTS]
        post = await read_post(request, limits)
        if not vouched:
            _check_signature(request, settings, post)
        email = await asyncio.to_thread(parse_post, post, limits)
    except NotAllowed as exc:
        return json_error(403, str(exc))
    except BadPayload as exc:
        return json_error(exc.status, exc.message)

    automatic = email.automatic if not is_unsubscribe(email) else None
    if automatic is not None or is_ours(email.sender, settings):
        reason = automatic or "mail from our own address"
        log.info("inbound mail %s from %s not answered: %s", email.message_id, email.sender, reason)
        return web.json_response({"ignored": reason, "message_id": email.message_id})

    threads = request.app[EMAIL_THREADS]
    contact, slots, routed_by = await _route(request, threads, email, settings)
    app_settings = request.app[keys.SETTINGS]
    conv, message, is_new = await request.app[keys.CONVERSATIONS].receive_from_contact(
        "email",
        contact,
        text=bot_text(email, app_settings.max_message_chars),
        provider_id=email.message_id,
        lead_slots=slots,
        meta=message_meta(email, routed_by),
    )
    await threads.remember(email.message_id, conv.id)
    if is_new and email.attachments:
        await _store_attachments(request, message, email)
    if email.auth.suspicious:
        log.warning(
            "suspicious mail %s from %s: %s", email.message_id, email.sender, "; ".join(email.auth.reasons)
        )
    return web.json_response(
        {
            "conversation_id": conv.id,
            "seq": message.seq,
            "duplicate": not is_new,
            "routed_by": routed_by,
            "suspicious": email.auth.suspicious,
        }
    )
