"""Templated replies: what the bot says for a decision, built from the flow's texts.

In bot mode every visitor message gets exactly one reply, so acknowledgement, notices
and the next question are joined into one message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.flows import Flow, Slot
from bot.qualifier.normalize import format_value


def expects_for(slot: Slot) -> dict[str, Any]:
    return {"slot": slot.name, "input": slot.input_hint, "choices": list(slot.choices)}


def first_missing(flow: Flow, slots: Mapping[str, Any], skipped: Sequence[str]) -> Slot | None:
    for slot in flow.slots:
        if slots.get(slot.name) is None and slot.name not in skipped:
            return slot
    return None


def describe(flow: Flow, slots: Mapping[str, Any], details: Mapping[str, Any], names: Sequence[str]) -> str:
    """'team size 40, timeline within a month' — what the bot just noted."""
    parts = []
    for name in names:
        slot = flow.slot(name)
        parts.append(f"{slot.title} {format_value(slot, slots[name], details.get(name) or {})}")
    return ", ".join(parts)


def acknowledgement(
    flow: Flow,
    slots: Mapping[str, Any],
    details: Mapping[str, Any],
    *,
    filled: Sequence[str],
    asked: str | None,
    correction: bool,
) -> str | None:
    if not filled:
        return None
    if correction:
        return f"Thanks, I've updated your {describe(flow, slots, details, filled)}."
    # Free text (the need …) is acknowledged, not read back: "Noted: need we need …" reads badly.
    unprompted = [name for name in filled if name != asked and flow.slot(name).type != "text"]
    thanks = flow.texts.thanks
    if asked in filled and asked is not None:
        slot = flow.slot(asked)
        if slot.ack:
            value = format_value(slot, slots[asked], details.get(asked) or {})
            thanks = slot.ack.replace("{value}", value)
    if unprompted:
        return f"{thanks} Noted: {describe(flow, slots, details, unprompted)}."
    return thanks


def question(slot: Slot, *, invalid: bool) -> str:
    if invalid and slot.reask:
        return slot.reask
    return slot.question


def opening(flow: Flow, slots: Mapping[str, Any], skipped: Sequence[str]) -> tuple[str, Slot | None]:
    """The greeting, with the first question the bot needs answered."""
    slot = first_missing(flow, slots, skipped)
    if slot is None:
        return flow.texts.greeting, None
    return f"{flow.texts.greeting}\n\n{slot.question}", slot


def join(parts: Sequence[str | None]) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())
