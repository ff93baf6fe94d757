"""Free-text answers, and the chatter people open any answer with ("Sure! It's …")."""

from __future__ import annotations

import re
from typing import Any

from bot.qualifier.normalize.results import Outcome, Parsed

_I = re.IGNORECASE

MAX_TEXT = 500

# Openers people put in front of an answer ("Sure! It's Jane").
CHATTER = re.compile(
    r"^(?:\s*(?:sure(?:\s+thing)?|ok(?:ay)?|k|yes|yeah|yep|yup|hi(?:\s+there)?|hello|hey|well|of\s+course|certainly|"
    r"absolutely|no\s+problem|np|thanks|thank\s+you|oh|ah|so|um+|uh+|hmm+|right|alright|fine|great|cool)\b[\s,.!:;-]*)+",
    _I,
)


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
