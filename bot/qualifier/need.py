"""The visitor's stated need in running text ("we need a CRM that …")."""

from __future__ import annotations

import re
from datetime import date

from bot.flows import Flow
from bot.qualifier.normalize import Found, Parsed, normalize_text
from bot.qualifier.scan import MASK, Scan, content_words
from bot.qualifier.words import any_of

_I = re.IGNORECASE

_WANTING = any_of(
    "need", "want", "wanna", r"'d\s+like\s+to", r"would\s+like\s+to", r"looking\s+for", r"looking\s+to",
    r"trying\s+to", r"hoping\s+to", r"struggling\s+with", r"struggle\s+with",
    r"have\s+(?:a\s+)?(?:problem|issue|trouble)s?\s+with",
)  # fmt: skip
# Where a stated need starts. The value keeps the cue ("we need a CRM") but not a joining
# "and"/"so" in front of a subject-less one ("…, and want to qualify leads faster").
_NEED_CUE = re.compile(
    rf"\b(?:we|i)(?:'re|\s+are|'m|\s+am)?\s+(?:really\s+|mainly\s+|mostly\s+|just\s+|currently\s+|urgently\s+)?"
    rf"{_WANTING}\b"
    r"|\b(?:our|my)\s+(?:main\s+|biggest\s+|big\s+|key\s+)?(?:problem|challenge|need|goal|pain(?:\s+point)?|issue)\s+is\b"
    rf"|(?:^\W*|\b(?:and|so)\s+)(?P<bare>(?:really\s+)?{_WANTING}\b)",
    _I,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n|$")
_CLAUSE_SPLIT = re.compile(r"(,\s*|\s+and\s+|\s+but\s+)")
# A later clause that starts talking about the visitor ends the need ("…, and I'm the CEO").
_ABOUT_ME = re.compile(r"^\s*(?:i'm|i\s+am|my|our\s+(?:budget|team|company)|we're\s+\d)\b", _I)


def _need_end(masked: str, start: int, stop: int) -> int:
    """End of the need that starts at `start`: before the first later clause that holds
    another value (masked) or is about the visitor, without trailing filler clauses."""
    end = start
    offset = start
    for i, piece in enumerate(_CLAUSE_SPLIT.split(masked[start:stop])):
        if i and not _CLAUSE_SPLIT.fullmatch(piece) and (MASK in piece or _ABOUT_ME.match(piece)):
            break
        offset += len(piece)
        if content_words(piece) and not _CLAUSE_SPLIT.fullmatch(piece):
            end = offset
    return end


def cued_need(scan: Scan, flow: Flow, today: date) -> Found | None:
    """The first stated need with words of its own, from its cue to the end of its clauses."""
    for m in _NEED_CUE.finditer(scan.masked):
        sentence = _SENTENCE_END.search(scan.masked, m.end())
        end = _need_end(scan.masked, m.start(), sentence.start() if sentence else len(scan.masked))
        if not content_words(scan.masked[m.end() : end]):
            continue  # "we need it next month": nothing left but the timeline
        start = m.start("bare") if m.group("bare") else m.start()
        value = normalize_text(scan.text[start:end])
        if isinstance(value, Parsed):
            return Found(start, end, value, 2)
    return None
