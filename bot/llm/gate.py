"""Streaming a reply without streaming what the output checks would block.

Deltas reach the widget before the reply is complete, so the checks (guard.py) run on what
is about to go out, not only on the final text. `ReleaseGate` holds the text back to the last
word that cannot still grow into something the checks care about: a word with a digit, "@",
".", "/", a currency sign (an address, a number, a link or an amount in the making), or "free",
"at", "dot" (their meaning depends on the next word). What it lets out has passed the checks
as a whole; once a check fails, nothing more goes out and `ReplyBlocked` is raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Checks over a whole text, e.g. functools.partial(check_reply, lead_contacts=…, …).
Check = Callable[[str], list[str]]

_HELD_WORD = re.compile(r"[\d@./:$€£¥₹%+#&=?]|^(?:free|at|dot|per|a|an)$", re.IGNORECASE)


class ReplyBlocked(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _release_end(text: str) -> int:
    """The end of the longest prefix whose words are all final: it ends in whitespace, after a
    word that no later text can turn into an address, number, link, amount or price word."""
    for m in reversed(list(re.finditer(r"\S+(?=\s)", text))):
        if not _HELD_WORD.search(m.group(0).strip(",;!?\"'()")):
            return m.end()
    return 0


class ReleaseGate:
    def __init__(self, check: Check) -> None:
        self._check = check
        self._text = ""
        self._released = 0

    @property
    def released(self) -> str:
        """What went out so far."""
        return self._text[: self._released]

    def feed(self, delta: str) -> str:
        """Take a delta; return the text that may go out now (often "")."""
        self._text += delta
        end = _release_end(self._text)
        if end <= self._released or not self._text[:end].strip():
            return ""
        return self._let_out(end, self._text[:end])

    def finish(self, final_text: str | None = None) -> str:
        """The reply is complete (`final_text`, if the provider's differs from the deltas):
        check all of it and return the rest."""
        if final_text is not None:
            if not final_text.startswith(self.released):
                raise ReplyBlocked(["stream: the final text differs from what was streamed"])
            self._text = final_text
        return self._let_out(len(self._text), self._text)

    def _let_out(self, end: int, candidate: str) -> str:
        problems = self._check(candidate)
        if problems:
            raise ReplyBlocked(problems)
        out = self._text[self._released : end]
        self._released = end
        return out
