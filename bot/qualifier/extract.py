"""Offline understanding of one visitor message: slot values, skips, corrections, intents.

How a message is read:

1. Whole-message keywords (STOP, START, HELP) are intents and nothing else.
2. A leading correction cue ("sorry, I meant …", "actually …") is noted and set aside.
3. Clearly-cued values are picked up for every slot, asked or not, in a fixed order
   (email, phone, money, timeline, integer, decision maker, name, company, text). Each
   value found is masked out of the text so later types do not read it again: the digits
   of a phone number are not a team size, "40 people" is not a budget. A slot type that
   appears more than once in the flow is only filled when that slot is the one asked.
4. What is left is read as a bare answer to the slot just asked — or, after a correction
   cue, to the slot answered last.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.flows import Flow, Slot
from bot.qualifier import normalize as N
from bot.qualifier import words as W

_I = re.IGNORECASE
MASK = "\x1f"  # replaces text already read; a word and clause boundary for every pattern


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


# --------------------------------------------------------------------------- intents

_OPT_OUT = re.compile(
    r"(?:please\s+)?(?:stop|stopall|stop\s+all|unsubscribe|cancel|end|quit|opt\s*out|remove\s+me|revoke)"
    r"(?:\s+(?:me|us|now|please|it|this))*"
    r"(?:\s+from\s+(?:this|your|the|all)(?:\s+\w+){0,2})?(?:\s+please)?"
    r"|(?:please\s+)?(?:stop|quit|cease)\s+(?:messaging|texting|emailing|contacting|calling|spamming|bothering|"
    r"sending\s+(?:me\s+)?(?:messages|texts|emails|sms))(?:\s+(?:me|us))?(?:\s+(?:please|now))*"
    r"|(?:please\s+)?(?:don'?t|do\s+not|never)\s+(?:contact|message|text|email|call)\s+(?:me|us)(?:\s+again)?(?:\s+please)?"
    r"|leave\s+me\s+alone",
)
_OPT_IN = re.compile(r"start|unstop|yes|opt\s*in|subscribe|resume")
_HELP = re.compile(r"help|help\s+please|please\s+help")

_HANDOFF_TARGET = (
    r"(?:human(?:\s+being)?|person|agent|someone|somebody|anyone|anybody|rep|representative|salesperson|"
    r"sales(?:\s+(?:team|rep|person|people|department|guy|folks))?|operator|manager|team\s+member|support|"
    r"advisor|adviser|specialist|staff\s+member|employee|your\s+team)(?![\w-])"
    # "someone on my team" is an internal check, not a request for our staff
    r"(?!\s+(?:on|in|at|from)\s+(?:my|our)\b)"
)
_HANDOFF = re.compile(
    r"\b(?:talk|speak|chat|connect|transfer|put|get|hand|pass|switch)\s+(?:me\s+|us\s+)?"
    r"(?:to|with|through\s+to|over\s+to)\s+(?:a\s+|an\s+|the\s+|some\s+|your\s+|one\s+of\s+your\s+|someone\s+(?:in|from|on)\s+)?"
    rf"(?:real\s+|live\s+|actual\s+)?{_HANDOFF_TARGET}"
    r"|\b(?:want|need|like|get\s+me|give\s+me|can\s+i\s+(?:have|get)|may\s+i\s+have|request)\s+"
    r"(?:a\s+|an\s+)?(?:real\s+|live\s+|actual\s+)?(?:human|representative|operator|live\s+agent|real\s+person)(?![\w-])"
    r"|\b(?:real|live|actual)\s+(?:person|human|agent)(?![\w-])|\bhuman\s+being\b"
    r"|\b(?:representative|operator|human|agent)\s*,?\s+please\b"
    r"|^\W*(?:a\s+)?(?:human|agent|operator|representative|rep|real\s+person|person|sales|someone)\W*$",
    _I,
)
_NEGATED = re.compile(r"\b(?:don'?t|do\s+not|no\s+need\s+to|not|never|without)\b[\w\s']{0,20}$", _I)


def _keyword(text: str) -> str:
    """Lower-case, punctuation dropped (apostrophes kept), whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def handoff_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _HANDOFF.finditer(text):
        if _NEGATED.search(text[max(0, m.start() - 30) : m.start()]):
            continue  # "I don't need to talk to a human"
        spans.append((m.start(), m.end()))
    return spans


