"""Offline normalisers: one parser per slot type, plus `format_value` for display.

Each `find_*` function scans a whole message and returns every candidate it sees as a
`Found` (where it is, what it normalises to, how clearly the text marks it as that kind
of value). `extract.py` decides which candidates to keep. Each `normalize_*` function
reads a short answer (a bare reply, or a value an LLM proposes) and returns a `Parsed`
value, a `Rejected` reason, or None when it sees nothing of that type.

Strength of a candidate, used for unprompted pick-up and for choosing among several:
    0  bare: only acceptable as the answer to the question just asked
    1  weak cue (the word "budget" near a plain number)
    2  clear cue (a team noun, "per month", "in two weeks", "it's my call")
    3  unmistakable (a currency symbol or word)

Readings chosen where the product spec leaves room:
    money     ranges keep the low end as the value; "up to X" / "at least X" / "X+" keep X
              as both bounds with detail["bound"]; "$" is the flow's currency when that is
              a dollar (CAD, AUD, …), else USD; "1.500" is fifteen hundred; "no budget" is 0.
    timeline  a month is 30 days and a quarter 90, so "Within 3 months" is short and
              "Within 6 months" medium; "next month" is 45 days and "next year" 365 whatever
              the date; "this year" / "by the end of the year" run to 31 December; a month
              name is its next 1st ("by June" in June is now); vague "later" answers are 365.
    integer   0, negatives and more than ten million are rejected ("number_out_of_range").
    decision  shared decisions ("as a team", "committee") are no, with detail["shared"].
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.flows import Flow, Slot
from bot.qualifier import words as W

_I = re.IGNORECASE


@dataclass(frozen=True)
class Parsed:
    value: Any  # normalised JSON-able slot value
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    reason: str  # e.g. "email_no_domain", "phone_invalid", "number_out_of_range"


@dataclass(frozen=True)
class Found:
    """A candidate value located at text[start:end]."""

    start: int
    end: int
    result: Parsed | Rejected
    strength: int = 0


Outcome = Parsed | Rejected | None

MAX_INTEGER = 10_000_000
MAX_MONEY = 1_000_000_000  # per month; beyond this it is a typo or a joke
MAX_NAME = 80
MAX_COMPANY = 120
MAX_TEXT = 500


def best(found: Sequence[Found]) -> Found | None:
    """The strongest candidate; the earliest among equals."""
    if not found:
        return None
    return min(found, key=lambda f: (-f.strength, f.start))


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def any_of(*alternatives: str) -> str:
    """A non-capturing alternation; keeps long regex tables one phrase per line."""
    return "(?:" + "|".join(alternatives) + ")"


_any = any_of


_CLAUSE_BREAK = re.compile(r"[;!?\n\x1f]|[.,](?!\d)")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around text[start:end]: up to sentence punctuation or a comma/newline.

    Commas and dots between digits ("2,500", "2.5k") are not clause breaks.
    """
    left = 0
    for m in _CLAUSE_BREAK.finditer(text, 0, start):
        left = m.end()
    after = _CLAUSE_BREAK.search(text, end)
    return left, (after.start() if after else len(text))


# ---------------------------------------------------------------------------- money

QUALIFIER = (
    r"(?P<qual>~|\b(?:"
    + "|".join(
        re.escape(q) for q in sorted((q for q in W.MONEY_QUALIFIERS if q != "~"), key=len, reverse=True)
    )
    + r")(?!\w))"
)


def _amount(tag: str) -> str:
    """One amount: optional currency before, a number, optional multiplier and currency after."""
    return (
        rf"(?:(?P<{tag}sym1>{W.CURRENCY_SYMBOL})\s?|(?P<{tag}code1>{W.CURRENCY_CODE})\s)?"
        rf"(?P<{tag}num>{W.NUMBER})"
        rf"(?:\s?(?P<{tag}mult>{W.MULTIPLIER}))?"
        rf"(?:\s?(?P<{tag}sym2>{W.CURRENCY_SYMBOL})|\s(?P<{tag}word>{W.CURRENCY_WORD}))?"
    )


_PERIOD_UNIT = r"(?:months?|mo|mth|years?|yr|annum|quarter|qtr|weeks?|wk)\b"
_MONEY_RE = re.compile(
    rf"(?:{QUALIFIER}\s*)?"
    r"(?:(?P<btw>\bbetween\s+)|\bfrom\s+)?"
    + _amount("a")
    + r"(?:\s*(?(btw)(?:and|-|–|—|to)|(?:-|–|—|to|up\s+to|or))\s*"
    + _amount("b")
    + r")?"
    r"(?P<plus>\s?\+)?(?:-?ish\b)?"
    rf"(?:\s*(?:/|\bper\b|\ban?\b|\beach\b|\bevery\b)\s*(?P<per>{_PERIOD_UNIT})"
    r"|\s*,?\s*(?P<adv>\b(?:monthly|annually|yearly|quarterly|weekly|pcm)\b|\bp\.?\s?a\b\.?|\bper\s+annum\b))?",
    _I,
)
_BUDGET_WORD = re.compile(
    r"\b(?:budget\w*|spend(?:ing)?|pay(?:ing)?|afford|invest(?:ing)?|allocat\w+|price|pricing|cost|costs)\b",
    _I,
)
_CLAUSE_PERIOD = re.compile(
    r"\b(?P<w>annual(?:ly)?|yearly|per\s+year|per\s+annum|monthly|per\s+month|quarterly|per\s+quarter|"
    r"weekly|per\s+week)\b",
    _I,
)
# Things a bare number next to them is clearly not money: team nouns, time units, percent.
_NOT_MONEY_AFTER = re.compile(
    r"^\s*(?:%|percent\b|(?:days?|weeks?|months?|quarters?|years?|yrs?|hours?|minutes?)\b|"
    r"(?:people|persons|employees|staff|engineers|developers|devs|seats|users|members|heads|"
    r"folks|ftes?|reps|agents|workers|person)\b)",
    _I,
)
_NO_BUDGET = re.compile(
    r"\b(?:no|zero|without\s+a|don'?t\s+have\s+a|do\s+not\s+have\s+a|haven'?t\s+got\s+a|nothing\s+in\s+the)\s+budget\b"
    r"|\bbudget\s+(?:is\s+)?(?:zero|nil|none)\b",
    _I,
)


def _currency(symbol: str | None, flow_currency: str) -> str:
    """Resolve a symbol/word/code to an ISO code; "$" follows the flow if it is a dollar."""
    if not symbol:
        return flow_currency
    key = symbol.lower()
    code = W.CURRENCY_SYMBOLS.get(key) or W.CURRENCY_WORDS.get(key) or key.upper()
    if code == "$":
        return flow_currency if flow_currency in W.DOLLAR_CODES else "USD"
    return code


