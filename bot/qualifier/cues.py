"""Cues about the answer rather than values: declining to answer, and correcting an earlier one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.flows import Slot
from bot.qualifier.scan import MASK, keyword
from bot.qualifier.words import any_of

_I = re.IGNORECASE

# Declining to answer. These match the `keyword` form of the reply (lower-case, no
# punctuation), so they need no IGNORECASE.
_SKIP = any_of(
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
_SKIP_TAIL_WORDS = any_of(
    "yet", r"for\s+now", r"right\s+now", r"at\s+the\s+moment", r"at\s+this\s+point", "sorry", "thanks",
    r"thank\s+you", "tbh", "either",
)  # fmt: skip
_SKIP_TAIL = rf"(?:\s+{_SKIP_TAIL_WORDS})*"
_SKIP_FULL = re.compile(rf"(?:{_SKIP_FILLER}\s+)*{_SKIP}{_SKIP_TAIL}")
_SKIP_PREFIX = re.compile(
    rf"^(?:{_SKIP_FILLER}\s+)*{_SKIP}{_SKIP_TAIL}(?:\s*$|\s*[,.;!?\x1f-]|\s+(?:but|and|maybe|perhaps)\b)", _I
)
_NO = re.compile(r"(?:no|nope|nah|no\s+way)")
_YES_NO_TYPES = frozenset({"decision_maker", "boolean"})

# Correction cues. A "weak" one is mostly politeness ("sorry, 5000" answers the question
# just asked); a "strong" one points back ("I meant 40" fixes the previous answer).
_WEAK_CUE = any_of("sorry", "apologies", r"my\s+apologies")
_STRONG_CUE = any_of(
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
    key = _folded(text)
    if not key:
        return False
    if _SKIP_FULL.fullmatch(key):
        return True
    if slot.type not in _YES_NO_TYPES and not _yes_no_choices(slot):
        return bool(_NO.fullmatch(key))
    return False


def opens_with_skip(text: str) -> bool:
    """The reply starts by declining ("not sure, maybe 40") and may go on to answer anyway."""
    return bool(_SKIP_PREFIX.match(_folded(text)))


def _folded(text: str) -> str:
    """The reply's keyword form, values already read counting as spaces."""
    return keyword(text.replace(MASK, " "))


def _yes_no_choices(slot: Slot) -> bool:
    return any(re.match(r"\W*(?:yes|no)\b", c, _I) for c in slot.choices)


@dataclass(frozen=True)
class Correction:
    strength: str | None  # None, "weak" ("sorry, …") or "strong" ("I meant …", "actually …")
    lead_end: int  # length of the leading cue, masked before reading values


def detect_correction(text: str) -> Correction:
    m = _CORRECTION_LEAD.match(text)
    if m:
        strong = re.search(_STRONG_CUE, m.group(0), _I)
        return Correction("strong" if strong else "weak", m.end())
    if _CORRECTION_ANYWHERE.search(text):
        return Correction("weak", 0)
    return Correction(None, 0)
