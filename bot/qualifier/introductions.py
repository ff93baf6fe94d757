"""Names and companies as people introduce them in running text ("I'm Jane, CTO at Acme")."""

from __future__ import annotations

import re
from datetime import date

from bot.flows import Flow
from bot.qualifier import words as W
from bot.qualifier.normalize import Found, Parsed, company_tokens, name_tokens, normalize_company, tidy_name
from bot.qualifier.scan import Scan

_I = re.IGNORECASE

_NAME_CUE = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name's|(?:first\s+|full\s+)?name\s*(?:is|:)|i\s+am|i'm|im|this\s+is|"
    r"call\s+me|i\s+go\s+by)\s+",
    _I,
)


def _name_after_cue(rest: str) -> tuple[str, int] | None:
    """A name at the start of `rest` (the text after "I'm" etc.) and how many characters it used."""
    mixed = rest != rest.lower()
    tokens, _ = name_tokens(rest)
    if not tokens or tokens[0].lower() in W.NOT_AFTER_IM:
        return None
    if mixed:
        kept: list[str] = []
        for t in tokens:
            if t[:1].isupper() or (kept and t.lower() in W.NAME_PARTICLES):
                kept.append(t)
            else:
                break
        tokens = kept
    else:
        tokens = tokens[:3]
    if not tokens:
        return None
    name = tidy_name(tokens, lowercase_text=not mixed)
    if name is None:
        return None
    last = rest.lower().find(tokens[-1].lower())
    return name, last + len(tokens[-1])


# "Jane Doe here, CTO of Acme": a name that opens the message and is followed by "here".
_NAME_HERE = re.compile(
    r"^\W*(?:(?:hi|hello|hey)(?:\s+there)?\W+)?(?P<name>[^\W\d_][\w'’.-]*(?:\s+[\w'’.-]+){0,3}?)\s+here\b", _I
)


def cued_name(scan: Scan, flow: Flow, today: date) -> Found | None:
    """A name after "my name is" / "I'm" / "call me", or opening the message before "here"."""
    for m in _NAME_CUE.finditer(scan.masked):
        hit = _name_after_cue(scan.masked[m.end() :])
        if hit:
            name, used = hit
            return Found(m.start(), m.end() + used, Parsed(name, {}), 2)
    here = _NAME_HERE.match(scan.masked)
    if here:
        hit = _name_after_cue(here.group("name"))
        if hit and len(hit[0]) == len(here.group("name")):
            return Found(here.start("name"), here.end(), Parsed(hit[0], {}), 2)
    return None


_ROLE_WORDS = (
    r"(?:ceo|cto|cfo|coo|cmo|cio|ciso|cpo|cro|founder|co-?founder|owner|director|manager|engineer|developer|"
    r"head\s+of\s+\w+|vp(?:\s+of)?\s+\w+|vp|lead|consultant|partner|marketer|designer|analyst|president|"
    r"product\s+manager|recruiter|administrator|admin)"
)
_ORGANISATION = (
    r"(?:company|company's\s+name|company\s+name|business|startup|firm|org|organi[sz]ation|agency)"
)
_IS_CALLED = r"(?:\s+is\s+called|\s+is\s+named|\s+name\s+is|\s+is|'s|’s|\s+called|\s*:)"
_COMPANY_CUES: list[tuple[re.Pattern[str], bool]] = [
    # (cue, needs a proper-looking name even in all-lower-case text)
    (re.compile(r"\bi\s+(?:work|am\s+working|'m\s+working|’m\s+working)\s+(?:at|for|with)\s+", _I), False),
    # not "I'm from X": offline, "I'm from Acme" and "I'm from Berlin" look the same
    (re.compile(r"\bi(?:'m|’m|\s+am)\s+(?:with|at)\s+", _I), False),
    (re.compile(r"\b(?:calling|writing|reaching\s+out|contacting\s+you|messaging)\s+from\s+", _I), False),
    (re.compile(rf"\b(?:our|my)\s+{_ORGANISATION}{_IS_CALLED}\s+", _I), False),
    (re.compile(r"\bcompany(?:\s+name)?\s*(?::|=|\bis\b)\s*", _I), False),
    (re.compile(rf"\b{_ROLE_WORDS}\s+(?:at|of|for|with)\s+", _I), False),
    (re.compile(r"\bwe(?:'re|’re|\s+are)\s+(?:called\s+)?", _I), True),
]
_NAME_THEN_COMPANY = re.compile(r"\s*,?\s*(?:from|with|at|of)\s+", _I)


def _company_at(scan: Scan, start: int, strict: bool) -> Found | None:
    """A company name starting at `start` in the masked text, if it looks like one."""
    rest = scan.masked[start:]
    mixed = scan.text != scan.text.lower()
    tokens = company_tokens(rest, mixed_case=mixed)
    if not tokens:
        return None
    first = tokens[0]
    if first.lower() in W.NOT_NAME or first.lower() in W.NOT_AFTER_IM or (first[:1].isdigit() and strict):
        return None
    if mixed and not (first[:1].isupper() or first[:1].isdigit()):
        return None
    has_suffix = any(t.lower().rstrip(",") in W.COMPANY_SUFFIXES for t in tokens[1:])
    if strict and not mixed and not has_suffix and not re.search(r"\w\.\w", first):
        return None  # "we're growing": in lower-case text only "we're acme inc" counts
    name = " ".join(tokens)
    result = normalize_company(name)
    if not isinstance(result, Parsed):
        return None
    end = start + rest.find(tokens[-1].rstrip(",")) + len(tokens[-1].rstrip(","))
    return Found(start, end, result, 2)


def cued_company(scan: Scan, flow: Flow, today: date, after_name: int | None = None) -> Found | None:
    """A company after a cue ("I work at", "CTO of"), or right after the name ending at `after_name`."""
    if after_name is not None:
        m = _NAME_THEN_COMPANY.match(scan.masked, after_name)
        if m:
            found = _company_at(scan, m.end(), strict=False)
            if found:
                return Found(after_name, found.end, found.result, 2)
    for cue, strict in _COMPANY_CUES:
        for m in cue.finditer(scan.masked):
            found = _company_at(scan, m.end(), strict)
            if found:
                return Found(m.start(), found.end, found.result, 2)
    return None