def _period(m: re.Match[str], text: str) -> str:
    word = m.group("per") or m.group("adv")
    if word:
        key = re.sub(r"[\s.]", "", word.lower())  # "p. a." -> "pa", "per annum" -> "perannum"
        return W.PERIOD_WORDS.get(key) or W.PERIOD_WORDS.get(key.rstrip("s"), "month")
    # "our annual budget is 60k": a period adjective elsewhere in the clause.
    left, right = _clause_bounds(text, m.start(), m.end())
    cm = _CLAUSE_PERIOD.search(text, left, right)
    if cm:
        key = cm.group("w").lower().split()[-1]
        return W.PERIOD_WORDS.get(key, "month")
    return "month"


def _scaled(m: re.Match[str], tag: str) -> tuple[float, int] | None:
    """(value, scale) of one amount; scale is its multiplier, written ("5k") or spelled
    inside the number ("three thousand"), 1 if none."""
    written = m.group(f"{tag}num")
    num = W.parse_number(written)
    if num is None:
        return None
    mult = m.group(f"{tag}mult")
    if mult:
        scale = W.MULTIPLIERS[mult.lower()]
        return num * scale, scale
    spelled = [v for k, v in W.LARGE_SCALES.items() if k in written.lower()]
    return num, max(spelled, default=1)


def _range(m: re.Match[str]) -> tuple[float, float] | None:
    a = _scaled(m, "a")
    if a is None:
        return None
    if m.group("bnum") is None:
        return a[0], a[0]
    b = _scaled(m, "b")
    if b is None:
        return a[0], a[0]
    low, high = a[0], b[0]
    # "2-3k", "2 to 3 thousand": the multiplier written once applies to both ends,
    # unless that would make the low end bigger than the high one ("500 to 3k").
    if not m.group("amult") and a[1] == 1 and b[1] > 1 and low * b[1] <= high:
        low *= b[1]
    return min(low, high), max(low, high)


def _money_strength(m: re.Match[str], text: str) -> int:
    if any(m.group(g) for g in ("asym1", "acode1", "asym2", "aword", "bsym1", "bcode1", "bsym2", "bword")):
        return 3
    mults = [(m.group(g) or "").lower() for g in ("amult", "bmult")]
    period = m.group("per") or m.group("adv")
    left, right = _clause_bounds(text, m.start(), m.end())
    budget_near = bool(_BUDGET_WORD.search(text, max(left, m.start() - 40), min(right, m.end() + 25)))
    if "grand" in mults or period or (any(mults) and _CLAUSE_PERIOD.search(text, left, right)):
        return 2
    if any(mults) and _BUDGET_WORD.search(text, left, right):
        return 2
    return 1 if budget_near else 0


def _money_currency(m: re.Match[str], flow_currency: str) -> str:
    for g in ("asym1", "acode1", "asym2", "aword", "bsym1", "bcode1", "bsym2", "bword"):
        if m.group(g):
            return _currency(m.group(g).strip(), flow_currency)
    return flow_currency


def find_money(text: str, flow_currency: str) -> list[Found]:
    """Every amount in the text, normalised to a monthly figure in whole units.

    Ranges give low/high; the value is the low bound. "up to X", "under X", "at least X",
    "X+" keep X as both bounds and say so in detail["bound"]; "about X" keeps X.
    """
    found: list[Found] = []
    for m in _MONEY_RE.finditer(text):
        has_currency = any(m.group(g) for g in ("asym1", "asym2", "aword", "acode1"))
        if _NOT_MONEY_AFTER.match(text, m.end()) and not has_currency:
            continue  # "40 people", "3 months", "20%"
        if m.start() > 0 and text[m.start() - 1] in "-+" and not m.group("qual"):
            continue  # "-500" or a piece of a phone number / date
        bounds = _range(m)
        if bounds is None:
            continue
        period = _period(m, text)
        per_month = W.PERIOD_PER_MONTH[period]
        low, high = round_half_up(bounds[0] * per_month), round_half_up(bounds[1] * per_month)
        detail: dict[str, Any] = {
            "low": low,
            "high": high,
            "currency": _money_currency(m, flow_currency),
            "period": period,
            "raw": m.group(0).strip(),
        }
        bound = W.MONEY_QUALIFIERS.get((m.group("qual") or "").lower())
        if m.group("plus") and bound is None:
            bound = "at_least"
        if bound and low == high:
            detail["bound"] = bound
        result: Parsed | Rejected = Parsed(low, detail)
        if high > MAX_MONEY:
            result = Rejected("number_out_of_range")
        found.append(Found(m.start(), m.end(), result, _money_strength(m, text)))
    for m in _NO_BUDGET.finditer(text):
        detail = {"low": 0, "high": 0, "currency": flow_currency, "period": "month", "raw": m.group(0)}
        found.append(Found(m.start(), m.end(), Parsed(0, detail), 2))
    return found