def detect_intents(text: str) -> frozenset[str]:
    """Whole-message keywords (opt_out, opt_in, help) and handoff requests anywhere."""
    key = _keyword(text)
    intents: set[str] = set()
    if _OPT_OUT.fullmatch(key):
        intents.add("opt_out")
    elif _OPT_IN.fullmatch(key):
        intents.add("opt_in")
    elif _HELP.fullmatch(key):
        intents.add("help")
    if handoff_spans(text):
        intents.add("handoff")
    return frozenset(intents)


# ---------------------------------------------------------------- skip and correction

_any = N.any_of
_SKIP = _any(
    r"skip(?:\s+(?:it|this|that|this\s+one|that\s+one|the\s+question|for\s+now))?",
    "pass", r"i'?ll\s+pass", r"next(?:\s+question)?", r"(?:let'?s\s+)?move\s+on",
    r"(?:i'?d\s+|i\s+would\s+)?rather\s+not(?:\s+(?:say|share|answer|tell|disclose|give\s+(?:it|that|one)))?",
    r"(?:i'?d\s+|i\s+)?prefer\s+not\s+to(?:\s+(?:say|share|answer|disclose|tell))?",
    r"no\s+comment", r"none\s+of\s+your\s+business", r"not\s+your\s+business",
    r"(?:i\s+)?(?:don'?t|do\s+not)\s+know", "idk", "dunno", r"no\s+idea",
    r"(?:i'?m\s+|i\s+am\s+)?(?:not\s+sure|unsure)", r"not\s+telling",
    r"(?:i\s+)?(?:can'?t|cannot)\s+(?:say|share|tell|disclose)", "confidential", "private",
    r"n\s?/?\s?a", "none", r"not\s+applicable", r"doesn'?t\s+matter", r"not\s+relevant", r"(?:i\s+)?decline",
    r"(?:i\s+)?(?:don'?t|do\s+not)\s+(?:have|want\s+to\s+(?:say|share))(?:\s+(?:one|it|that|any))?",
    r"no\s+thanks?", r"no\s+thank\s+you",
    # declining a phone number in favour of email
    r"(?:i'?d\s+|i\s+)?prefer\s+(?:to\s+be\s+contacted\s+by\s+|to\s+use\s+)?email(?:\s+only)?",
    r"(?:just\s+)?email\s+(?:only|is\s+(?:fine|better|enough))",
    r"no\s+(?:phone|calls?)(?:\s+calls?)?(?:\s+please)?",
)  # fmt: skip
_SKIP_FILLER = r"(?:um+|uh+|hmm+|sorry|honestly|well|ah|oh|ok(?:ay)?|hm|erm|tbh|to\s+be\s+honest)"
_SKIP_TAIL = _any(
    "yet", r"for\s+now", r"right\s+now", r"at\s+the\s+moment", r"at\s+this\s+point", "sorry", "thanks",
    r"thank\s+you", "tbh", "either",
)  # fmt: skip
_SKIP_TAIL = rf"(?:\s+{_SKIP_TAIL})*"
_SKIP_FULL = re.compile(rf"(?:{_SKIP_FILLER}\s+)*{_SKIP}{_SKIP_TAIL}")
_SKIP_PREFIX = re.compile(
    rf"^(?:{_SKIP_FILLER}\s+)*{_SKIP}{_SKIP_TAIL}(?:\s*$|\s*[,.;!?\x1f-]|\s+(?:but|and|maybe|perhaps)\b)", _I
)
_NO = re.compile(r"(?:no|nope|nah|no\s+way)")
_YES_NO_TYPES = frozenset({"decision_maker", "boolean"})

# Correction cues. A "weak" one is mostly politeness ("sorry, 5000" answers the question
# just asked); a "strong" one points back ("I meant 40" fixes the previous answer).
_WEAK_CUE = _any("sorry", "apologies", r"my\s+apologies")
_STRONG_CUE = _any(
    "oops", "whoops", r"my\s+bad", "wait", r"hold\s+on", r"no\s+wait", "actually",
    r"i\s+meant(?:\s+to\s+say)?", r"i\s+mean", "correction", r"make\s+(?:it|that)", r"scratch\s+that",
    r"let\s+me\s+correct(?:\s+(?:that|myself))?", r"to\s+correct", "typo",
    r"(?:it\s+)?should\s+(?:be|have\s+been|read)",
)  # fmt: skip
_CORRECTION_LEAD = re.compile(rf"^\W*(?:(?:{_WEAK_CUE}|(?P<strong>{_STRONG_CUE}))\b[\s,.!:;-]*)+", _I)
_CORRECTION_ANYWHERE = re.compile(r"\b(?:actually|i\s+meant|correction)\b", _I)


