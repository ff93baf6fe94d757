"""Picking one of a slot's quick-reply choices: by its words, a prefix, or its position."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.qualifier.normalize.results import Outcome, Parsed

_I = re.IGNORECASE

_ORDINALS = {
    "first": 0, "1st": 0, "one": 0, "second": 1, "2nd": 1, "two": 1, "third": 2, "3rd": 2, "three": 2,
    "fourth": 3, "4th": 3, "four": 3, "fifth": 4, "5th": 4, "five": 4, "sixth": 5, "6th": 5, "six": 5,
}  # fmt: skip
_POSITION = re.compile(
    r"^\W*(?:(?:the|option|choice|number|no\.?|#)\s*)*(?P<pos>\d{1,2}|first|second|third|fourth|fifth|sixth|"
    r"1st|2nd|3rd|4th|5th|6th|one|two|three|four|five|six|last)(?:\s+(?:one|option|choice))?\W*$",
    _I,
)

# Words too common to pick out a label on their own.
_COMMON_CHOICE_WORDS = frozenset(
    {"a", "an", "the", "it", "s", "is", "my", "i", "of", "to", "and", "or", "in", "within"}
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


def normalize_choice(raw: Any, choices: Sequence[str]) -> Outcome:
    index = match_choice(raw, choices)
    return Parsed(choices[index], {}) if index is not None else None
