"""The rest of a message read as the answer to the question just asked (no cue needed)."""

from __future__ import annotations

import re
from datetime import date

from bot.flows import Flow, Slot
from bot.qualifier.normalize import (
    JUST_LOOKING,
    SOLO,
    Found,
    Outcome,
    best,
    best_timeline,
    deobfuscate_email,
    find_decision_maker,
    find_integer,
    find_money,
    find_phones,
    find_timeline,
    match_choice,
    normalize_email,
    normalize_integer,
    normalize_money,
    normalize_text,
    normalize_value,
)
from bot.qualifier.scan import MASK, Scan, content_words

_I = re.IGNORECASE


def bare_answer(slot: Slot, scan: Scan, flow: Flow, today: date) -> Found | None:
    """The rest of the message read as an answer to `slot` (no cue needed)."""
    text = scan.remainder()
    kind = slot.type
    if kind == "text" and JUST_LOOKING.search(scan.text):
        # "Just looking around" answers "what are you hoping to solve?" as well as it
        # tells the timeline.
        return _whole(normalize_text(scan.text))
    if not text.replace(MASK, "").strip():
        return None
    found: Found | None = None
    if kind == "money":
        found = best(find_money(scan.masked, flow.currency))
        if found is None and re.fullmatch(r"\W*(?:zero|nothing|nil|none\s+yet|\$?0+)\W*", text, _I):
            found = _whole(normalize_money("0", flow.currency))
    elif kind == "integer":
        solo = normalize_integer(text) if SOLO.match(text) else None
        found = _whole(solo) if solo else best(find_integer(scan.masked))
    elif kind == "timeline":
        found = best_timeline(find_timeline(scan.masked, today))
    elif kind == "decision_maker":
        found = best(find_decision_maker(text))
        found = _whole(found.result) if found else None
    elif kind == "phone":
        candidates = find_phones(scan.masked, flow.region)
        found = candidates[0] if candidates else None
    elif kind == "email":
        address = deobfuscate_email(text)
        found = _whole(normalize_email(address)) if address else None
    elif kind == "text" and content_words(text):  # other values alone ("we're 40") are no need
        found = _whole(normalize_text(scan.text))
    if found is None and kind not in ("money", "integer", "timeline", "phone", "email", "text"):
        found = _whole(normalize_value(slot, text, flow, today))
    if found is None and slot.choices and kind not in ("choice",):
        index = match_choice(text, slot.choices)
        if index is not None:
            found = _whole(normalize_value(slot, slot.choices[index], flow, today))
    return found


def _whole(result: Outcome) -> Found | None:
    """A value read from the whole remainder; it masks nothing (its span is empty)."""
    return Found(0, 0, result, 0) if result is not None else None
