"""Timelines: when the visitor wants to start, as a bucket (immediate, short, medium, long).

Readings chosen where the product spec leaves room: a month is 30 days and a quarter 90,
so "Within 3 months" is short and "Within 6 months" medium; "next month" is 45 days and
"next year" 365 whatever the date; "this year" / "by the end of the year" run to 31
December; a month name is its next 1st ("by June" in June is now); vague "later" answers
are 365.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.qualifier import words as W
from bot.qualifier.normalize.numbers import round_half_up
from bot.qualifier.normalize.results import Found, Outcome, Parsed
from bot.qualifier.words import any_of

_I = re.IGNORECASE

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

_NO_RUSH = any_of(
    r"no\s+rush", r"no\s+hurry", r"not\s+in\s+a\s+(?:big\s+|real\s+)?(?:rush|hurry)",
    r"not\s+(?:that\s+|very\s+)?urgent",
    r"no\s+(?:set\s+|fixed\s+|firm\s+|real\s+|specific\s+)?(?:timeline|time\s*frame|deadline|date)\b",
)  # fmt: skip
_RESEARCHING = any_of(
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
_DURATION_QUALIFIERS = any_of(
    "about", "around", "roughly", "approximately", "maybe", "~", "just", r"less\s+than", "under",
    r"a\s+little\s+over", r"more\s+than", "over", r"at\s+most", r"at\s+least", r"the\s+next",
)  # fmt: skip
_DURATION_QUAL = rf"(?:{_DURATION_QUALIFIERS}\s+)?"
_MONTH_EXPR = (
    rf"(?:(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?P<month>{W.MONTH})"
    r"(?:\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<year>20\d\d))?"
)
_MONTH_PRE_WORDS = any_of(
    "in", "by", "before", "until", "till", "around", "from", r"starting(?:\s+in)?", r"start\s+of",
    r"beginning\s+of", "early", "mid", "late", r"end\s+of", r"the\s+end\s+of", r"by\s+the\s+end\s+of",
    r"sometime\s+in", "during", "for", "after", "on",
)  # fmt: skip
_MONTH_PRE = rf"(?P<pre>\b{_MONTH_PRE_WORDS}(?:\s+|-)(?:the\s+)?)"
_END_OF_MONTH = any_of(
    r"\b(?:(?:by|before)\s+)?(?:the\s+)?end\s+of\s+(?:the|this)\s+month\b",
    r"\bthis\s+month\b",
    r"\bwithin\s+the\s+month\b",
)
_END_OF_QUARTER = any_of(
    r"\b(?:this|the\s+current)\s+quarter\b", r"\bend\s+of\s+(?:the\s+|this\s+)?quarter\b"
)
_END_OF_YEAR = any_of(
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
_SEASON_PRE = any_of(
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
