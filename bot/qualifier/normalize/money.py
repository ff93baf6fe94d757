"""Budgets: amounts in digits or words, with currency, multiplier, range and period.

Readings chosen where the product spec leaves room: ranges keep the low end as the value;
"up to X" / "at least X" / "X+" keep X as both bounds with detail["bound"]; "$" is the
flow's currency when that is a dollar (CAD, AUD, …), else USD; "1.500" is fifteen hundred;
"no budget" is 0. Every amount is converted to a monthly figure in whole units.
"""

from __future__ import annotations

import re
from typing import Any

from bot.qualifier import words as W
from bot.qualifier.normalize.numbers import round_half_up
from bot.qualifier.normalize.results import Found, Outcome, Parsed, Rejected, best

_I = re.IGNORECASE

MAX_MONEY = 1_000_000_000  # per month; beyond this it is a typo or a joke

# \x1f is extract's mask over text already read: a clause break like a comma.
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
