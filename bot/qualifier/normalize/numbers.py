"""Counts (the `integer` slot type: team size, seats) and the rounding every number reader shares.

Readings chosen where the product spec leaves room: 0, negatives and more than ten million
are rejected ("number_out_of_range"); a range ("10-20") keeps its low end as the value, with
detail low/high; "just me" is 1.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bot.qualifier import words as W
from bot.qualifier.normalize.results import Found, Outcome, Parsed, Rejected, best
from bot.qualifier.words import any_of

_I = re.IGNORECASE

MAX_INTEGER = 10_000_000


def round_half_up(x: float) -> int:
    """2.5 -> 3: built-in round() rounds halves to even, which surprises people reading amounts."""
    return math.floor(x + 0.5)


_TEAM_NOUN = (
    r"(?:people|persons|person|employees?|staff(?:ers)?|engineers?|developers?|devs?|programmers?|"
    r"seats?|users?|(?:team\s+)?members?|folks|ftes?|headcount|heads|reps|agents|workers|"
    r"colleagues|co-?workers|salespeople|sales\s*people|designers|analysts|consultants|strong|man)\b"
)
_INT_QUALIFIERS = any_of(
    "about", "around", "roughly", "approximately", r"approx\.?", "~", "circa", "almost", "nearly", "over",
    r"more\s+than", r"at\s+least", "under", r"less\s+than", r"up\s+to", r"close\s+to",
    r"just(?:\s+over|\s+under)?", "only", "maybe", "some",
)  # fmt: skip


def _int_amount(tag: str) -> str:
    return rf"(?P<{tag}num>{W.NUMBER})(?:\s?(?P<{tag}mult>k|thousand|hundred|m|million)(?![a-z]))?"


_INT_EXPR = (
    rf"(?P<qual>(?:~|\b{_INT_QUALIFIERS}\b)\s*)?"
    r"(?:(?P<btw>\bbetween\s+)|\bfrom\s+)?"
    + _int_amount("a")
    + r"(?:\s*(?(btw)(?:and|-|–|—|to)|(?:-|–|—|to|or))\s*"
    + _int_amount("b")
    + r")?(?P<plus>\s?\+)?(?:\s?-?ish\b|\s+or\s+so\b)?"
)
# Words allowed between a number and its team noun ("40 full-time engineers").
_FILLER = (
    r"(?:\s+(?!(?:per|an?|and|or|to|in|within|by|for|from|of|the|is|are|was|were|we|i|you|they|it|but|"
    r"days?|weeks?|months?|quarters?|years?|k|thousand|million|dollars?|euros?|pounds?|budget)\b)"
    r"[a-z][a-z'-]*)"
)
_TEAM_PATTERNS = [
    # "40 people", "forty full-time engineers", "a 40-person team", "10-20 seats", "50+ users"
    re.compile(rf"{_INT_EXPR}(?:\s+of)?{_FILLER}{{0,2}}?[\s-]+{_TEAM_NOUN}", _I),
    # "a team of fifty", "headcount is 40", "team size: about 12"
    re.compile(
        r"\b(?:team|company|headcount|team\s+size|staff|workforce|org(?:ani[sz]ation)?)\s*"
        rf"(?:size\s*)?(?:of|is|:|=|are|at|numbers|totals?)\s*{_INT_EXPR}",
        _I,
    ),
    # "we're 40", "we are about 40 and growing" (a number right after "we are" is a headcount)
    re.compile(
        rf"\bwe(?:'re|’re|\s+are)\s+{_INT_EXPR}(?=\s*(?:$|[,.;!?)\x1f]|\s+(?:and|but|so|now|total|"
        r"in\s+total|at\s+the\s+moment|right\s+now|today|at\s+present)\b))",
        _I,
    ),
    # "we employ 40", "there are 12 of us", "12 of us"
    re.compile(rf"\bemploy(?:s|ing)?\s+{_INT_EXPR}", _I),
    re.compile(rf"{_INT_EXPR}\s+of\s+us\b", _I),
]
_BARE_INT = re.compile(_INT_EXPR, _I)
SOLO = re.compile(
    r"^(?:(?:it'?s|it\s+is|i'?m|i\s+am)\s+)?(?:just|only)?\s*(?:me|myself|solo|i|one\s+person|me\s+alone|by\s+myself)"
    r"(?:\s+(?:alone|for\s+now|right\s+now|at\s+the\s+moment))?\W*$"
    r"|^(?:i\s+work\s+alone|solo(?:\s+founder)?|solopreneur"
    r"|(?:a\s+)?one[- ](?:man|woman|person)\s+(?:band|show|team))\W*$",
    _I,
)
_INT_NOT_AFTER = re.compile(
    r"^\s*(?:%|percent\b|(?:days?|weeks?|months?|quarters?|years?|yrs?|hours?)\b|[$€£]|dollars?\b|euros?\b|k\b)",
    _I,
)


def _int_result(m: re.Match[str], text: str) -> Parsed | Rejected | None:
    values: list[float] = []
    for tag in ("a", "b"):
        raw = m.group(f"{tag}num")
        if raw is None:
            continue
        num = W.parse_number(raw)
        if num is None:
            return None
        mult = m.group(f"{tag}mult")
        values.append(num * (W.MULTIPLIERS[mult.lower()] if mult else 1))
    if not values:
        return None
    if len(values) == 2 and not m.group("amult") and m.group("bmult"):
        scale = W.MULTIPLIERS[m.group("bmult").lower()]
        if values[0] * scale <= values[1]:
            values[0] *= scale
    low, high = round_half_up(min(values)), round_half_up(max(values))
    negative = (
        m.start() > 0 and text[m.start() - 1] == "-" and (m.start() < 2 or not text[m.start() - 2].isdigit())
    )
    if negative or low <= 0 or high > MAX_INTEGER:
        return Rejected("number_out_of_range")
    detail: dict[str, Any] = {"raw": m.group(0).strip()}
    if high != low:
        detail.update(low=low, high=high)
    return Parsed(low, detail)


def find_integer(text: str) -> list[Found]:
    """Counts: team-cued ones with strength 2, any other plain number with strength 0."""
    found: list[Found] = []
    for pattern in _TEAM_PATTERNS:
        for m in pattern.finditer(text):
            num = re.search(_INT_EXPR, m.group(0), _I)
            if num is None:
                continue
            start = m.start() + num.start()
            expr = _BARE_INT.match(text, start)
            if expr is None:
                continue
            result = _int_result(expr, text)
            if result is not None:
                found.append(Found(m.start(), m.end(), result, 2))
    for m in _BARE_INT.finditer(text):
        if _INT_NOT_AFTER.match(text, m.end()) or (m.start() > 0 and text[m.start() - 1] in "$€£"):
            continue
        result = _int_result(m, text)
        if result is not None:
            found.append(Found(m.start(), m.end(), result, 0))
    return found


def normalize_integer(raw: Any) -> Outcome:
    """A count: digits or words, "about 40", "10-20" (low, with detail low/high), "just me" -> 1."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = round_half_up(float(raw))
        return Parsed(value, {}) if 0 < value <= MAX_INTEGER else Rejected("number_out_of_range")
    text = str(raw).strip()
    if SOLO.match(text):
        return Parsed(1, {"raw": text})
    hit = best(find_integer(text))
    return hit.result if hit else None
