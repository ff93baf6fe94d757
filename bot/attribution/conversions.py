"""Conversions: how a lead ended, recorded by an agent (closing a conversation) or the API.

Converted carries the deal's value (and its currency), lost carries why. Either way the lead's
`conversion` is replaced, its status becomes the outcome with a status_history entry (one per
marking, so re-marking stays on record), and `lead.converted` / `lead.lost` is emitted.

A bot turn reads the whole lead and saves it back. The outcome is written under the turn locks
of all the lead's conversations — an agent's close comes from one conversation, but the API's
mark can come while the bot is answering in any of them (a person who wrote on the widget and
by SMS is one lead) — so no turn is between its read and its save: one that read the lead
before the outcome cannot save its status back over it. The store also leaves `conversion` as
stored whoever saves the lead (`Store.save_lead`), so a writer without the lock (a STOP, a
merge) cannot drop it either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from bot.errors import Refused
from bot.lead_events import LeadEvent, LeadEventKind, LeadEvents
from bot.models import Conversation, Conversion, Lead, Outcome, StatusChange
from bot.store import Store
from bot.turn_lock import TurnLocks

if TYPE_CHECKING:
    from bot.conversations import Conversations

MAX_REASON: Final = 500
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")


class BadConversion(Refused):
    """A conversion the caller described wrongly (the message says what to send)."""

    status = 400
    code = "bad_request"


@dataclass(frozen=True)
class Mark:
    """A validated outcome, ready to record."""

    outcome: Outcome
    value: float | None = None
    currency: str | None = None
    reason: str | None = None


def _value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadConversion("value must be a number ≥ 0")
    if value < 0:
        raise BadConversion("value must be a number ≥ 0")
    return float(value)


def _currency(currency: Any) -> str | None:
    if currency is None:
        return None
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.strip()):
        raise BadConversion("currency must be a three-letter ISO 4217 code, like EUR")
    return currency.strip().upper()


def _reason(reason: Any, *, required: bool) -> str | None:
    if isinstance(reason, str):
        reason = reason.strip() or None
    if reason is None:
        if required:
            raise BadConversion('a lost lead needs a reason, like {"reason": "chose a competitor"}')
        return None
    if not isinstance(reason, str):
        raise BadConversion("reason must be a string")
    if len(reason) > MAX_REASON:
        raise BadConversion(f"reason is longer than {MAX_REASON} characters")
    return reason


def read_mark(
    outcome: Any, value: Any = None, currency: Any = None, reason: Any = None, *, reason_required: bool = True
) -> Mark:
    """Check what a caller sent. Converted: an optional value ≥ 0 and currency. Lost: a reason
    (optional only where `reason_required` is False, for the older close endpoint)."""
    if outcome == "converted":
        if reason is not None:
            raise BadConversion("reason is for lost leads; a converted lead has a value")
        amount, code = _value(value), _currency(currency)
        if code is not None and amount is None:
            raise BadConversion("currency needs a value")
        return Mark("converted", value=amount, currency=code)
    if outcome == "lost":
        if value is not None or currency is not None:
            raise BadConversion("value and currency are for converted leads; a lost lead has a reason")
        return Mark("lost", reason=_reason(reason, required=reason_required))
    raise BadConversion("outcome must be 'converted' or 'lost'")


def _amount(value: float) -> str:
    return f"{value:,.2f}".removesuffix(".00")


def describe(mark: Mark | Conversion) -> str:
    """The outcome in words, for status_history: "converted (value 1,200 EUR)", "lost (price)"."""
    if mark.outcome == "lost":
        return f"lost ({mark.reason})" if mark.reason else "lost"
    if mark.value is None:
        return "converted"
    return f"converted (value {_amount(mark.value)}{' ' + mark.currency if mark.currency else ''})"


class Conversions:
    def __init__(
        self,
        store: Store,
        lead_events: LeadEvents,
        clock: Callable[[], datetime],
        turn_locks: TurnLocks,
    ) -> None:
        self._store = store
        self._events = lead_events
        self._clock = clock
        self._turn_locks = turn_locks

    @classmethod
    def of(cls, convs: Conversations) -> Conversions:
        """The conversions of the app whose conversations these are (same store, events, clock,
        turn locks)."""
        return cls(convs.store, convs.lead_events, convs.clock, convs.turn_locks)

    async def _conversation_ids(self, lead: Lead) -> Iterable[str]:
        """Every conversation of the lead: those it lists, and those that name it."""
        found = dict.fromkeys(lead.conversation_ids)
        async for doc in self._store.conversations.find({"lead_id": lead.id}, projection={"_id": 1}):
            found[doc["_id"]] = None
        return found

    async def record(
        self,
        lead_id: str,
        mark: Mark,
        *,
        by_id: str,
        by_name: str,
        via: str,
        conversation: Conversation | None = None,
    ) -> Lead:
        """Record `mark` on the lead (NotFound when there is none) and tell listeners.

        `via` says how, in the history entry: "closed by Dana: converted (value 1,200)".
        """
        lead = await self._store.get_lead(lead_id)
        async with self._turn_locks.hold_all(await self._conversation_ids(lead)):
            lead = await self._store.get_lead(lead_id)  # no turn of its conversations is midway now
            now = self._clock()
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: BSON keeps ms
            note = f"{via} by {by_name}: {describe(mark)}"
            if lead.conversion is not None:
                note += f"; replaces {describe(lead.conversion)}"
            conversion = Conversion(
                outcome=mark.outcome,
                value=mark.value,
                currency=mark.currency,
                reason=mark.reason,
                at=now,
                by=by_id,
            )
            change = StatusChange(status=mark.outcome, at=now, reason=note)
            saved = await self._store.record_outcome(lead_id, conversion=conversion, change=change)
        details: dict[str, Any] = (
            {"value": mark.value, "currency": mark.currency}
            if mark.outcome == "converted"
            else {"reason": mark.reason}
        )
        kind: LeadEventKind = "lead.converted" if mark.outcome == "converted" else "lead.lost"
        await self._events.emit(
            LeadEvent(kind=kind, at=now, lead=saved, conversation=conversation, details=details)
        )
        return saved
