"""The handoff package's one-paragraph summary, written from the lead without an LLM.

"Tony Stark (decision maker) at Stark Industries, 50 people. Budget $10,000 per month,
wants to start within a month. Needs: automate lead follow-ups."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows import Flow
from bot.qualifier.normalize import format_value


def _shown(flow: Flow, slots: Mapping[str, Any], details: Mapping[str, Any], name: str) -> str | None:
    if slots.get(name) is None:
        return None
    try:
        slot = flow.slot(name)
    except KeyError:
        return str(slots[name])
    return format_value(slot, slots[name], details.get(name) or {})


def summarize(flow: Flow, slots: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    if not any(value is not None for value in slots.values()):
        return "Nothing captured yet."

    def shown(name: str) -> str | None:
        return _shown(flow, slots, details, name)

    who = shown("name") or "The visitor"
    if slots.get("decision_maker") is True:
        who += " (decision maker)"
    elif slots.get("decision_maker") is False:
        who += " (not the decision maker)"
    if shown("company"):
        who += f" at {shown('company')}"
    if shown("team_size"):
        who += f", {shown('team_size')} people"
    sentences = [who + "."]
    plans = []
    if shown("budget_monthly"):
        plans.append(f"Budget {shown('budget_monthly')}")
    if shown("timeline"):
        plans.append(f"wants to start {shown('timeline')}")
    if plans:
        sentences.append(", ".join(plans).capitalize() + ".")
    if shown("need"):
        sentences.append(f"Needs: {shown('need')}.")
    known = {
        "name",
        "decision_maker",
        "company",
        "team_size",
        "budget_monthly",
        "timeline",
        "need",
        "email",
        "phone",
    }
    others = [
        f"{slot.title}: {shown(slot.name)}"
        for slot in flow.slots
        if slot.name not in known and shown(slot.name)
    ]
    if others:
        sentences.append("; ".join(others) + ".")
    return " ".join(sentences)
