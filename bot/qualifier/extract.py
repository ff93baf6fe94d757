"""Offline understanding of one visitor message: slot values, skips, corrections, intents.

How a message is read:

1. Whole-message keywords (STOP, START, HELP) are intents and nothing else (intents.py).
2. A leading correction cue ("sorry, I meant …", "actually …") is noted and set aside
   (cues.py).
3. Clearly-cued values are picked up for every slot, asked or not, in a fixed order
   (email, phone, money, timeline, integer, decision maker, name, company, text). Each
   value found is masked out of the text so later types do not read it again: the digits
   of a phone number are not a team size, "40 people" is not a budget. A slot type that
   appears more than once in the flow is only filled when that slot is the one asked
   (cued_values.py, with introductions.py for names and companies and need.py for text).
4. What is left is read as a bare answer to the slot just asked — or, after a correction
   cue, to the slot answered last (bare_answer.py). A reply that declines is a skip
   (cues.py).

This module holds the steps together: which slots may be filled, in what order, and what
a value found does to the rest of the message (scan.py masks it out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.flows import Flow, Slot
from bot.qualifier.bare_answer import bare_answer
from bot.qualifier.cued_values import CUED_FINDERS
from bot.qualifier.cues import Correction, detect_correction, is_skip, opens_with_skip
from bot.qualifier.intents import detect_intents, handoff_spans
from bot.qualifier.introductions import cued_company
from bot.qualifier.normalize import Found, Parsed, Rejected
from bot.qualifier.scan import MASK, Scan, keyword

_I = re.IGNORECASE


@dataclass(frozen=True)
class Fact:
    value: Any  # normalised JSON-able slot value (str | int | bool)
    detail: dict[str, Any] = field(default_factory=dict)  # extra JSON-able facts


@dataclass(frozen=True)
class Extraction:
    facts: dict[str, Fact]  # slot name -> value found in this message
    invalid: dict[str, str]  # slot name -> reason code
    skip: bool  # the visitor declines to answer the expected slot
    correction: bool  # the message corrects an earlier answer
    intents: frozenset[str]  # subset of {"handoff", "opt_out", "opt_in", "help"}

    @property
    def understood(self) -> bool:
        """True if anything at all was recognised (facts, skip, intents)."""
        return bool(self.facts or self.skip or self.intents)


@dataclass
class _State:
    """What the message has given so far; a value accepted is masked out of the scan."""

    scan: Scan
    facts: dict[str, Fact] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)

    def accept(self, slot: Slot, found: Found) -> None:
        if isinstance(found.result, Rejected):
            self.invalid.setdefault(slot.name, found.result.reason)
            return
        self.facts[slot.name] = Fact(found.result.value, dict(found.result.detail))
        self.invalid.pop(slot.name, None)
        self.scan.mask(found.start, found.end)


def _clean(text: str) -> str:
    """Curly quotes made straight, so patterns spell "I'm" one way; a typed MASK is a space."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').replace(MASK, " ")
    return text.strip()


def _eligible(flow: Flow, expected: Slot | None) -> list[Slot]:
    """Slots that may be filled from cues: the asked one, and any slot alone of its type."""
    counts: dict[str, int] = {}
    for slot in flow.slots:
        counts[slot.type] = counts.get(slot.type, 0) + 1
    return [s for s in flow.slots if s is expected or counts[s.type] == 1]


def _read_cued(state: _State, flow: Flow, expected: Slot | None, today: date) -> None:
    slots = _eligible(flow, expected)
    name_end: int | None = None
    for kind, find_cued in CUED_FINDERS.items():
        for slot in (s for s in slots if s.type == kind):
            if kind == "text" and slot is expected:
                continue  # an asked free-text question takes the whole message instead
            if kind == "company":  # "Jane from Acme": a company may follow the name just read
                found = cued_company(state.scan, flow, today, after_name=name_end)
            else:
                found = find_cued(state.scan, flow, today)
            if found is None:
                continue
            if isinstance(found.result, Rejected) and slot is not expected and kind != "email":
                continue  # a malformed value counts against the slot asked; "@" is always an email
            if kind == "person_name":
                name_end = found.end
            state.accept(slot, found)


