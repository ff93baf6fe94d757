"""How the inbox shows one conversation: a card in the lists, and the handoff package.

The package is what an agent reads before answering: why the bot handed off, the summary,
every slot of the flow as the bot understood it, the score with its reasons, and contacts.
Values are plain strings; the page renders every one of them as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from bot.api.views import whatsapp_window_json
from bot.auth.users import User
from bot.dispatch import Offer
from bot.flows import Flow
from bot.models import Conversation, Lead
from bot.qualifier.normalize import format_value
from bot.summary import summarize

REASONS: Final = {
    "requested": "The visitor asked for a person",
    "qualified": "Qualified: the lead reached the flow's score threshold",
    "not_understood": "The bot could not understand the visitor",
    "transferred": "Transferred by an agent",
}


def shown(flow: Flow, lead: Lead, name: str) -> str | None:
    """A slot's value as people read it ("$5,000 per month"), None when unknown."""
    value = lead.slots.get(name)
    if value is None:
        return None
    try:
        slot = flow.slot(name)
    except KeyError:
        return str(value)
    return format_value(slot, value, lead.details.get(name) or {})


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _agent(agent_id: str | None, names: Mapping[str, str]) -> dict[str, str] | None:
    if agent_id is None:
        return None
    return {"id": agent_id, "name": names.get(agent_id, "an agent who left")}


def offer_json(offer: Offer, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conversation_id": offer.conversation_id,
        "agent_id": offer.agent_id,
        "expires_at": offer.expires_at.isoformat(),
    }
    if names is not None:
        out["agent_name"] = names.get(offer.agent_id)
    return out


def lead_brief(flow: Flow, lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "name": shown(flow, lead, "name"),
        "company": shown(flow, lead, "company"),
        "email": lead.email,
        "phone": shown(flow, lead, "phone"),
        "score": lead.score,
        "grade": lead.grade,
        "temperature": lead.temperature,
        "status": lead.status,
    }


def card(
    conv: Conversation,
    lead: Lead,
    flow: Flow,
    *,
    names: Mapping[str, str],
    position: int | None = None,
    offer: Offer | None = None,
) -> dict[str, Any]:
    """One line of a list: who, how promising, why and how long it has waited."""
    return {
        "id": conv.id,
        "mode": conv.mode,
        "channel": conv.channel,
        "team": conv.team,
        "handoff_reason": conv.handoff_reason,
        "reason": REASONS.get(conv.handoff_reason or ""),
        "queued_at": _iso(conv.queued_at),
        "updated_at": conv.updated_at.isoformat(),
        "position": position,
        "agent": _agent(conv.agent_id, names),
        "offer": offer_json(offer, names) if offer is not None else None,
        "last_seq": conv.last_seq,
        "lead": lead_brief(flow, lead),
    }


def allowed_actions(conv: Conversation, user: User, offer: Offer | None) -> dict[str, bool]:
    """Which buttons the page offers. A mirror of `bot.ownership`'s guards for the page's sake
    only: the API decides, and a refusal there is shown as a notice."""
    admin = user.acts_as("admin")
    owns = conv.mode == "human" and (conv.agent_id == user.id or admin)
    return {
        "claim": conv.mode in ("pending_human", "bot"),
        "decline": offer is not None and offer.agent_id == user.id,
        "reply": owns and not conv.opted_out,
        "note": True,
        "release": owns,
        "transfer": owns or (admin and conv.mode == "pending_human"),
        "close": (conv.mode == "human" and conv.agent_id == user.id) or (admin and conv.mode != "closed"),
    }


def llm_use(totals: Mapping[str, Any]) -> dict[str, Any] | None:
    """What LLM mode spent on the conversation, for the agent's eye; None when it was not used."""
    if not totals:
        return None
    failures = totals.get("failures") or {}
    return {
        "turns": int(totals.get("turns", 0)),
        "tokens": int(totals.get("input_tokens", 0)) + int(totals.get("output_tokens", 0)),
        "cost_usd": round(float(totals.get("cost_usd", 0.0)), 6),
        "failures": int(sum(failures.values())),
    }


def handoff_package(
    conv: Conversation,
    lead: Lead,
    flow: Flow,
    *,
    user: User,
    names: Mapping[str, str],
    position: int | None,
    offer: Offer | None,
    now: datetime,
) -> dict[str, Any]:
    """Everything the agent needs at the top of the conversation, for `user`."""
    slots = [
        {
            "name": slot.name,
            "title": slot.title,
            "value": shown(flow, lead, slot.name),
            "skipped": slot.name in lead.skipped,
        }
        for slot in flow.slots
    ]
    return {
        **card(conv, lead, flow, names=names, position=position, offer=offer),
        "routing_reasons": list(conv.routing_reasons),
        "outcome": conv.outcome,
        "outcome_value": conv.outcome_value,
        "opted_out": conv.opted_out,
        "created_at": conv.created_at.isoformat(),
        "flow": {"id": flow.id, "name": flow.name, "version": flow.version},
        "summary": conv.summary or summarize(flow, lead.slots, lead.details),
        "summary_by": "llm" if conv.summary else "bot",
        "llm": llm_use(conv.llm),
        "slots": slots,
        "score_reasons": list(lead.score_reasons),
        "actions": allowed_actions(conv, user, offer),
        "contact": conv.contact,
        "whatsapp_window": whatsapp_window_json(conv, now) if conv.channel == "whatsapp" else None,
    }