def normalize_money(raw: Any, currency: str = "USD") -> Outcome:
    """A budget answer or proposed value -> monthly whole units (see `find_money`)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        amount = round_half_up(float(raw))
        if amount < 0 or amount > MAX_MONEY:
            return Rejected("number_out_of_range")
        detail = {"low": amount, "high": amount, "currency": currency, "period": "month", "raw": str(raw)}
        return Parsed(amount, detail)
    text = str(raw).strip()
    if re.fullmatch(r"(?:zero|nothing|nil|\$?0+)[.!]*", text, _I):
        return Parsed(0, {"low": 0, "high": 0, "currency": currency, "period": "month", "raw": text})
    hit = best(find_money(text, currency))
    return hit.result if hit else None


# -------------------------------------------------------------------------- integer

_TEAM_NOUN = (
    r"(?:people|persons|person|employees?|staff(?:ers)?|engineers?|developers?|devs?|programmers?|"
    r"seats?|users?|(?:team\s+)?members?|folks|ftes?|headcount|heads|reps|agents|workers|"
    r"colleagues|co-?workers|salespeople|sales\s*people|designers|analysts|consultants|strong|man)\b"
)
_INT_QUALIFIERS = _any(
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


# ------------------------------------------------------------------------- timeline

TIMELINE_LABELS = {
    "immediate": "within a month",
    "short": "within 3 months",
    "medium": "within 6 months",
    "long": "in more than 6 months",
}


def timeline_bucket(days: int) -> str:
    if days <= 30:
        return "immediate"
    if days <= 90:
        return "short"
    if days <= 180:
        return "medium"
    return "long"


LONG_DAYS = 365  # what vague "later" answers count as
_Rule = tuple[re.Pattern[str], Any, int]  # (pattern, days or function(match, today) -> days, strength)

_NO_RUSH = _any(
    r"no\s+rush", r"no\s+hurry", r"not\s+in\s+a\s+(?:big\s+|real\s+)?(?:rush|hurry)",
    r"not\s+(?:that\s+|very\s+)?urgent",
    r"no\s+(?:set\s+|fixed\s+|firm\s+|real\s+|specific\s+)?(?:timeline|time\s*frame|deadline|date)\b",
)  # fmt: skip
_RESEARCHING = _any(
    r"just\s+(?:researching|browsing|looking(?:\s+around)?|exploring|curious|window[- ]shopping)",
    r"just\s+gathering\s+info\w*",
    r"(?:doing\s+(?:some\s+)?|in\s+the\s+)?research(?:ing)?\s+(?:phase|stage|options|solutions|tools|vendors)",
    r"exploring\s+(?:options|solutions|alternatives)", r"early\s+stages?", r"long[- ]term", r"some\s?day",
    "eventually", r"down\s+the\s+(?:road|line)", r"not\s+any\s?time\s+soon", r"not\s+for\s+a\s+while",
    r"in\s+a\s+while", r"at\s+some\s+point", r"no\s+plans?\s+yet", r"not\s+(?:right\s+)?now",
)  # fmt: skip
JUST_LOOKING = re.compile(rf"\b{_RESEARCHING}\b", _I)
_FIXED_PHRASES: list[tuple[str, int, int]] = [
    # (phrase regex, days, strength)
    (
        r"asap|a\.s\.a\.p\.?|as\s+early\s+as\s+possible"
        r"|as\s+soon\s+as\s+(?:possible|we\s+can|you\s+can|we'?re\s+able)",
        0,
        2,
    ),
    (r"right\s+away|straight\s+away|immediately|at\s+once|urgent(?:ly)?|yesterday(?=\W*$)", 0, 2),
    (r"(?:need(?:ed)?|want(?:ed)?)\s+(?:it|this|that|one)?\s*yesterday", 0, 2),
    (r"this\s+week|within\s+(?:the|a)\s+week|by\s+(?:the\s+)?end\s+of\s+(?:the|this)\s+week", 7, 2),
    (r"next\s+week|(?:in\s+)?a\s+fortnight", 14, 2),
    # "next month" is vague; 45 days (mid next month) keeps it "short" whatever today is.
    (r"next\s+month", 45, 2),
    (r"next\s+quarter", 90, 2),
    # "next year" is always read as the long horizon, even in December.
    (
        r"(?:early\s+|late\s+|mid[- ]|sometime\s+|maybe\s+)?next\s+(?:fiscal\s+|calendar\s+)?year",
        LONG_DAYS,
        2,
    ),
    (_NO_RUSH, LONG_DAYS, 2),
    (_RESEARCHING, LONG_DAYS, 2),
    # bare answers, only when the question was just asked
    (r"now|right\s+now|today|tonight|yesterday", 0, 0),
    (r"tomorrow", 1, 0),
    (r"soon(?:ish)?|very\s+soon|shortly|quickly", 30, 0),
    (r"later|not\s+yet|whenever|flexible|no\s+idea\s+yet|(?:much\s+)?later\s+on", LONG_DAYS, 0),
]


def _end_of_month(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _end_of_quarter(d: date) -> date:
    month = ((d.month - 1) // 3 + 1) * 3
    return _end_of_month(date(d.year, month, 1))


def _next_occurrence(today: date, month: int, day: int, year: int | None = None) -> date:
    """The first (month, day) on or after the start of today's month, or in `year`."""
    day = min(day, calendar.monthrange(year or today.year, month)[1])
    if year is not None:
        return date(year, month, day)
    target = date(today.year, month, day)
    if month < today.month or (month == today.month and day < today.day and day != 1):
        target = date(today.year + 1, month, min(day, calendar.monthrange(today.year + 1, month)[1]))
    return target


def _days_to(today: date, target: date) -> int:
    return max(0, (target - today).days)


def _month_days(m: re.Match[str], today: date) -> int:
    month = W.MONTHS[m.group("month").lower().rstrip(".")]
    year = int(m.group("year")) if m.group("year") else None
    pre = re.sub(r"\s+", " ", (m.groupdict().get("pre") or "").lower()).strip()
    last = calendar.monthrange(year or today.year, month)[1]
    if m.group("day") or m.group("day2"):
        day = int(m.group("day") or m.group("day2"))
    elif "end" in pre:
        day = last
    elif "late" in pre:
        day = min(25, last)
    elif "mid" in pre:
        day = 15
    else:
        day = 1
    if not 1 <= day <= 31:
        day = 1
    return _days_to(today, _next_occurrence(today, month, day, year))


def _bare_month_days(m: re.Match[str], today: date) -> int | None:
    if m.group("month") == "may":
        return None  # lower-case "may" is the verb
    return _month_days(m, today)


def _duration_days(m: re.Match[str], _today: date) -> int | None:
    unit = W.UNIT_DAYS[m.group("unit").lower()]
    if m.group("half"):
        return 180 if unit == 365 else round_half_up(unit / 2)
    if m.group("vague"):
        count = W.VAGUE_COUNTS.get(re.sub(r"\s+", " ", m.group("vague").lower()), 3)
    elif m.group("num"):
        parsed = W.parse_number(m.group("num"))
        if parsed is None:
            return None
        count = parsed
        if m.group("num2"):  # "3-6 months" -> the low end, like money ranges
            other = W.parse_number(m.group("num2"))
            count = min(count, other) if other is not None else count
    else:
        count = 1  # "a month"
    return round_half_up(count * unit)


def _season_days(m: re.Match[str], today: date) -> int:
    month, day = W.SEASONS[m.group("season").lower()]
    start = date(today.year, month, day)
    if start <= today < start + timedelta(days=91):
        if "next" in (m.groupdict().get("pre") or "").lower():
            return _days_to(today, date(today.year + 1, month, day))
        return 0  # we are in that season now
    if start < today:
        start = date(today.year + 1, month, day)
    return _days_to(today, start)


def _quarter_days(m: re.Match[str], today: date) -> int:
    q = int(m.group("q"))
    year = int(m.group("qyear")) if m.group("qyear") else None
    if year is not None and year < 100:
        year += 2000
    month = 3 * q - 2
    end = "end" in (m.group("qpre") or "").lower()
    if year is None:
        year = today.year if (3 * q) >= today.month else today.year + 1
    target = _end_of_quarter(date(year, month, 1)) if end else date(year, month, 1)
    return _days_to(today, target)


def _year_days(m: re.Match[str], today: date) -> int:
    year = int(m.group("y"))
    if year <= today.year:
        return _days_to(today, date(today.year, 12, 31))
    return _days_to(today, date(year, 1, 1))


