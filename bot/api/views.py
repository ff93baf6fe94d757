"""JSON shapes of conversations, leads and messages (docs/api.md describes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.attachments.links import attachment_path
from bot.models import Attachment, Consent, Conversation, Conversion, Lead, Message, utcnow
from channels.twilio_window import WHATSAPP, window_closes_at, window_open


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """For agents: the plain path, which their session or token opens (visitors get signed links)."""
    return {**attachment.model_dump(), "url": attachment_path(attachment.id)}


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "from": message.sender,
        "text": message.text,
        "expects": message.expects.model_dump() if message.expects else None,
        "author": message.author,
        "agent_id": message.agent_id,
        "private": message.private,
        "delivery": message.delivery,
        "delivery_error": message.delivery_error,
        # Channel facts: an email's subject, threading, SPF/DKIM verdict ("auth": {"suspicious": …}).
        "meta": message.meta,
        "attachments": [attachment_json(a) for a in message.attachments],
        "created_at": message.created_at.isoformat(),
    }


def consent_json(consent: Consent | None) -> dict[str, Any] | None:
    """What the visitor accepted in the widget (docs/privacy.md): the text word for word, when."""
    if consent is None:
        return None
    return {
        "given": consent.given,
        "at": consent.at.isoformat(),
        "text": consent.text,
        "flow": {"id": consent.flow.id, "version": consent.flow.version},
        "conversation_id": consent.conversation_id,
    }


def conversion_json(conversion: Conversion | None) -> dict[str, Any] | None:
    if conversion is None:
        return None
    return {**conversion.model_dump(exclude={"at"}), "at": conversion.at.isoformat()}


def lead_json(lead: Lead, slot_names: list[str] | None = None) -> dict[str, Any]:
    """Slots at the top level (every slot of the flow, null when unknown), then the score."""
    slots = {name: None for name in slot_names or []}
    slots.update(lead.slots)
    return {
        "id": lead.id,
        **slots,
        "score": lead.score,
        "grade": lead.grade,
        "temperature": lead.temperature,
        "status": lead.status,
        "score_reasons": lead.score_reasons,
        "status_history": [
            {"status": c.status, "at": c.at.isoformat(), "reason": c.reason} for c in lead.status_history
        ],
        # Changes of score outside a turn (score decay, docs/nurture.md), each with its reason.
        "score_history": [
            {"score": c.score, "at": c.at.isoformat(), "reason": c.reason} for c in lead.score_history
        ],
        "skipped": lead.skipped,
        "details": lead.details,
        "conversation_ids": lead.conversation_ids,
        "variants": lead.variants,
        # How it ended (bot/attribution): {outcome, value, currency, reason, at, by} or null.
        "conversion": conversion_json(lead.conversion),
        "contact_given_at": lead.contact_given_at.isoformat() if lead.contact_given_at else None,
        "consent": consent_json(lead.consent),
        "merged_ids": lead.merged_ids,
        "created_at": lead.created_at.isoformat(),
        "updated_at": lead.updated_at.isoformat(),
    }


def whatsapp_window_json(conv: Conversation, now: datetime) -> dict[str, Any]:
    """Whether free text may go to the lead now; outside the window replies go as a template."""
    closes_at = window_closes_at(conv)
    return {"open": window_open(conv, now), "closes_at": closes_at.isoformat() if closes_at else None}


def conversation_json(
    conv: Conversation,
    lead: Lead | None = None,
    messages: list[Message] | None = None,
    slot_names: list[str] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": conv.id,
        "channel": conv.channel,
        "mode": conv.mode,
        "handoff_reason": conv.handoff_reason,
        "flow": {"id": conv.flow.id, "version": conv.flow.version},
        "lead_id": conv.lead_id,
        "opted_out": conv.opted_out,
        "team": conv.team,
        "routing_reasons": conv.routing_reasons,
        "queued_at": conv.queued_at.isoformat() if conv.queued_at else None,
        "agent_id": conv.agent_id,
        "outcome": conv.outcome,
        "outcome_value": conv.outcome_value,
        "variants": conv.variants,
        "consent": consent_json(conv.consent),
        "last_seq": conv.last_seq,
        "created_at": conv.created_at.isoformat(),
        "updated_at": conv.updated_at.isoformat(),
    }
    if conv.llm:
        out["llm"] = conv.llm
    if conv.summary:
        out["summary"] = conv.summary
    if conv.channel == WHATSAPP:
        out["whatsapp_window"] = whatsapp_window_json(conv, now or utcnow())
    if lead is not None:
        out["lead"] = lead_json(lead, slot_names)
    if messages is not None:
        out["messages"] = [message_json(m) for m in messages]
    return out
