"""Which lead events a stored change makes: the comparisons behind the emit calls.

Conversations, Handoffs and Ownership store a change, then emit what this module says happened
(bot/lead_events.py has the kinds). Kept apart so those services only gain one line each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.lead_events import LeadEvent
from bot.models import Conversation, Lead, Mode


def changed_fields(before: Lead, after: Lead) -> list[str]:
    """The slots whose value changed (by name), then `score` and `status` if they did."""
    names = sorted(
        name
        for name in set(before.slots) | set(after.slots)
        if before.slots.get(name) != after.slots.get(name)
    )
    if before.score != after.score:
        names.append("score")
    if before.status != after.status:
        names.append("status")
    return names


def is_new_lead(lead: Lead, conv: Conversation) -> bool:
    """A contact-channel conversation opens a new lead unless its phone or email joined it to one."""
    return lead.conversation_ids == [conv.id]


def lead_created(lead: Lead, conv: Conversation, at: datetime) -> LeadEvent:
    return LeadEvent(
        kind="lead.created", at=at, lead=lead, conversation=conv, details={"channel": conv.channel}
    )


def turn_events(
    before: Lead, after: Lead, conv: Conversation, at: datetime, *, mode_before: Mode | None = None
) -> list[LeadEvent]:
    """After a turn (or a consent notice) was saved: `lead.updated` when it changed the lead's
    slots, score or status, `lead.qualified` when the status became qualified, and
    `conversation.closed` when the bot closed the conversation."""
    events: list[LeadEvent] = []
    changed = changed_fields(before, after)
    if changed:
        details: dict[str, Any] = {"changed": changed}
        if before.id != after.id:  # the lead gave a phone or email someone already had: merged
            details["merged_from"] = before.id
        events.append(LeadEvent(kind="lead.updated", at=at, lead=after, conversation=conv, details=details))
    if after.status == "qualified" and before.status != "qualified":
        details = {"score": after.score, "grade": after.grade}
        events.append(LeadEvent(kind="lead.qualified", at=at, lead=after, conversation=conv, details=details))
    if mode_before is not None and mode_before != "closed" and conv.mode == "closed":
        events.append(
            LeadEvent(kind="conversation.closed", at=at, lead=after, conversation=conv, details={"by": "bot"})
        )
    return events


def handed_off(lead: Lead, conv: Conversation, at: datetime) -> LeadEvent:
    """The bot handed the conversation to people, and it is queued for a team."""
    details = {"reason": conv.handoff_reason, "team": conv.team}
    return LeadEvent(kind="conversation.handed_off", at=at, lead=lead, conversation=conv, details=details)


def closed_by_agent(lead: Lead, conv: Conversation, at: datetime, *, agent_id: str) -> LeadEvent:
    details = {"by": "agent", "agent_id": agent_id, "outcome": conv.outcome, "value": conv.outcome_value}
    return LeadEvent(kind="conversation.closed", at=at, lead=lead, conversation=conv, details=details)