_DURATION = (
    r"(?:(?P<vague>a\s+few|a\s+couple(?:\s+of)?|couple(?:\s+of)?|several)"
    r"|(?P<half>half\s+an?|an?\s+half)"
    rf"|(?P<num>{W.NUMBER})(?:\s*(?:-|–|—|to|or)\s*(?P<num2>{W.NUMBER}))?"
    r"|(?P<art>an?))\s*-?\s*"
    rf"(?P<unit>{W.TIME_UNIT})(?!\s+ago\b)"
)
_DURATION_QUALIFIERS = _any(
    "about", "around", "roughly", "approximately", "maybe", "~", "just", r"less\s+than", "under",
    r"a\s+little\s+over", r"more\s+than", "over", r"at\s+most", r"at\s+least", r"the\s+next",
)  # fmt: skip
_DURATION_QUAL = rf"(?:{_DURATION_QUALIFIERS}\s+)?"
_MONTH_EXPR = (
    rf"(?:(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?P<month>{W.MONTH})"
    r"(?:\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<year>20\d\d))?"
)
_MONTH_PRE = _any(
    "in", "by", "before", "until", "till", "around", "from", r"starting(?:\s+in)?", r"start\s+of",
    r"beginning\s+of", "early", "mid", "late", r"end\s+of", r"the\s+end\s+of", r"by\s+the\s+end\s+of",
    r"sometime\s+in", "during", "for", "after", "on",
)  # fmt: skip
_MONTH_PRE = rf"(?P<pre>\b{_MONTH_PRE}(?:\s+|-)(?:the\s+)?)"
_END_OF_MONTH = _any(
    r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the|this)\s+month\b",
    r"\bthis\s+month\b",
    r"\bwithin\s+the\s+month\b",
)
_END_OF_QUARTER = _any(r"\b(?:this|the\s+current)\s+quarter\b", r"\bend\s+of\s+(?:the\s+|this\s+)?quarter\b")
_END_OF_YEAR = _any(
    r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?:calendar\s+)?year\b",
    r"\byear[- ]end\b",
    r"\beoy\b",
    r"\b(?:later\s+|sometime\s+|some\s+time\s+)?this\s+year\b",
    r"\bwithin\s+the\s+year\b",
)
_QUARTER = (
    r"(?P<qpre>\b(?:in|by|for|during|end\s+of|the\s+end\s+of|start\s+of|early|late)\s+)?"
    r"\bq(?P<q>[1-4])\b(?:\s*(?:'|20)?(?P<qyear>\d\d)\b)?"
)
_IN_DURATION = (
    r"\b(?:in|within|inside(?:\s+of)?|over|during|by|after|before|around|about)\s+(?:the\s+)?"
    rf"(?:(?:next|coming|following)\s+)?{_DURATION_QUAL}{_DURATION}"
)
_SEASON_PRE = _any(
    "this", "next", "in", "by", "over", "during", r"in\s+the", r"by\s+the", "early", "late", "mid",
    r"end\s+of", r"over\s+the",
)  # fmt: skip


_SEASON = rf"(?P<pre>\b{_SEASON_PRE}\s+(?:the\s+)?)(?P<season>spring|summer|fall|autumn|winter)\b"


def _to_end_of_month(m: re.Match[str], today: date) -> int:
    return _days_to(today, _end_of_month(today))


def _to_end_of_quarter(m: re.Match[str], today: date) -> int:
    return _days_to(today, _end_of_quarter(today))


def _to_end_of_year(m: re.Match[str], today: date) -> int:
    return _days_to(today, date(today.year, 12, 31))


def _to_end_of_next_year(m: re.Match[str], today: date) -> int:
    return _days_to(today, date(today.year + 1, 12, 31))


# (pattern, days or days(match, today), strength). Strength 2 phrases are picked up at any
# time; strength 0 ones ("now", "3 months", "March") only answer the timeline question.
_TIMELINE_RULES: list[_Rule] = [
    *((re.compile(rf"\b(?:{p})\b", _I), days, s) for p, days, s in _FIXED_PHRASES),
    (re.compile(_END_OF_MONTH, _I), _to_end_of_month, 2),
    (re.compile(_END_OF_QUARTER, _I), _to_end_of_quarter, 2),
    (re.compile(_END_OF_YEAR, _I), _to_end_of_year, 2),
    (re.compile(r"\bend\s+of\s+next\s+year\b", _I), _to_end_of_next_year, 3),
    (re.compile(_QUARTER, _I), _quarter_days, 2),
    (re.compile(r"\b(?:in|by|during|for|early|late|mid|end\s+of)\s+(?P<y>20\d\d)\b", _I), _year_days, 2),
    (re.compile(_IN_DURATION, _I), _duration_days, 2),
    (
        re.compile(rf"\b(?:the\s+)?(?:next|coming|following)\s+{_DURATION_QUAL}{_DURATION}", _I),
        _duration_days,
        2,
    ),
    (re.compile(rf"{_DURATION}\s+(?:from\s+now|from\s+today|out|time|away)\b", _I), _duration_days, 2),
    # a bare duration; not "for 6 months" / "the last 2 years", which look back
    (
        re.compile(rf"(?<![\w$€£])(?<!for )(?<!last )(?<!past ){_DURATION_QUAL}{_DURATION}", _I),
        _duration_days,
        0,
    ),
    (re.compile(rf"{_MONTH_PRE}{_MONTH_EXPR}", _I), _month_days, 2),
    # a month name alone: only as a bare answer, and "may" only capitalised (it is a verb too)
    (re.compile(rf"\b{_MONTH_EXPR}", _I), _bare_month_days, 0),
    (re.compile(_SEASON, _I), _season_days, 2),
    (re.compile(r"\b(?P<season>spring|summer|autumn|winter)\b", _I), _season_days, 0),
]


def find_timeline(text: str, today: date) -> list[Found]:
    """Timeline phrases -> bucket, with detail {"days", "raw"}; strength 2 when unmistakable."""
    found: list[Found] = []
    for pattern, days_of, strength in _TIMELINE_RULES:
        for m in pattern.finditer(text):
            days = days_of(m, today) if callable(days_of) else days_of
            if days is None:
                continue
            days = int(days)
            result = Parsed(timeline_bucket(days), {"days": days, "raw": m.group(0).strip()})
            found.append(Found(m.start(), m.end(), result, strength))
    return found


def best_timeline(found: Sequence[Found]) -> Found | None:
    """Strongest, then the longest phrase ("not right now" over "right now"), then earliest."""
    if not found:
        return None
    return min(found, key=lambda f: (-f.strength, -(f.end - f.start), f.start))


def normalize_timeline(raw: Any, today: date | None = None) -> Outcome:
    """'ASAP', 'in two weeks', 'by June', 'Within 3 months' -> immediate | short | medium | long."""
    text = str(raw).strip()
    if text.lower() in TIMELINE_LABELS:  # already a bucket (e.g. proposed by an LLM)
        days = {"immediate": 0, "short": 90, "medium": 180, "long": LONG_DAYS}[text.lower()]
        return Parsed(text.lower(), {"days": days, "raw": text})
    hit = best_timeline(find_timeline(text, today or date.today()))
    return hit.result if hit else None


# ------------------------------------------------------------------- decision maker

