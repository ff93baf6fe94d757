"""How a slot value is shown to people: in bot replies and in the agent inbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows import Slot
from bot.qualifier.normalize.timeline import TIMELINE_LABELS

_CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def _money(amount: int, currency: str) -> str:
    sign = _CURRENCY_SIGNS.get(currency)
    return f"{sign}{amount:,}" if sign else f"{currency} {amount:,}"


def format_value(slot: Slot, value: Any, detail: Mapping[str, Any]) -> str:
    """Short human rendering for bot replies and the agent inbox."""
    kind = slot.type
    if value is None:
        return "—"
    if kind == "money":
        currency = str(detail.get("currency", "USD"))
        low, high = int(detail.get("low", value)), int(detail.get("high", value))
        amount = _money(low, currency) if low == high else f"{_money(low, currency)}–{_money(high, currency)}"
        bound = detail.get("bound")
        if bound == "at_most":
            amount = f"up to {amount}"
        elif bound == "at_least":
            amount = f"{amount}+"
        return f"{amount} per month"
    if kind == "integer":
        low, high = detail.get("low", value), detail.get("high", value)
        return f"{low:,}–{high:,}" if low != high else f"{int(value):,}"
    if kind == "timeline":
        return TIMELINE_LABELS.get(str(value), str(value))
    if kind in ("decision_maker", "boolean"):
        text = "yes" if value else "no"
        return f"{text} (shared decision)" if detail.get("shared") else text
    if kind == "phone":
        if detail.get("domestic", True) and detail.get("national"):
            return str(detail["national"])
        return str(detail.get("international") or value)
    return str(value)
