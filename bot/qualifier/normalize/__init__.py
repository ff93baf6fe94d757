"""Offline normalisers: one reader per slot type, plus `format_value` for display.

Each `find_*` function scans a whole message and returns every candidate it sees as a
`Found` (where it is, what it normalises to, how clearly the text marks it as that kind
of value). `extract.py` decides which candidates to keep. Each `normalize_*` function
reads a short answer (a bare reply, or a value an LLM proposes) and returns a `Parsed`
value, a `Rejected` reason, or None when it sees nothing of that type.

Strength of a candidate, used for unprompted pick-up and for choosing among several:
    0  bare: only acceptable as the answer to the question just asked
    1  weak cue (the word "budget" near a plain number)
    2  clear cue (a team noun, "per month", "in two weeks", "it's my call")
    3  unmistakable (a currency symbol or word)

One module per kind of value; where the product spec leaves room for more than one
reading, that module's docstring says which reading it chose:
    results   Parsed, Rejected, Found, Outcome, and `best` among candidates
    numbers   counts (the `integer` type) and the rounding all number readers share
    money     budgets, as a monthly figure
    timeline  start dates and durations, as a bucket
    decision  the decision maker and plain yes/no
    contact   email and phone
    names     person and company names
    text      free text, and the openers people put before any answer ("Sure! It's …")
    choices   picking one of a slot's quick-reply choices
    value     `normalize_value`: any slot, read by its type's normaliser
    display   `format_value`
"""

from bot.qualifier.normalize.choices import match_choice, normalize_choice
from bot.qualifier.normalize.contact import (
    EMAIL_TOKEN,
    deobfuscate_email,
    find_emails,
    find_phones,
    normalize_email,
    normalize_phone,
)
from bot.qualifier.normalize.decision import (
    ROLE_RE,
    find_decision_maker,
    normalize_boolean,
    normalize_decision_maker,
)
from bot.qualifier.normalize.display import format_value
from bot.qualifier.normalize.money import MAX_MONEY, QUALIFIER, find_money, normalize_money
from bot.qualifier.normalize.names import (
    MAX_COMPANY,
    MAX_NAME,
    company_tokens,
    name_tokens,
    normalize_company,
    normalize_person_name,
    tidy_name,
)
from bot.qualifier.normalize.numbers import (
    MAX_INTEGER,
    SOLO,
    find_integer,
    normalize_integer,
    round_half_up,
)
from bot.qualifier.normalize.results import Found, Outcome, Parsed, Rejected, best
from bot.qualifier.normalize.text import CHATTER, MAX_TEXT, normalize_text, strip_chatter
from bot.qualifier.normalize.timeline import (
    JUST_LOOKING,
    LONG_DAYS,
    TIMELINE_LABELS,
    best_timeline,
    find_timeline,
    normalize_timeline,
    timeline_bucket,
)
from bot.qualifier.normalize.value import normalize_value
from bot.qualifier.words import any_of

__all__ = [
    "CHATTER",
    "EMAIL_TOKEN",
    "JUST_LOOKING",
    "LONG_DAYS",
    "MAX_COMPANY",
    "MAX_INTEGER",
    "MAX_MONEY",
    "MAX_NAME",
    "MAX_TEXT",
    "QUALIFIER",
    "ROLE_RE",
    "SOLO",
    "TIMELINE_LABELS",
    "Found",
    "Outcome",
    "Parsed",
    "Rejected",
    "any_of",
    "best",
    "best_timeline",
    "company_tokens",
    "deobfuscate_email",
    "find_decision_maker",
    "find_emails",
    "find_integer",
    "find_money",
    "find_phones",
    "find_timeline",
    "format_value",
    "match_choice",
    "name_tokens",
    "normalize_boolean",
    "normalize_choice",
    "normalize_company",
    "normalize_decision_maker",
    "normalize_email",
    "normalize_integer",
    "normalize_money",
    "normalize_person_name",
    "normalize_phone",
    "normalize_text",
    "normalize_timeline",
    "normalize_value",
    "round_half_up",
    "strip_chatter",
    "tidy_name",
    "timeline_bucket",
]