_ROLE = _any(
    r"(?:co-?)?founder", r"(?:co-?)?owner", "ceo", "cto", "cfo", "coo", "cmo", "cio", "ciso", "cro", "cpo",
    "president", r"(?:senior\s+|executive\s+)?vice\s+president(?:\s+of\s+[a-z]+)?",
    r"s?vp(?:\s+of)?(?:\s+[a-z]+)?", "evp", r"head\s+of\s+[a-z]+", r"managing\s+director",
    r"(?:[a-z]+\s+)?director(?:\s+of\s+[a-z]+)?", r"(?:managing\s+)?partner", "principal",
    r"general\s+manager", "gm", r"chief\s+[a-z]+\s+officer", "proprietor", "boss",
)  # fmt: skip
ROLE_RE = re.compile(
    rf"\b(?:i'?m|i\s+am|as)\s+(?:the\s+|a\s+|an\s+|our\s+|their\s+|one\s+of\s+the\s+)?(?P<role>{_ROLE})\b"
    rf"|^\s*(?P<role2>{_ROLE})\s+here\b",
    _I,
)
_SUPERIORS = _any(
    "boss", "manager", "supervisor", "superiors?", r"higher[- ]ups?", "leadership", "management", "board",
    "ceo", "cto", "cfo", "coo", "founders?", "co-?founders?", "owner", "director", "vp", r"head\s+of\s+\w+",
    r"team\s+lead", "lead", "executives?", "execs?", "partners?", "procurement", r"finance(?:\s+team)?",
    "legal", "purchasing", r"it\s+department", r"parent\s+company", "president", "chairman",
)  # fmt: skip
_DECIDE_VERB = _any(
    "decides?", r"makes?\s+(?:the|that|those|all\s+the)\s+(?:call|decisions?)", r"has\s+the\s+final",
    "signs?", "approves?", r"will\s+decide", r"would\s+decide", r"calls\s+the\s+shots",
    r"(?:holds?|owns?)\s+the\s+budget", r"(?:has|needs|must)\s+to\s+approve", r"gets?\s+the\s+final",
    r"is\s+the\s+decision",
)  # fmt: skip
_DM_SHARED = _any(
    r"\b(?:we|us)\s+(?:all\s+)?(?:decide|make\s+(?:the\s+)?(?:decision|call)s?)\s+(?:it\s+)?"
    r"(?:as\s+a\s+team|together|jointly|collectively)",
    r"\b(?:decide|decided|decision\s+is\s+made)\s+"
    r"(?:as\s+a\s+team|together|jointly|collectively|by\s+(?:a\s+)?committee|by\s+consensus)",
    r"\b(?:team|joint|group|shared|committee|collective)\s+decision\b",
    r"\b(?:buying\s+|purchasing\s+|steering\s+)?committee\b",
    r"\bby\s+consensus\b",
    r"\bone\s+of\s+the\s+decision[- ]?makers\b",
    r"\bwe\s+(?:all\s+)?decide\b",
    r"\b(?:me|myself)\s+and\s+(?:my|our|the)\s+(?:co-?founders?|partners?|team|boss|ceo|cto|cfo)\b",
    r"\b(?:together|jointly)\s+with\s+(?:my|our|the)\b",
    r"\b(?:my|our)\s+(?:co-?founders?|partners?|boss|ceo|cto|cfo|team)\s+and\s+(?:i|me|myself)\b",
)
_DM_NO = _any(
    r"\bnot\s+(?:me|really\s+me|my\s+(?:call|decision)|up\s+to\s+me)\b",
    r"\bnot\s+the\s+(?:one|decision[- ]?maker|buyer)\b",
    r"\bi(?:'m|\s+am)\s+not\s+(?:the\s+)?(?:one|decision[- ]?maker|final|buyer|in\s+charge)",
    r"\bi\s+(?:don'?t|do\s+not|can'?t|cannot|won'?t)\s+(?:get\s+to\s+)?"
    r"(?:decide|make\s+(?:the|that|this|those)\s+(?:call|decisions?)|sign|approve"
    r"|have\s+(?:the\s+)?(?:budget|final\s+say|authority|last\s+word))\b",
    r"\b(?:need|needs|require|requires|get|getting|seek|ask\s+for)\s+(?:an?\s+|the\s+|their\s+|his\s+|her\s+)?"
    r"(?:approval|sign[- ]?off|permission|buy[- ]?in|green\s+light|go[- ]ahead|budget\s+approval)\b",
    r"\b(?:have|need|'d\s+have|would\s+have|must|gotta|'ll\s+have|will\s+have|should|got)\s+to\s+"
    r"(?:check|ask|run\s+(?:it|this|that)\s+(?:by|past)|talk\s+(?:to|with)|speak\s+(?:to|with)|confirm\s+with"
    r"|consult|get\s+(?:it\s+|this\s+)?(?:approved|signed)|loop\s+in|involve|clear\s+it\s+with)",
    r"\b(?:check|checking)\s+with\s+(?:my|our|the)\b",
    r"\b(?:some(?:one|body)\s+else|another\s+person|other\s+people)\b",
    rf"\b(?:my|our|the)\s+(?:\w+\s+)?{_SUPERIORS}\s+(?:\w+\s+){{0,2}}{_DECIDE_VERB}",
    rf"\b(?:it'?s|that'?s|it\s+is)\s+(?:up\s+to\s+)?(?:my|our|the)\s+{_SUPERIORS}(?:'s)?(?:\s+(?:call|decision))?",
    r"\b(?:the\s+)?board\s+(?:decides|approves|signs)",
    r"\bup\s+to\s+(?:my|our|the)\s+\w+",
)
_DM_YES = _any(
    r"\b(?:it'?s|that'?s|its|it\s+is|that\s+is)\s+(?:all\s+|ultimately\s+|totally\s+|entirely\s+)?my\s+"
    r"(?:call|decision)\b",
    r"\b(?:my\s+call|my\s+decision|up\s+to\s+me|my\s+budget)\b",
    r"\bi\s+(?:make|take|get\s+to\s+make)\s+(?:the|all\s+the|final|the\s+final|those|these|buying|purchasing)\s+"
    r"(?:call|decisions?|decision)\b",
    r"\bi\s+(?:alone\s+|ultimately\s+|personally\s+)?(?:decide|do\s+decide|call\s+the\s+shots|sign\s+off"
    r"|sign\s+(?:the\s+)?(?:contracts?|cheques?|checks)|approve\s+(?:it|purchases|the\s+budget|spend)"
    r"|(?:own|hold|control)\s+the\s+budget"
    r"|have\s+(?:the\s+)?(?:final\s+say|last\s+word|budget|authority|purchasing\s+authority|sign[- ]?off))\b",
    r"\bi(?:'m|\s+am)\s+(?:the\s+)?(?:final\s+|main\s+|sole\s+|primary\s+|key\s+|ultimate\s+)?"
    r"(?:decision[- ]?maker|buyer|budget[- ]holder|approver|one\s+who\s+(?:decides|signs|approves))",
    r"\bthat(?:'s|\s+is|\s+would\s+be|\s+will\s+be|'d\s+be)\s+me\b",
    r"\b(?:no\s?one|nobody)\s+else\b",
)
# Bare answers to "are you the one who decides?"
_DM_BARE_SUPERIOR = rf"\b(?:my|our)\s+(?:\w+\s+)?{_SUPERIORS}\b|^\W*the\s+{_SUPERIORS}\b"
_DM_BARE_NO = _any(
    "no", "nope", "nah", r"not\s+really", "negative", "n", r"not\s+quite", r"not\s+exactly", r"i'?m\s+not",
    r"i\s+am\s+not",
)  # fmt: skip
_DM_BARE_YES = _any(
    "yes", "yep", "yeah", "yup", "ya", "yea", "y", "sure", "correct", "indeed", "absolutely", "definitely",
    r"of\s+course", r"i\s+am", r"i\s+do", r"i\s+will", "me", "myself", r"just\s+me", r"only\s+me",
    r"it'?s\s+me", "right", "affirmative", "mostly", r"pretty\s+much", r"that'?s\s+right",
    r"i'?m\s+the\s+one", r"i\s+decide",
)  # fmt: skip

