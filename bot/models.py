"""The records that travel through leadbot: inbound and outbound messages, conversations, leads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["bot", "pending_human", "human", "closed"]
# Modes in which the bot answers the visitor: nobody else owns a closed conversation, and a
# visitor writing after the close still gets a reply (or a person, if they ask for one).
BOT_MODES: tuple[Mode, ...] = ("bot", "closed")
Sender = Literal["visitor", "bot", "agent", "system"]
LeadStatus = Literal["new", "engaged", "qualified", "unqualified", "opted_out", "converted", "lost"]
HandoffReason = Literal["requested", "qualified", "not_understood", "transferred"]
Outcome = Literal["converted", "lost"]
InputKind = Literal["text", "email", "phone", "number", "choice"]
Delivery = Literal["queued", "sent", "delivered", "read", "failed", "undelivered"]
# A delivery status only moves forward; failed and undelivered are final.
DELIVERY_RANK: dict[str, int] = {
    "queued": 0,
    "sent": 1,
    "delivered": 2,
    "read": 3,
    "failed": 4,
    "undelivered": 4,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Expects(_Record):
    """What the bot asked for, so a client can offer the right input (a hint, not a rule)."""

    slot: str
    input: InputKind = "text"
    choices: list[str] = Field(default_factory=list)


class Attachment(_Record):
    """A file that came with a message (or went with one); its bytes are kept by bot.attachments."""

    id: str
    filename: str
    content_type: str
    size: int


class Inbound(_Record):
    """A message from a visitor or lead, as a channel adapter hands it over."""

    channel: str
    conversation_id: str
    text: str
    client_id: str | None = None  # the widget's message id: unique within the conversation
    provider_id: str | None = None  # the provider's message id (Twilio MessageSid …): unique everywhere
    meta: dict[str, Any] = Field(default_factory=dict)  # channel facts kept with it (email headers …)
    received_at: datetime | None = None  # by the app's clock (the WhatsApp window is counted from it)
    attachments: list[Attachment] = Field(default_factory=list)  # saved already (bot.attachments)


class Outbound(_Record):
    """A message to store and send (bot replies, agent replies, notices); `Conversations.deliver` sends it."""

    sender: Sender
    text: str
    expects: Expects | None = None
    author: str | None = None  # an agent's display name
    agent_id: str | None = None
    private: bool = False  # an agent's note, never sent to a channel
    meta: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)  # saved already (bot.attachments)


class Message(_Record):
    id: str
    conversation_id: str
    seq: int
    sender: Sender
    text: str
    expects: Expects | None = None
    author: str | None = None
    agent_id: str | None = None
    private: bool = False
    client_id: str | None = None
    provider_id: str | None = None  # inbound: the provider's id; outbound: the id the provider gave it
    delivery: Delivery | None = None  # outbound on provider channels: how far it got
    delivery_error: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)


class FlowRef(_Record):
    id: str
    version: int


class Consent(_Record):
    """A visitor accepted the flow's consent text (bot/privacy/consent.py): what they were shown,
    word for word, when, and in which flow version."""

    given: bool = True
    at: datetime
    text: str
    flow: FlowRef
    conversation_id: str


class Conversation(_Record):
    id: str
    channel: str
    flow: FlowRef
    lead_id: str
    mode: Mode = "bot"
    handoff_reason: HandoffReason | None = None
    opted_out: bool = False
    last_seq: int = 0
    # The qualifier's own state (what it asked, what it skipped …); opaque to everyone else.
    state: dict[str, Any] = Field(default_factory=dict)
    # Highest visitor seq the bot has answered; a larger visitor seq means a turn is owed.
    answered_seq: int = 0
    # Handoff: the team it was routed to and why, when it joined the queue, who owns it.
    team: str | None = None
    routing_reasons: list[str] = Field(default_factory=list)
    queued_at: datetime | None = None
    # Kept after a claim clears `queued_at` (analytics: wait and first-response times): when it
    # last joined the queue (bot handoff or transfer to a team), and when an agent last took it.
    handed_off_at: datetime | None = None
    claimed_at: datetime | None = None
    agent_id: str | None = None
    outcome: Outcome | None = None
    outcome_value: float | None = None
    # Contact channels (SMS, WhatsApp, email): who this conversation is with, and when they
    # last wrote (WhatsApp only lets a business write freely for 24 hours after that).
    contact: str | None = None
    last_inbound_at: datetime | None = None
    # A/B tests: the variant of each of the flow's experiments this conversation sees.
    variants: dict[str, str] = Field(default_factory=dict)
    # LLM mode's running totals: turns, attempts, failures by kind, tokens, cost, outcomes.
    llm: dict[str, Any] = Field(default_factory=dict)
    summary: str | None = None  # the handoff summary in the model's words (LLM mode), for agents
    consent: Consent | None = None  # the widget's consent step, once accepted (docs/privacy.md)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StatusChange(_Record):
    status: LeadStatus
    at: datetime = Field(default_factory=utcnow)
    reason: str | None = None


class ScoreChange(_Record):
    """A change of score made outside a bot turn (score decay, bot/nurture/decay.py), with why:
    "score 80 → 70: 14 days without a reply". Turns explain their score in `score_reasons`."""

    at: datetime
    score: int  # the score after the change
    reason: str


class Conversion(_Record):
    """How the lead ended: converted (with the deal's value) or lost (with why); bot/attribution."""

    outcome: Outcome
    value: float | None = None  # converted only; never converted between currencies
    currency: str | None = None  # ISO 4217, upper case
    reason: str | None = None  # lost only
    at: datetime
    by: str  # the id of the agent (or admin token) who recorded it


class Lead(_Record):
    """One record per person; conversations that share an email or phone share a lead."""

    id: str
    slots: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)  # e.g. budget ranges, raw phrasing
    skipped: list[str] = Field(default_factory=list)
    score: int = 0
    grade: str = "D"
    temperature: str = "cold"
    status: LeadStatus = "new"
    score_reasons: list[str] = Field(default_factory=list)
    status_history: list[StatusChange] = Field(default_factory=list)
    score_history: list[ScoreChange] = Field(default_factory=list)
    # The latest outcome recorded for this person (re-marking replaces it; status_history keeps all).
    conversion: Conversion | None = None
    # When the lead first gave an email or phone (W-shaped attribution's lead-creation touch).
    contact_given_at: datetime | None = None
    conversation_ids: list[str] = Field(default_factory=list)
    # A/B variants this person was shown, so their next conversation (any channel) gets the same.
    variants: dict[str, str] = Field(default_factory=dict)
    consent: Consent | None = None  # the latest consent given in any of its conversations
    merged_ids: list[str] = Field(default_factory=list)  # leads merged into this one: erased with it
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def email(self) -> str | None:
        value = self.slots.get("email")
        return value if isinstance(value, str) else None

    @property
    def phone(self) -> str | None:
        value = self.slots.get("phone")
        return value if isinstance(value, str) else None
