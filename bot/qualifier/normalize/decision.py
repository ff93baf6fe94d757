"""Yes/no answers: whether the visitor makes the buying decision, and plain booleans.

Reading chosen where the product spec leaves room: shared decisions ("as a team",
"committee") count as no, with detail["shared"].
"""

from __future__ import annotations

import re
from typing import Any

from bot.qualifier import words as W
from bot.qualifier.normalize.results import Found, Outcome, Parsed, best
from bot.qualifier.words import any_of

_I = re.IGNORECASE

_ROLE = any_of(
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
_SUPERIORS = any_of(
    "boss", "manager", "supervisor", "superiors?", r"higher[- ]ups?", "leadership", "management", "board",
    "ceo", "cto", "cfo", "coo", "founders?", "co-?founders?", "owner", "director", "vp", r"head\s+of\s+\w+",
    r"team\s+lead", "lead", "executives?", "execs?", "partners?", "procurement", r"finance(?:\s+team)?",
    "legal", "purchasing", r"it\s+department", r"parent\s+company", "president", "chairman",
)  # fmt: skip
_DECIDE_VERB = any_of(
    "decides?", r"makes?\s+(?:the|that|those|all\s+the)\s+(?:call|decisions?)", r"has\s+the\s+final",
    "signs?", "approves?", r"will\s+decide", r"would\s+decide", r"calls\s+the\s+shots",
    r"(?:holds?|owns?)\s+the\s+budget", r"(?:has|needs|must)\s+to\s+approve", r"gets?\s+the\s+final",
    r"is\s+the\s+decision",
)  # fmt: skip
_DM_SHARED = any_of(
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
_DM_NO = any_of(
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
_DM_YES = any_of(
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
_DM_BARE_NO = any_of(
    "no", "nope", "nah", r"not\s+really", "negative", "n", r"not\s+quite", r"not\s+exactly", r"i'?m\s+not",
    r"i\s+am\s+not",
)  # fmt: skip
_DM_BARE_YES = any_of(
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