# (pattern, value, shared, strength), checked in order; the first hit decides. Negative
# and shared phrasings come first so "I'm the CTO but the board decides" reads as no.
_DM_RULES: list[tuple[re.Pattern[str], bool, bool, int]] = [
    (re.compile(_DM_SHARED, _I), False, True, 2),
    (re.compile(_DM_NO, _I), False, False, 2),
    (re.compile(_DM_YES, _I), True, False, 2),
    (re.compile(_DM_BARE_SUPERIOR, _I), False, False, 0),
    (re.compile(rf"^\W*{_DM_BARE_NO}\b", _I), False, False, 0),
    (re.compile(rf"^\W*{_DM_BARE_YES}\b", _I), True, False, 0),
]


def _role_name(m: re.Match[str]) -> str:
    role = re.sub(r"\s+", " ", m.group("role") or m.group("role2")).strip()
    if role.lower() in W.ROLE_ACRONYMS:
        return role.upper()
    parts = role.split()
    return " ".join(p.upper() if p.lower() in W.ROLE_ACRONYMS else p for p in parts)


def find_decision_maker(text: str) -> list[Found]:
    """Decision-maker phrasing. A stated role ("I'm the CTO") alone has strength 0 (bare)."""
    role = ROLE_RE.search(text)
    extra: dict[str, Any] = {"role": _role_name(role)} if role else {}
    for pattern, value, shared, strength in _DM_RULES:
        m = pattern.search(text)
        if m:
            detail = {**extra, **({"shared": True} if shared else {})}
            return [Found(m.start(), m.end(), Parsed(value, detail), strength)]
    if role:
        return [Found(role.start(), role.end(), Parsed(True, extra), 0)]
    return []


def normalize_decision_maker(raw: Any) -> Outcome:
    if isinstance(raw, bool):
        return Parsed(raw, {})
    hit = best(find_decision_maker(str(raw)))
    return hit.result if hit else None


# -------------------------------------------------------------------------- boolean

_YES = re.compile(
    r"^\W*(?:yes|yep|yeah|yup|ya|yea|y|sure|correct|true|affirmative|of\s+course|definitely|absolutely|"
    r"certainly|indeed|right|ok(?:ay)?|i\s+do|we\s+do|i\s+am|we\s+are|that'?s\s+right)\b",
    _I,
)
_NO = re.compile(
    r"^\W*(?:no|nope|nah|n|false|negative|not\s+really|not\s+at\s+all|never|i\s+don'?t|we\s+don'?t|"
    r"i'?m\s+not|we'?re\s+not|i\s+am\s+not|we\s+are\s+not)\b",
    _I,
)


def normalize_boolean(raw: Any) -> Outcome:
    if isinstance(raw, bool):
        return Parsed(raw, {})
    text = str(raw)
    if _NO.match(text):
        return Parsed(False, {})
    if _YES.match(text):
        return Parsed(True, {})
    return None


# ---------------------------------------------------------------------------- email

# Anything around an "@": trailing punctuation is dropped before validation.
EMAIL_TOKEN = re.compile(r"(?:mailto:)?([^\s<>()\[\]{},;:\"'`@]*@[^\s<>()\[\]{},;:\"'`]*)", _I)
_DEOBFUSCATE = re.compile(
    r"\b([\w.+-]+)\s*(?:\[at\]|\(at\)|\s+at\s+)\s*([\w-]+(?:\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\.)\s*[\w-]+)+)\b",
    _I,
)


def _clean_email_token(token: str) -> str:
    return token.strip().rstrip(".!?,;:)")


def normalize_email(raw: Any) -> Outcome:
    """An address -> lowercased normalised form; "jane@" / "jane@acme" -> email_no_domain."""
    text = _clean_email_token(str(raw))
    m = EMAIL_TOKEN.search(text)
    if m is None:
        return None
    address = _clean_email_token(m.group(1))
    local, _, domain = address.partition("@")
    if not local:
        return Rejected("email_invalid")
    if not domain or re.fullmatch(r"[\w-]+", domain):
        return Rejected("email_no_domain")  # "jane@", "jane@acme": the domain is missing or cut short
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return Rejected("email_invalid")
    return Parsed(valid.normalized.lower(), {})


def find_emails(text: str) -> list[Found]:
    found: list[Found] = []
    for m in EMAIL_TOKEN.finditer(text):
        token = _clean_email_token(m.group(1))
        if token.startswith("@"):
            continue  # "@acme", "meet @ 5": not an attempt at an address
        result = normalize_email(token)
        if result is not None:
            found.append(Found(m.start(1), m.start(1) + len(token), result, 3))
    return found


def deobfuscate_email(text: str) -> str | None:
    """'jane at acme dot com' -> 'jane@acme.com' (only used when an email was asked for)."""
    m = _DEOBFUSCATE.search(text)
    if m is None:
        return None
    domain = re.sub(r"\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\.)\s*", ".", m.group(2), flags=_I)
    return f"{m.group(1)}@{domain}"


# ---------------------------------------------------------------------------- phone

_PHONE_CANDIDATE = re.compile(
    r"(?<![\w$€£@.,])(?:\+|00)?\s?\(?\d[\d\s().\-/]*\d(?![\w@%])|(?<![\w$€£@])\d(?![\w@%])"
)
_MONEY_AFTER = re.compile(rf"^\s*(?:{W.MULTIPLIER}|{W.CURRENCY_SYMBOL}|{W.CURRENCY_WORD})", _I)


def _phone_parsed(number: phonenumbers.PhoneNumber, default_region: str) -> Parsed:
    region = phonenumbers.region_code_for_number(number) or default_region
    detail = {
        "national": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "region": region,
        "domestic": region == default_region,
    }
    return Parsed(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), detail)


