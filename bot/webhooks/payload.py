"""The `leadbot` body of a lead event: our own JSON, and the source every mapping reads from.

    {"id": <event id>, "kind": "lead.qualified", "occurred_at": "2025-01-06T09:00:00+00:00",
     "lead": {"id", "slots", "skipped", "score", "grade", "temperature", "score_reasons",
              "status", "conversion", "created_at", "updated_at"},
     "conversation": {"id", "channel", "mode", "handoff_reason", "team", "agent_id", "outcome",
                      "outcome_value", "summary", "flow", "created_at"} or null,
     "details": {...}}

Override paths (`lead.slots.company`, `conversation.channel`, `details.value`) are paths into
this document. docs/webhooks.md shows it in full.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from bot.lead_events import LeadEvent
from bot.models import Conversation, Lead

# The top-level names of the document, which is also what an override's source path starts with.
ROOTS: Final = ("id", "kind", "occurred_at", "lead", "conversation", "details")


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def lead_part(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "slots": dict(lead.slots),
        "skipped": list(lead.skipped),
        "score": lead.score,
        "grade": lead.grade,
        "temperature": lead.temperature,
        "score_reasons": list(lead.score_reasons),
        "status": lead.status,
        # How the lead ended, once an agent or the API recorded it (bot/attribution).
        "conversion": lead.conversion.model_dump(mode="json") if lead.conversion is not None else None,
        "created_at": _iso(lead.created_at),
        "updated_at": _iso(lead.updated_at),
    }


def conversation_part(conv: Conversation) -> dict[str, Any]:
    """What a CRM needs to know of the conversation: no messages, no visitor token."""
    return {
        "id": conv.id,
        "channel": conv.channel,
        "mode": conv.mode,
        "handoff_reason": conv.handoff_reason,
        "team": conv.team,
        "agent_id": conv.agent_id,
        "outcome": conv.outcome,
        "outcome_value": conv.outcome_value,
        "summary": conv.summary,
        "flow": {"id": conv.flow.id, "version": conv.flow.version},
        "created_at": _iso(conv.created_at),
    }


def _plain(value: Any) -> Any:
    """Details as JSON: datetimes as ISO text, containers copied, anything else as text."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def event_document(event_id: str, event: LeadEvent) -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": event.kind,
        "occurred_at": _iso(event.at),
        "lead": lead_part(event.lead),
        "conversation": conversation_part(event.conversation) if event.conversation is not None else None,
        "details": _plain(dict(event.details)),
    }
