"""What happened to a lead, told to whoever cares: CRM webhooks, nurture follow-ups, analytics.

The bus (bot/bus.py) wakes sockets; these events carry business meaning instead, and are
emitted once, in the process where the change was made (never relayed), right after the
store has it. Listeners must not block: they schedule jobs (bot/jobs) or return at once.

Kinds
- `lead.created`: a conversation opened a new lead.
- `lead.updated`: a turn changed the lead (slots, score, status).
- `lead.qualified`: the lead's status became qualified.
- `conversation.handed_off`: the bot handed the conversation to people (queued).
- `conversation.claimed`: an agent now owns the conversation.
- `conversation.closed`: the conversation was closed (by an agent or the bot).
- `lead.converted` / `lead.lost`: an agent or the API recorded the outcome.
- `message.received`: the lead wrote (any channel); cancels follow-ups.
- `message.sent`: the bot sent a reply; (re)starts the silence clock for follow-ups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.models import Conversation, Lead

log = logging.getLogger(__name__)

LeadEventKind = Literal[
    "lead.created",
    "lead.updated",
    "lead.qualified",
    "conversation.handed_off",
    "conversation.claimed",
    "conversation.closed",
    "lead.converted",
    "lead.lost",
    "message.received",
    "message.sent",
]

# The kinds CRM webhooks may subscribe to (the rest are internal).
WEBHOOK_KINDS: tuple[LeadEventKind, ...] = (
    "lead.created",
    "lead.updated",
    "lead.qualified",
    "conversation.handed_off",
    "lead.converted",
    "lead.lost",
)


@dataclass(frozen=True)
class LeadEvent:
    kind: LeadEventKind
    at: datetime
    lead: Lead
    conversation: Conversation | None = None
    details: dict[str, Any] = field(default_factory=dict)  # e.g. {"value": 1200} or {"reason": "price"}


LeadListener = Callable[[LeadEvent], Awaitable[None]]


class LeadEvents:
    """Listeners for lead events. `emit` awaits each listener in turn; one that fails is logged
    and does not stop the others, nor the change that was already stored."""

    def __init__(self) -> None:
        self._listeners: list[LeadListener] = []

    def listen(self, listener: LeadListener) -> None:
        self._listeners.append(listener)

    async def emit(self, event: LeadEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                await listener(event)
            except Exception:
                log.exception("lead event %s: a listener failed", event.kind)
