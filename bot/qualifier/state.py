"""The qualifier's state (what one turn reads and writes) and its run context (the flow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from bot.flows import Flow
from bot.qualifier.extract import Extraction

if TYPE_CHECKING:
    from bot.qualifier.llm_turn import LlmTurn

Decision = Literal[
    "ask",  # ask the next missing slot (or the same one again)
    "handoff",  # a person takes over: requested, qualified, or the bot keeps failing
    "unqualified",  # every slot known, score below the threshold: close politely
    "opt_out",  # the visitor unsubscribed: confirm once, then stay silent
    "silent",  # opted out and still writing: record, never answer
    "closed",  # the conversation was closed: say so
    "done",  # everything is known and a person already had it: nothing more to ask
]


class Memory(TypedDict, total=False):
    """What the bot remembers between turns (stored as the conversation's `state`)."""

    asked: str | None  # the slot the last bot message asked for
    last_answered: str | None  # the slot filled most recently, target of cue-less corrections
    reasks: int  # invalid answers in a row for `asked`
    not_understood: int  # turns in a row in which nothing was understood
    opted_out: bool
    closed: bool
    handed_off: bool  # a person already had this conversation: completion is not handed off again
    handoff_pending: str  # the team is away: hand off for this reason once a contact is known
    greet: bool  # the lead wrote first (SMS, email …): the first reply starts with the greeting


class TurnState(TypedDict, total=False):
    # in
    text: str
    memory: Memory
    slots: dict[str, Any]
    details: dict[str, Any]
    skipped: list[str]
    # worked out along the way
    extraction: Extraction
    asked_before: str | None  # the slot the visitor was answering this turn
    opted_in: bool  # this turn opted the visitor back in
    greet_now: bool  # this reply starts with the flow's greeting
    after_hours: str | None  # when the team is back ("tomorrow at 09:00 (Europe/Berlin)"), if away
    filled: list[str]  # slots this turn filled or changed
    invalid: str | None  # reason code when the asked slot's answer was invalid
    skipped_now: str | None
    refused_skip: bool  # asked to skip a required slot
    score: dict[str, Any]
    decision: Decision
    handoff_reason: str | None
    next_slot: str | None
    # out
    reply: str | None
    expects: dict[str, Any] | None


@dataclass(frozen=True)
class TurnContext:
    flow: Flow
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    llm: LlmTurn | None = None  # LLM mode for this turn; None: offline only

    @property
    def today(self) -> date:
        return self.now.date()