def _parse_phone(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    candidate = candidate.strip()
    attempts = [candidate]
    if candidate.startswith("00"):  # "0044 20 …": international prefix outside 00-dialling regions
        attempts.append("+" + candidate[2:])
    for attempt in attempts:
        try:
            number = phonenumbers.parse(attempt, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def find_phones(text: str, region: str) -> list[Found]:
    """Valid numbers (strength 3) and digit runs that are not valid numbers (Rejected, strength 0)."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for hit in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        if (hit.start > 0 and text[hit.start - 1] in "$€£") or _MONEY_AFTER.match(text, hit.end):
            continue  # "$4155550100" is an amount, however odd
        found.append(Found(hit.start, hit.end, _phone_parsed(hit.number, region), 3))
        taken.append((hit.start, hit.end))
    for m in _PHONE_CANDIDATE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        number = _parse_phone(m.group(0), region) if len(digits) >= 7 else None
        if number is not None and not _MONEY_AFTER.match(text, m.end()):
            found.append(Found(m.start(), m.end(), _phone_parsed(number, region), 3))
        else:
            found.append(Found(m.start(), m.end(), Rejected("phone_invalid"), 0))
    return found


def normalize_phone(raw: Any, region: str = "US") -> Outcome:
    """A phone number -> E.164, detail {national, international, region, domestic}."""
    found = find_phones(str(raw), region)
    good = [f for f in found if isinstance(f.result, Parsed)]
    if good:
        return good[0].result
    return Rejected("phone_invalid") if found else None


# ------------------------------------------------------------------ names and companies

# Openers people put in front of an answer ("Sure! It's Jane").
CHATTER = re.compile(
    r"^(?:\s*(?:sure(?:\s+thing)?|ok(?:ay)?|k|yes|yeah|yep|yup|hi(?:\s+there)?|hello|hey|well|of\s+course|certainly|"
    r"absolutely|no\s+problem|np|thanks|thank\s+you|oh|ah|so|um+|uh+|hmm+|right|alright|fine|great|cool)\b[\s,.!:;-]*)+",
    _I,
)
_NAME_LEAD = re.compile(
    r"^(?:(?:my|the|first|full|his|her)\s+name(?:'s|’s|\s+is)?\s*:?\s*|name\s*[:=-]?\s+|name's\s+|"
    r"it(?:'s|’s|\s+is)\s+|its\s+|i(?:'m|’m|\s+am)\s+|im\s+|this\s+is\s+|(?:you\s+can\s+|just\s+)?call\s+me\s+|"
    r"i\s+go\s+by\s+|they\s+call\s+me\s+|me\s+is\s+)",
    _I,
)
_NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’.-])*$")


def strip_chatter(text: str, lead: re.Pattern[str] | None = None) -> str:
    """Drop openers ("Sure!", "It's", "My name is") until the text stops changing."""
    previous = None
    text = text.strip()
    while previous != text:
        previous = text
        text = CHATTER.sub("", text).strip()
        if lead is not None:
            text = lead.sub("", text).strip()
    return text


def name_tokens(text: str) -> tuple[list[str], str]:
    """Leading tokens that can form a name, and the rest of the text after them."""
    tokens: list[str] = []
    rest = text
    for m in re.finditer(r"\S+", text):
        raw = m.group(0)
        word = raw.rstrip(",;:!?)\x1f")
        ends_clause = word != raw
        if word.endswith(".") and word[:-1].lower() not in W.NAME_ABBREVIATIONS and len(word) > 2:
            word, ends_clause = word[:-1], True
        if not word or word.lower() in W.NAME_STOP or not _NAME_TOKEN.match(word):
            rest = text[m.start() :]
            break
        tokens.append(word)
        rest = text[m.end() :]
        if ends_clause:
            break
    return tokens, rest.strip()


def tidy_name(tokens: Sequence[str], *, lowercase_text: bool) -> str | None:
    """Validate name tokens and render them; None when they do not look like a name."""
    if not 1 <= len(tokens) <= 5:
        return None
    if any(t.lower().strip(".") in W.NOT_NAME for t in tokens[:1]) or any(
        t.lower() in W.NOT_NAME - {"the"} for t in tokens
    ):
        return None
    if lowercase_text and re.search(r"(?:ing|ed|ly)$", tokens[0].lower()) and len(tokens) == 1:
        return None
    if any(t.lower() in W.COMPANY_SUFFIXES for t in tokens[1:]):
        return None  # "Acme Corp" is a company
    name = " ".join(tokens)
    if len(name) > MAX_NAME:
        return None
    if name == name.lower():
        name = name.title()
    return name


def normalize_person_name(raw: Any) -> Outcome:
    """'Sure! It's Jane Doe' -> 'Jane Doe'; 'my name is jane doe' -> 'Jane Doe'."""
    text = strip_chatter(str(raw), _NAME_LEAD)
    clause = re.split(r"[,;!?\n\x1f]|\s[-–—]\s", text, maxsplit=1)[0].strip()
    if not clause:
        return None
    if re.search(r"[\d@]", clause) or len(clause) > MAX_NAME:
        return Rejected("name_invalid")
    if text.rstrip().endswith("?"):
        return None  # a question back ("why do you need it?") is not a name
    tokens, _rest = name_tokens(clause)
    name = tidy_name(tokens, lowercase_text=clause == clause.lower())
    return Parsed(name, {}) if name else None


_SUFFIX_STEMS = frozenset(x.rstrip(".") for x in W.COMPANY_SUFFIXES)
_COMPANY_LEAD = re.compile(
    r"^(?:it(?:'s|’s|\s+is)\s+|its\s+|we(?:'re|’re|\s+are)\s+(?:called\s+)?|i(?:'m|’m|\s+am)\s+(?:with|from|at)\s+|"
    r"i\s+(?:work|am\s+working|'m\s+working)\s+(?:at|for|with)\s+|(?:our|my|the)\s+(?:company|business|firm|startup|"
    r"organi[sz]ation|org|agency)(?:'s|\s+is)?\s*(?:name\s+is\s+|called\s+|named\s+)?:?\s*|company\s*[:=-]\s*|"
    r"(?:i'?m\s+)?(?:calling|writing|reaching\s+out)\s+from\s+|(?:we\s+are\s+|we'?re\s+)?called\s+|from\s+|at\s+|with\s+)",
    _I,
)
_SELF_EMPLOYED = re.compile(
    r"^(?:i'?m\s+|i\s+am\s+)?(?:a\s+)?(?:self[- ]employed|freelanc(?:e|er|ing)|independent(?:\s+consultant)?|"
    r"sole\s+(?:trader|proprietor)|(?:i\s+work\s+)?(?:for\s+)?myself|just\s+me|my\s+own(?:\s+business)?)\W*$",
    _I,
)
_COMPANY_TOKEN = re.compile(r"^[\w&@+!.'’/-]+$")


def _is_suffix(token: str) -> bool:
    return token.lower().rstrip(".,") in _SUFFIX_STEMS


def company_tokens(text: str, *, mixed_case: bool) -> list[str]:
    """Leading tokens of a company name in running text.

    A stop word ("and", "we", "in") ends the name, and in mixed-case text so does any
    lower-case word — unless it is a connective before a capitalised word ("Bank of
    America", "Procter & Gamble"). Suffixes are kept with their punctuation ("Acme, Inc.").
    """
    raw_tokens = re.findall(r"\S+", text)
    tokens: list[str] = []
    for i, raw in enumerate(raw_tokens):
        following = raw_tokens[i + 1] if i + 1 < len(raw_tokens) else ""
        word = raw.rstrip(',;:!?)"\x1f')
        ends = word != raw and not (raw.endswith(",") and _is_suffix(following))
        if word.endswith(".") and not _is_suffix(word) and not re.search(r"\w\.\w", word):
            word, ends = word[:-1], True  # a full stop that closes the sentence
        if not word or not _COMPANY_TOKEN.match(word):
            break
        lower = word.lower()
        joins_next = lower in W.COMPANY_CONNECTIVES and following[:1].isupper()
        if tokens and not joins_next:
            if lower in W.COMPANY_STOP:
                break
            if mixed_case and word[:1].islower() and not _is_suffix(word):
                break
        tokens.append(word + "," if raw.endswith(",") and not ends else word)
        if ends:
            break
    while tokens and tokens[-1].lower() in W.COMPANY_CONNECTIVES:
        tokens.pop()
    return tokens


# Where a bare company answer ends: sentence punctuation, a full stop that does not close
# an abbreviated suffix ("Acme Inc. is…" keeps "Inc."), a comma not followed by a suffix.
_SUFFIX_WORDS = sorted({s.rstrip(".") for s in W.COMPANY_SUFFIXES if "." not in s.rstrip(".")}, key=len)
_COMPANY_CLAUSE_END = re.compile(
    r"[;!?\n\x1f]"
    + r"|(?<=\.)\s+(?=(?:we|i|our|my|it|they|you|and|but|so|thanks|thank)\b)"
    + r"|"
    + "".join(rf"(?<!\b{s})" for s in _SUFFIX_WORDS)
    + r"\.(?:\s+|$)"
    + rf"|,\s+(?!{_any(*_SUFFIX_WORDS)}\b)",
    _I,
)


def normalize_company(raw: Any) -> Outcome:
    """'Sure! It's Stark Industries.' -> 'Stark Industries'; keeps 'Inc.' / 'GmbH'."""
    text = strip_chatter(str(raw), _COMPANY_LEAD)
    if _SELF_EMPLOYED.match(text):
        return Parsed("Self-employed", {})
    text = re.sub(r"^the\s+(?=[a-z])", "", text)  # "the acme corp" (but keep "The Home Depot")
    clause = _COMPANY_CLAUSE_END.split(text, maxsplit=1)[0]
    clause = re.sub(r"\s+(?:here|thanks|thank\s+you|please)\W*$", "", clause.strip(), flags=_I)
    clause = clause.strip().rstrip(",;:!?").strip()
    if clause.endswith(".") and clause.split()[-1].lower() not in W.COMPANY_SUFFIXES:
        clause = clause[:-1].rstrip()
    if not clause or clause.endswith("?") or not re.search(r"\w", clause):
        return None
    if len(clause) > MAX_COMPANY:
        return Rejected("company_invalid")
    words = clause.split()
    if (
        clause.lower() in W.NOT_NAME
        or (words[0].lower() in W.NOT_NAME and words[0].lower() != "the")
        or len(words) > 8
    ):
        return None  # "a small agency doing web design" describes, it does not name
    return Parsed(clause, {})


# ----------------------------------------------------------------------------- text


_WH_QUESTION = re.compile(r"^\W*(?:what|why|how|who|where|when|which)\b.*\?\W*$", _I | re.DOTALL)


def normalize_text(raw: Any) -> Outcome:
    """Free text: trimmed, whitespace collapsed, at most MAX_TEXT characters (cut at a word).

    A question back ("what do you offer?") is not an answer, so it is not taken.
    """
    text = re.sub(r"\s+", " ", str(raw)).strip()
    if not re.search(r"\w", text) or not strip_chatter(text) or _WH_QUESTION.match(text):
        return None
    if len(text) > MAX_TEXT:  # cut at a word, the ellipsis included in the limit
        text = text[: MAX_TEXT - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return Parsed(text, {})


# --------------------------------------------------------------------------- choice

_ORDINALS = {
    "first": 0, "1st": 0, "one": 0, "second": 1, "2nd": 1, "two": 1, "third": 2, "3rd": 2, "three": 2,
    "fourth": 3, "4th": 3, "four": 3, "fifth": 4, "5th": 4, "five": 4, "sixth": 5, "6th": 5, "six": 5,
}  # fmt: skip
_POSITION = re.compile(
    r"^\W*(?:(?:the|option|choice|number|no\.?|#)\s*)*(?P<pos>\d{1,2}|first|second|third|fourth|fifth|sixth|"
    r"1st|2nd|3rd|4th|5th|6th|one|two|three|four|five|six|last)(?:\s+(?:one|option|choice))?\W*$",
    _I,
)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def match_choice(raw: Any, choices: Sequence[str]) -> int | None:
    """Index of the choice a reply picks: exact, unambiguous prefix or words, or position."""
    text = str(raw).strip()
    if not choices or not text:
        return None
    said = _words(text)
    folded = [_words(c) for c in choices]
    for i, words in enumerate(folded):
        if said == words:
            return i
    m = _POSITION.match(text)
    if m:
        pos = m.group("pos").lower()
        index = len(choices) - 1 if pos == "last" else (int(pos) - 1 if pos.isdigit() else _ORDINALS[pos])
        return index if 0 <= index < len(choices) else None
    if not said:
        return None
    prefix = [i for i, words in enumerate(folded) if words[: len(said)] == said]
    if len(prefix) == 1:
        return prefix[0]
    joined = " ".join(said)
    starts = [i for i, words in enumerate(folded) if " ".join(words).startswith(joined) and len(joined) >= 2]
    if len(starts) == 1:
        return starts[0]
    # every word of one label appears in the reply ("I'd say within 6 months")
    contained = [i for i, words in enumerate(folded) if words and all(w in said for w in words)]
    if len(contained) == 1:
        return contained[0]
    # the reply's words pick out exactly one label
    overlap = [i for i, words in enumerate(folded) if set(said) & (set(words) - _COMMON_CHOICE_WORDS)]
    return overlap[0] if len(overlap) == 1 else None


_COMMON_CHOICE_WORDS = frozenset(
    {"a", "an", "the", "it", "s", "is", "my", "i", "of", "to", "and", "or", "in", "within"}
)


def normalize_choice(raw: Any, choices: Sequence[str]) -> Outcome:
    index = match_choice(raw, choices)
    return Parsed(choices[index], {}) if index is not None else None


# ------------------------------------------------------------------------- dispatch


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


def _normalize_by_type(slot: Slot, raw: Any, flow: Flow, today: date) -> Outcome:
    kind = slot.type
    if kind == "money":
        return normalize_money(raw, flow.currency)
    if kind == "integer":
        return normalize_integer(raw)
    if kind == "timeline":
        return normalize_timeline(raw, today)
    if kind == "decision_maker":
        return normalize_decision_maker(raw)
    if kind == "boolean":
        return normalize_boolean(raw)
    if kind == "email":
        return normalize_email(raw)
    if kind == "phone":
        return normalize_phone(raw, flow.region)
    if kind == "person_name":
        return normalize_person_name(raw)
    if kind == "company":
        return normalize_company(raw)
    if kind == "choice":
        return normalize_choice(raw, slot.choices)
    return normalize_text(raw)


# ------------------------------------------------------------------------- display

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