def is_skip(text: str, slot: Slot) -> bool:
    """The whole reply declines to answer `slot` ("skip", "rather not say", "not sure").

    "not sure" / "don't know" are skips for every type, timeline included: an unknown
    timeline is left unknown rather than recorded as "long". A bare "no" is a skip for
    slots that cannot be answered yes/no.
    """
    key = _keyword(text.replace(MASK, " "))
    if not key:
        return False
    if _SKIP_FULL.fullmatch(key):
        return True
    if slot.type not in _YES_NO_TYPES and not _yes_no_choices(slot):
        return bool(_NO.fullmatch(key))
    return False


def _yes_no_choices(slot: Slot) -> bool:
    return any(re.match(r"\W*(?:yes|no)\b", c, _I) for c in slot.choices)


@dataclass(frozen=True)
class _Correction:
    strength: str | None  # None, "weak" ("sorry, …") or "strong" ("I meant …", "actually …")
    lead_end: int  # length of the leading cue, masked before reading values


def detect_correction(text: str) -> _Correction:
    m = _CORRECTION_LEAD.match(text)
    if m:
        strong = re.search(_STRONG_CUE, m.group(0), _I)
        return _Correction("strong" if strong else "weak", m.end())
    if _CORRECTION_ANYWHERE.search(text):
        return _Correction("weak", 0)
    return _Correction(None, 0)


# --------------------------------------------------------------------------- scanning