def _read_bare(state: _State, slot: Slot, flow: Flow, today: date) -> bool:
    found = bare_answer(slot, state.scan, flow, today)
    if found is None:
        return False
    state.accept(slot, found)
    if slot.type == "person_name" and isinstance(found.result, Parsed):
        _company_after_bare_name(state, flow, str(found.result.value), today)
    return isinstance(found.result, Parsed)


def _company_after_bare_name(state: _State, flow: Flow, name: str, today: date) -> None:
    """'Jane from Acme' as an answer to "What's your name?" also gives the company."""
    companies = [s for s in flow.slots if s.type == "company"]
    if len(companies) != 1 or companies[0].name in state.facts:
        return
    pattern = r"\b" + r"\s+".join(re.escape(p) for p in name.split()) + r"\b"
    m = re.search(pattern, state.scan.masked, _I)
    if m:
        found = cued_company(state.scan, flow, today, after_name=m.end())
        if found and found.start == m.end():
            state.accept(companies[0], found)


def _missing_reason(slot: Slot, scan: Scan) -> str | None:
    """Why an asked slot got no value, when the reply was an attempt at it."""
    left = scan.remainder()
    if slot.type == "email" and "@" not in left:
        return "email_missing"
    if slot.type in ("integer", "money"):
        return "not_a_number"
    if slot.type == "phone":
        return "phone_invalid" if re.search(r"\d", left) else "phone_missing"
    return None


def extract(
    text: str,
    flow: Flow,
    *,
    expecting: str | None,
    last_answered: str | None = None,
    today: date | None = None,
) -> Extraction:
    """Read one visitor message against `flow`. See the module docstring for the order."""
    today = today or date.today()
    text = _clean(text)
    intents = detect_intents(text)
    nothing = Extraction({}, {}, False, False, intents)
    if not text or intents & {"opt_out", "help"}:
        return nothing
    if "opt_in" in intents and keyword(text) != "yes":
        return nothing  # "START" is only a keyword; "yes" may also answer a yes/no question

    names = {s.name: s for s in flow.slots}
    expected = names.get(expecting) if expecting else None
    last = names.get(last_answered) if last_answered else None
    correction = detect_correction(text)
    state = _State(Scan(text))
    if correction.lead_end:
        state.scan.mask(0, correction.lead_end)
    for start, end in handoff_spans(text):
        state.scan.mask(start, end)

    _read_cued(state, flow, expected, today)

    skip = False
    target_done = expected is not None and expected.name in state.facts
    if not target_done:
        skip = _read_answer(state, flow, expected, last, correction, today)

    # A reply with nothing else in it is an attempt at the asked slot: say why it failed.
    if expected is not None and not (skip or state.facts or intents or expected.name in state.invalid):
        reason = _missing_reason(expected, state.scan)
        if reason:
            state.invalid[expected.name] = reason
    return Extraction(
        facts=state.facts,
        invalid=state.invalid,
        skip=skip,
        correction=correction.strength is not None and bool(state.facts),
        intents=intents,
    )


def _read_answer(
    state: _State,
    flow: Flow,
    expected: Slot | None,
    last: Slot | None,
    correction: Correction,
    today: date,
) -> bool:
    """Read the un-cued rest as a bare answer; returns True when it is a skip instead."""
    rest = state.scan.remainder()
    if expected is not None:
        if is_skip(rest, expected):
            return True
        if opens_with_skip(rest):
            # "not sure, maybe 40": a value after the hedge still counts; for free-text
            # slots the hedge is the answer.
            return expected.type in _FREE_TYPES or not _read_bare(state, expected, flow, today)
    for slot in _answer_targets(state, expected, last, correction):
        if _read_bare(state, slot, flow, today):
            break
    return False


# Types whose bare parser accepts almost any words, so a cue-less correction is only
# routed to them when the question asked does not take the answer.
_FREE_TYPES = frozenset({"text", "company", "person_name"})


def _answer_targets(
    state: _State, expected: Slot | None, last: Slot | None, correction: Correction
) -> list[Slot]:
    """Slots a bare remainder may answer, in order of preference.

    Without a correction cue: the slot asked. After "I meant / actually / wait": the slot
    answered last first. After a mere "sorry": the slot asked first.
    """
    asked = [expected] if expected is not None else []
    if last is None or last is expected or last.name in state.facts or correction.strength is None:
        return asked
    if correction.strength == "strong" and (last.type not in _FREE_TYPES or expected is None):
        return [last, *asked]
    return [*asked, last]
