"""Person and company names, from a bare answer or from running text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.qualifier import words as W
from bot.qualifier.normalize.results import Outcome, Parsed, Rejected
from bot.qualifier.normalize.text import strip_chatter
from bot.qualifier.words import any_of

_I = re.IGNORECASE

MAX_NAME = 80
MAX_COMPANY = 120

# What people say before their name ("My name is", "It's", "call me").
_NAME_LEAD = re.compile(
    r"^(?:(?:my|the|first|full|his|her)\s+name(?:'s|’s|\s+is)?\s*:?\s*|name\s*[:=-]?\s+|name's\s+|"
    r"it(?:'s|’s|\s+is)\s+|its\s+|i(?:'m|’m|\s+am)\s+|im\s+|this\s+is\s+|(?:you\s+can\s+|just\s+)?call\s+me\s+|"
    r"i\s+go\s+by\s+|they\s+call\s+me\s+|me\s+is\s+)",
    _I,
)
_NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’.-])*$")


def name_tokens(text: str) -> tuple[list[str], str]:
    """Leading tokens that can form a name, and the rest of the text after them."""
    tokens: list[str] = []
    rest = text
    for m in re.finditer(r"\S+", text):
        raw = m.group(0)
        word = raw.rstrip(",;:!?)\x1f")
        ends_clause = word != raw
        if word.endswith(".") and word[:-1].lower() not in W.NAME_ABBREVIATIONS and len(word) > 2:
            word, ends_clause = word[:-1], True
        if not word or word.lower() in W.NAME_STOP or not _NAME_TOKEN.match(word):
            rest = text[m.start() :]
            break
        tokens.append(word)
        rest = text[m.end() :]
        if ends_clause:
            break
    return tokens, rest.strip()


def tidy_name(tokens: Sequence[str], *, lowercase_text: bool) -> str | None:
    """Validate name tokens and render them; None when they do not look like a name."""
    if not 1 <= len(tokens) <= 5:
        return None
    if any(t.lower().strip(".") in W.NOT_NAME for t in tokens[:1]) or any(
        t.lower() in W.NOT_NAME - {"the"} for t in tokens
    ):
        return None
    if lowercase_text and re.search(r"(?:ing|ed|ly)$", tokens[0].lower()) and len(tokens) == 1:
        return None
    if any(t.lower() in W.COMPANY_SUFFIXES for t in tokens[1:]):
        return None  # "Acme Corp" is a company
    name = " ".join(tokens)
    if len(name) > MAX_NAME:
        return None
    if name == name.lower():
        name = name.title()
    return name


def normalize_person_name(raw: Any) -> Outcome:
    """'Sure! It's Jane Doe' -> 'Jane Doe'; 'my name is jane doe' -> 'Jane Doe'."""
    text = strip_chatter(str(raw), _NAME_LEAD)
    clause = re.split(r"[,;!?\n\x1f]|\s[-–—]\s", text, maxsplit=1)[0].strip()
    if not clause:
        return None
    if re.search(r"[\d@]", clause) or len(clause) > MAX_NAME:
        return Rejected("name_invalid")
    if text.rstrip().endswith("?"):
        return None  # a question back ("why do you need it?") is not a name
    tokens, _rest = name_tokens(clause)
    name = tidy_name(tokens, lowercase_text=clause == clause.lower())
    return Parsed(name, {}) if name else None


_SUFFIX_STEMS = frozenset(x.rstrip(".") for x in W.COMPANY_SUFFIXES)
_COMPANY_LEAD = re.compile(
    r"^(?:it(?:'s|’s|\s+is)\s+|its\s+|we(?:'re|’re|\s+are)\s+(?:called\s+)?|i(?:'m|’m|\s+am)\s+(?:with|from|at)\s+|"
    r"i\s+(?:work|am\s+working|'m\s+working)\s+(?:at|for|with)\s+|(?:our|my|the)\s+(?:company|business|firm|startup|"
    r"organi[sz]ation|org|agency)(?:'s|\s+is)?\s*(?:name\s+is\s+|called\s+|named\s+)?:?\s*|company\s*[:=-]\s*|"
    r"(?:i'?m\s+)?(?:calling|writing|reaching\s+out)\s+from\s+|(?:we\s+are\s+|we'?re\s+)?called\s+|from\s+|at\s+|with\s+)",
    _I,
)
_SELF_EMPLOYED = re.compile(
    r"^(?:i'?m\s+|i\s+am\s+)?(?:a\s+)?(?:self[- ]employed|freelanc(?:e|er|ing)|independent(?:\s+consultant)?|"
    r"sole\s+(?:trader|proprietor)|(?:i\s+work\s+)?(?:for\s+)?myself|just\s+me|my\s+own(?:\s+business)?)\W*$",
    _I,
)
_COMPANY_TOKEN = re.compile(r"^[\w&@+!.'’/-]+$")