class _Scan:
    """The message with the parts already read masked out (same length, same offsets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked = text

    def mask(self, start: int, end: int) -> None:
        self.masked = self.masked[:start] + MASK * (end - start) + self.masked[end:]

    def remainder(self) -> str:
        """What is left, masks collapsed to one boundary and trimmed at both ends."""
        left = re.sub(f"{MASK}+", MASK, self.masked)
        return left.strip(f" \t\n{MASK},.;:!?-")


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[^\W\d_][\w'-]*", text.replace(MASK, " "))
    return [w for w in words if w.lower() not in W.FILLER_WORDS]


# Slot types in the order their cued values are read. Earlier types mask text for later
# ones, so the most unambiguous go first.
_ORDER = (
    "email",
    "phone",
    "money",
    "timeline",
    "integer",
    "decision_maker",
    "person_name",
    "company",
    "text",
)


def _cued_email(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    found = N.find_emails(scan.masked)
    good = [f for f in found if isinstance(f.result, N.Parsed)]
    return good[0] if good else (found[0] if found else None)


def _cued_phone(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    good = [f for f in N.find_phones(scan.masked, flow.region) if isinstance(f.result, N.Parsed)]
    return good[0] if good else None


def _cued_money(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    return N.best([f for f in N.find_money(scan.masked, flow.currency) if f.strength >= 1])


def _cued_timeline(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    return N.best_timeline([f for f in N.find_timeline(scan.masked, today) if f.strength >= 2])


def _cued_integer(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    return N.best([f for f in N.find_integer(scan.masked) if f.strength >= 2])


def _cued_decision(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    return N.best([f for f in N.find_decision_maker(scan.masked) if f.strength >= 2])


# --------------------------------------------------------------- names and companies

_NAME_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name's|(?:first\s+|full\s+)?name\s*(?:is|:)|i\s+am|i'm|im|this\s+is|"
    r"call\s+me|i\s+go\s+by)\s+",
    _I,
)


def _name_after_cue(rest: str) -> tuple[str, int] | None:
    """A name at the start of `rest` (the text after "I'm" etc.) and how many characters it used."""
    mixed = rest != rest.lower()
    tokens, _ = N.name_tokens(rest)
    if not tokens or tokens[0].lower() in W.NOT_AFTER_IM:
        return None
    if mixed:
        kept: list[str] = []
        for t in tokens:
            if t[:1].isupper() or (kept and t.lower() in W.NAME_PARTICLES):
                kept.append(t)
            else:
                break
        tokens = kept
    else:
        tokens = tokens[:3]
    if not tokens:
        return None
    name = N.tidy_name(tokens, lowercase_text=not mixed)
    if name is None:
        return None
    last = rest.lower().find(tokens[-1].lower())
    return name, last + len(tokens[-1])


# "Jane Doe here, CTO of Acme": a name that opens the message and is followed by "here".
_NAME_HERE = re.compile(
    r"^\W*(?:(?:hi|hello|hey)(?:\s+there)?\W+)?(?P<name>[^\W\d_][\w'’.-]*(?:\s+[\w'’.-]+){0,3}?)\s+here\b", _I
)


def _cued_name(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    for m in _NAME_CUE.finditer(scan.masked):
        hit = _name_after_cue(scan.masked[m.end() :])
        if hit:
            name, used = hit
            return N.Found(m.start(), m.end() + used, N.Parsed(name, {}), 2)
    here = _NAME_HERE.match(scan.masked)
    if here:
        hit = _name_after_cue(here.group("name"))
        if hit and len(hit[0]) == len(here.group("name")):
            return N.Found(here.start("name"), here.end(), N.Parsed(hit[0], {}), 2)
    return None


_ROLE_WORDS = (
    r"(?:ceo|cto|cfo|coo|cmo|cio|ciso|cpo|cro|founder|co-?founder|owner|director|manager|engineer|developer|"
    r"head\s+of\s+\w+|vp(?:\s+of)?\s+\w+|vp|lead|consultant|partner|marketer|designer|analyst|president|"
    r"product\s+manager|recruiter|administrator|admin)"
)
_ORGANISATION = (
    r"(?:company|company's\s+name|company\s+name|business|startup|firm|org|organi[sz]ation|agency)"
)
_IS_CALLED = r"(?:\s+is\s+called|\s+is\s+named|\s+name\s+is|\s+is|'s|’s|\s+called|\s*:)"
_COMPANY_CUES: list[tuple[re.Pattern[str], bool]] = [
    # (cue, needs a proper-looking name even in all-lower-case text)
    (re.compile(r"\bi\s+(?:work|am\s+working|'m\s+working|’m\s+working)\s+(?:at|for|with)\s+", _I), False),
    # not "I'm from X": offline, "I'm from Acme" and "I'm from Berlin" look the same
    (re.compile(r"\bi(?:'m|’m|\s+am)\s+(?:with|at)\s+", _I), False),
    (re.compile(r"\b(?:calling|writing|reaching\s+out|contacting\s+you|messaging)\s+from\s+", _I), False),
    (re.compile(rf"\b(?:our|my)\s+{_ORGANISATION}{_IS_CALLED}\s+", _I), False),
    (re.compile(r"\bcompany(?:\s+name)?\s*(?::|=|\bis\b)\s*", _I), False),
    (re.compile(rf"\b{_ROLE_WORDS}\s+(?:at|of|for|with)\s+", _I), False),
    (re.compile(r"\bwe(?:'re|’re|\s+are)\s+(?:called\s+)?", _I), True),
]
_NAME_THEN_COMPANY = re.compile(r"\s*,?\s*(?:from|with|at|of)\s+", _I)


def _company_at(scan: _Scan, start: int, strict: bool) -> N.Found | None:
    """A company name starting at `start` in the masked text, if it looks like one."""
    rest = scan.masked[start:]
    mixed = scan.text != scan.text.lower()
    tokens = N.company_tokens(rest, mixed_case=mixed)
    if not tokens:
        return None
    first = tokens[0]
    if first.lower() in W.NOT_NAME or first.lower() in W.NOT_AFTER_IM or (first[:1].isdigit() and strict):
        return None
    if mixed and not (first[:1].isupper() or first[:1].isdigit()):
        return None
    has_suffix = any(t.lower().rstrip(",") in W.COMPANY_SUFFIXES for t in tokens[1:])
    if strict and not mixed and not has_suffix and not re.search(r"\w\.\w", first):
        return None  # "we're growing": in lower-case text only "we're acme inc" counts
    name = " ".join(tokens)
    result = N.normalize_company(name)
    if not isinstance(result, N.Parsed):
        return None
    end = start + rest.find(tokens[-1].rstrip(",")) + len(tokens[-1].rstrip(","))
    return N.Found(start, end, result, 2)


def _cued_company(scan: _Scan, flow: Flow, today: date, after_name: int | None = None) -> N.Found | None:
    if after_name is not None:
        m = _NAME_THEN_COMPANY.match(scan.masked, after_name)
        if m:
            found = _company_at(scan, m.end(), strict=False)
            if found:
                return N.Found(after_name, found.end, found.result, 2)
    for cue, strict in _COMPANY_CUES:
        for m in cue.finditer(scan.masked):
            found = _company_at(scan, m.end(), strict)
            if found:
                return N.Found(m.start(), found.end, found.result, 2)
    return None


# ------------------------------------------------------------------------------ need

_WANTING = _any(
    "need", "want", "wanna", r"'d\s+like\s+to", r"would\s+like\s+to", r"looking\s+for", r"looking\s+to",
    r"trying\s+to", r"hoping\s+to", r"struggling\s+with", r"struggle\s+with",
    r"have\s+(?:a\s+)?(?:problem|issue|trouble)s?\s+with",
)  # fmt: skip
# Where a stated need starts. The value keeps the cue ("we need a CRM") but not a joining
# "and"/"so" in front of a subject-less one ("…, and want to qualify leads faster").
_NEED_CUE = re.compile(
    rf"\b(?:we|i)(?:'re|\s+are|'m|\s+am)?\s+(?:really\s+|mainly\s+|mostly\s+|just\s+|currently\s+|urgently\s+)?"
    rf"{_WANTING}\b"
    r"|\b(?:our|my)\s+(?:main\s+|biggest\s+|big\s+|key\s+)?(?:problem|challenge|need|goal|pain(?:\s+point)?|issue)\s+is\b"
    rf"|(?:^\W*|\b(?:and|so)\s+)(?P<bare>(?:really\s+)?{_WANTING}\b)",
    _I,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n|$")


_CLAUSE_SPLIT = re.compile(r"(,\s*|\s+and\s+|\s+but\s+)")
# A later clause that starts talking about the visitor ends the need ("…, and I'm the CEO").
_ABOUT_ME = re.compile(r"^\s*(?:i'm|i\s+am|my|our\s+(?:budget|team|company)|we're\s+\d)\b", _I)


def _need_end(masked: str, start: int, stop: int) -> int:
    """End of the need that starts at `start`: before the first later clause that holds
    another value (masked) or is about the visitor, without trailing filler clauses."""
    end = start
    offset = start
    for i, piece in enumerate(_CLAUSE_SPLIT.split(masked[start:stop])):
        if i and not _CLAUSE_SPLIT.fullmatch(piece) and (MASK in piece or _ABOUT_ME.match(piece)):
            break
        offset += len(piece)
        if _content_words(piece) and not _CLAUSE_SPLIT.fullmatch(piece):
            end = offset
    return end


def _cued_need(scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    for m in _NEED_CUE.finditer(scan.masked):
        sentence = _SENTENCE_END.search(scan.masked, m.end())
        end = _need_end(scan.masked, m.start(), sentence.start() if sentence else len(scan.masked))
        if not _content_words(scan.masked[m.end() : end]):
            continue  # "we need it next month": nothing left but the timeline
        start = m.start("bare") if m.group("bare") else m.start()
        value = N.normalize_text(scan.text[start:end])
        if isinstance(value, N.Parsed):
            return N.Found(start, end, value, 2)
    return None


_Finder = Callable[[_Scan, Flow, date], N.Found | None]
_CUED: dict[str, _Finder] = {
    "email": _cued_email,
    "phone": _cued_phone,
    "money": _cued_money,
    "timeline": _cued_timeline,
    "integer": _cued_integer,
    "decision_maker": _cued_decision,
    "person_name": _cued_name,
    "company": _cued_company,
    "text": _cued_need,
}


# --------------------------------------------------------------------- bare answers


def _bare(slot: Slot, scan: _Scan, flow: Flow, today: date) -> N.Found | None:
    """The rest of the message read as an answer to `slot` (no cue needed)."""
    text = scan.remainder()
    kind = slot.type
    if kind == "text" and N.JUST_LOOKING.search(scan.text):
        # "Just looking around" answers "what are you hoping to solve?" as well as it
        # tells the timeline.
        return _whole(scan, N.normalize_text(scan.text))
    if not text.replace(MASK, "").strip():
        return None
    found: N.Found | None = None
    if kind == "money":
        found = N.best(N.find_money(scan.masked, flow.currency))
        if found is None and re.fullmatch(r"\W*(?:zero|nothing|nil|none\s+yet|\$?0+)\W*", text, _I):
            found = _whole(scan, N.normalize_money("0", flow.currency))
    elif kind == "integer":
        solo = N.normalize_integer(text) if N.SOLO.match(text) else None
        found = _whole(scan, solo) if solo else N.best(N.find_integer(scan.masked))
    elif kind == "timeline":
        found = N.best_timeline(N.find_timeline(scan.masked, today))
    elif kind == "decision_maker":
        found = N.best(N.find_decision_maker(text))
        found = _whole(scan, found.result) if found else None
    elif kind == "phone":
        candidates = N.find_phones(scan.masked, flow.region)
        found = candidates[0] if candidates else None
    elif kind == "email":
        address = N.deobfuscate_email(text)
        found = _whole(scan, N.normalize_email(address)) if address else None
    elif kind == "text" and _content_words(text):  # other values alone ("we're 40") are no need
        found = _whole(scan, N.normalize_text(scan.text))
    if found is None and kind not in ("money", "integer", "timeline", "phone", "email", "text"):
        found = _whole(scan, N.normalize_value(slot, text, flow, today))
    if found is None and slot.choices and kind not in ("choice",):
        index = N.match_choice(text, slot.choices)
        if index is not None:
            found = _whole(scan, N.normalize_value(slot, slot.choices[index], flow, today))
    return found


def _whole(scan: _Scan, result: N.Outcome) -> N.Found | None:
    """A value read from the whole remainder; it masks nothing (its span is empty)."""
    return N.Found(0, 0, result, 0) if result is not None else None


# ------------------------------------------------------------------------- extract


@dataclass
class _State:
    scan: _Scan
    facts: dict[str, Fact] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)

    def accept(self, slot: Slot, found: N.Found) -> None:
        if isinstance(found.result, N.Rejected):
            self.invalid.setdefault(slot.name, found.result.reason)
            return
        self.facts[slot.name] = Fact(found.result.value, dict(found.result.detail))
        self.invalid.pop(slot.name, None)
        self.scan.mask(found.start, found.end)


def _clean(text: str) -> str:
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
    for kind in _ORDER:
        for slot in (s for s in slots if s.type == kind):
            if kind == "text" and slot is expected:
                continue  # an asked free-text question takes the whole message instead
            if kind == "company":
                found = _cued_company(state.scan, flow, today, after_name=name_end)
            else:
                found = _CUED[kind](state.scan, flow, today)
            if found is None:
                continue
            if isinstance(found.result, N.Rejected) and slot is not expected and kind != "email":
                continue
            if kind == "person_name":
                name_end = found.end
            state.accept(slot, found)


def _read_bare(state: _State, slot: Slot, flow: Flow, today: date) -> bool:
    found = _bare(slot, state.scan, flow, today)
    if found is None:
        return False
    state.accept(slot, found)
    if slot.type == "person_name" and isinstance(found.result, N.Parsed):
        _company_after_bare_name(state, flow, str(found.result.value), today)
    return isinstance(found.result, N.Parsed)


def _company_after_bare_name(state: _State, flow: Flow, name: str, today: date) -> None:
    """'Jane from Acme' as an answer to "What's your name?" also gives the company."""
    companies = [s for s in flow.slots if s.type == "company"]
    if len(companies) != 1 or companies[0].name in state.facts:
        return
    pattern = r"\b" + r"\s+".join(re.escape(p) for p in name.split()) + r"\b"
    m = re.search(pattern, state.scan.masked, _I)
    if m:
        found = _cued_company(state.scan, flow, today, after_name=m.end())
        if found and found.start == m.end():
            state.accept(companies[0], found)


def _missing_reason(slot: Slot, scan: _Scan) -> str | None:
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
    if "opt_in" in intents and _keyword(text) != "yes":
        return nothing  # "START" is only a keyword; "yes" may also answer a yes/no question

    names = {s.name: s for s in flow.slots}
    expected = names.get(expecting) if expecting else None
    last = names.get(last_answered) if last_answered else None
    correction = detect_correction(text)
    state = _State(_Scan(text))
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
    correction: _Correction,
    today: date,
) -> bool:
    """Read the un-cued rest as a bare answer; returns True when it is a skip instead."""
    rest = state.scan.remainder()
    if expected is not None:
        if is_skip(rest, expected):
            return True
        if _SKIP_PREFIX.match(_keyword(rest.replace(MASK, " "))):
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
    state: _State, expected: Slot | None, last: Slot | None, correction: _Correction
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
