"""The message as it is read: text already read is masked out, keeping every offset, and
the folded forms the readers compare what is left in."""

from __future__ import annotations

import re

from bot.qualifier import words as W

MASK = "\x1f"  # replaces text already read; a word and clause boundary for every pattern


class Scan:
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


def keyword(text: str) -> str:
    """Lower-case, punctuation dropped (apostrophes kept), whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def content_words(text: str) -> list[str]:
    """The words that say something: masked values and filler ("it", "please", "the") left out."""
    words = re.findall(r"[^\W\d_][\w'-]*", text.replace(MASK, " "))
    return [w for w in words if w.lower() not in W.FILLER_WORDS]