def _is_suffix(token: str) -> bool:
    return token.lower().rstrip(".,") in _SUFFIX_STEMS


def company_tokens(text: str, *, mixed_case: bool) -> list[str]:
    """Leading tokens of a company name in running text.

    A stop word ("and", "we", "in") ends the name, and in mixed-case text so does any
    lower-case word — unless it is a connective before a capitalised word ("Bank of
    America", "Procter & Gamble"). Suffixes are kept with their punctuation ("Acme, Inc.").
    """
    raw_tokens = re.findall(r"\S+", text)
    tokens: list[str] = []
    for i, raw in enumerate(raw_tokens):
        following = raw_tokens[i + 1] if i + 1 < len(raw_tokens) else ""
        word = raw.rstrip(',;:!?)"\x1f')
        ends = word != raw and not (raw.endswith(",") and _is_suffix(following))
        if word.endswith(".") and not _is_suffix(word) and not re.search(r"\w\.\w", word):
            word, ends = word[:-1], True  # a full stop that closes the sentence
        if not word or not _COMPANY_TOKEN.match(word):
            break
        lower = word.lower()
        joins_next = lower in W.COMPANY_CONNECTIVES and following[:1].isupper()
        if tokens and not joins_next:
            if lower in W.COMPANY_STOP:
                break
            if mixed_case and word[:1].islower() and not _is_suffix(word):
                break
        tokens.append(word + "," if raw.endswith(",") and not ends else word)
        if ends:
            break
    while tokens and tokens[-1].lower() in W.COMPANY_CONNECTIVES:
        tokens.pop()
    return tokens


# Where a bare company answer ends: sentence punctuation, a full stop that does not close
# an abbreviated suffix ("Acme Inc. is…" keeps "Inc."), a comma not followed by a suffix.
_SUFFIX_WORDS = sorted({s.rstrip(".") for s in W.COMPANY_SUFFIXES if "." not in s.rstrip(".")}, key=len)
_COMPANY_CLAUSE_END = re.compile(
    r"[;!?\n\x1f]"
    + r"|(?<=\.)\s+(?=(?:we|i|our|my|it|they|you|and|but|so|thanks|thank)\b)"
    + r"|"
    + "".join(rf"(?<!\b{s})" for s in _SUFFIX_WORDS)
    + r"\.(?:\s+|$)"
    + rf"|,\s+(?!{any_of(*_SUFFIX_WORDS)}\b)",
    _I,
)


def normalize_company(raw: Any) -> Outcome:
    """'Sure! It's Stark Industries.' -> 'Stark Industries'; keeps 'Inc.' / 'GmbH'."""
    text = strip_chatter(str(raw), _COMPANY_LEAD)
    if _SELF_EMPLOYED.match(text):
        return Parsed("Self-employed", {})
    text = re.sub(r"^the\s+(?=[a-z])", "", text)  # "the acme corp" (but keep "The Home Depot")
    clause = _COMPANY_CLAUSE_END.split(text, maxsplit=1)[0]
    clause = re.sub(r"\s+(?:here|thanks|thank\s+you|please)\W*$", "", clause.strip(), flags=_I)
    clause = clause.strip().rstrip(",;:!?").strip()
    if clause.endswith(".") and clause.split()[-1].lower() not in W.COMPANY_SUFFIXES:
        clause = clause[:-1].rstrip()
    if not clause or clause.endswith("?") or not re.search(r"\w", clause):
        return None
    if len(clause) > MAX_COMPANY:
        return Rejected("company_invalid")
    words = clause.split()
    if (
        clause.lower() in W.NOT_NAME
        or (words[0].lower() in W.NOT_NAME and words[0].lower() != "the")
        or len(words) > 8
    ):
        return None  # "a small agency doing web design" describes, it does not name
    return Parsed(clause, {})
