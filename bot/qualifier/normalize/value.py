"""Any slot's answer, read by the normaliser for the slot's type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from bot.flows import Flow, Slot
from bot.qualifier.normalize.choices import match_choice, normalize_choice
from bot.qualifier.normalize.contact import normalize_email, normalize_phone
from bot.qualifier.normalize.decision import normalize_boolean, normalize_decision_maker
from bot.qualifier.normalize.money import normalize_money
from bot.qualifier.normalize.names import normalize_company, normalize_person_name
from bot.qualifier.normalize.numbers import normalize_integer
from bot.qualifier.normalize.results import Outcome
from bot.qualifier.normalize.text import normalize_text
from bot.qualifier.normalize.timeline import normalize_timeline


def normalize_value(slot: Slot, raw: Any, flow: Flow, today: date | None = None) -> Outcome:
    """Normalise a bare answer or a proposed value for `slot` (used by the LLM mode too).

    For slots with quick-reply choices (timeline, decision maker), a reply that only
    picks a label by position or prefix ("2", "the first one") is read as that label.
    """
    today = today or date.today()
    result = _normalize_by_type(slot, raw, flow, today)
    if result is None and slot.choices and slot.type != "choice" and isinstance(raw, str):
        index = match_choice(raw, slot.choices)
        if index is not None:
            result = _normalize_by_type(slot, slot.choices[index], flow, today)
    return result


_Reader = Callable[[Any, Slot, Flow, date], Outcome]  # (raw, slot, flow, today) -> outcome

# One reader per slot type; each takes from the slot and flow only what its type needs.
_READERS: dict[str, _Reader] = {
    "money": lambda raw, slot, flow, today: normalize_money(raw, flow.currency),
    "integer": lambda raw, slot, flow, today: normalize_integer(raw),
    "timeline": lambda raw, slot, flow, today: normalize_timeline(raw, today),
    "decision_maker": lambda raw, slot, flow, today: normalize_decision_maker(raw),
    "boolean": lambda raw, slot, flow, today: normalize_boolean(raw),
    "email": lambda raw, slot, flow, today: normalize_email(raw),
    "phone": lambda raw, slot, flow, today: normalize_phone(raw, flow.region),
    "person_name": lambda raw, slot, flow, today: normalize_person_name(raw),
    "company": lambda raw, slot, flow, today: normalize_company(raw),
    "choice": lambda raw, slot, flow, today: normalize_choice(raw, slot.choices),
    "text": lambda raw, slot, flow, today: normalize_text(raw),
}


def _normalize_by_type(slot: Slot, raw: Any, flow: Flow, today: date) -> Outcome:
    read = _READERS.get(slot.type, _READERS["text"])  # an unknown type is read as free text
    return read(raw, slot, flow, today)
