"""Intents: whole-message keywords (STOP, START, HELP) and requests for a human anywhere."""

from __future__ import annotations

import re

from bot.qualifier.scan import keyword

_I = re.IGNORECASE

# Whole-message keywords, matched against the message's `keyword` form (lower-case, no
# punctuation), so "STOP!" and "stop" are the same keyword.
_OPT_OUT = re.compile(
    r"(?:please\s+)?(?:stop|stopall|stop\s+all|unsubscribe|cancel|end|quit|opt\s*out|remove\s+me|revoke)"
    r"(?:\s+(?:me|us|now|please|it|this))*"
    r"(?:\s+from\s+(?:this|your|the|all)(?:\s+\w+){0,2})?(?:\s+please)?"
    r"|(?:please\s+)?(?:stop|quit|cease)\s+(?:messaging|texting|emailing|contacting|calling|spamming|bothering|"
    r"sending\s+(?:me\s+)?(?:messages|texts|emails|sms))(?:\s+(?:me|us))?(?:\s+(?:please|now))*"
    r"|(?:please\s+)?(?:don'?t|do\s+not|never)\s+(?:contact|message|text|email|call)\s+(?:me|us)(?:\s+again)?(?:\s+please)?"
    r"|leave\s+me\s+alone",
)
_OPT_IN = re.compile(r"start|unstop|yes|opt\s*in|subscribe|resume")
_HELP = re.compile(r"help|help\s+please|please\s+help")

# Asking for a person: anywhere in a message, unless negated just before.
_HANDOFF_TARGET = (
    r"(?:human(?:\s+being)?|person|agent|someone|somebody|anyone|anybody|rep|representative|salesperson|"
    r"sales(?:\s+(?:team|rep|person|people|department|guy|folks))?|operator|manager|team\s+member|support|"
    r"advisor|adviser|specialist|staff\s+member|employee|your\s+team)(?![\w-])"
    # "someone on my team" is an internal check, not a request for our staff
    r"(?!\s+(?:on|in|at|from)\s+(?:my|our)\b)"
)
_HANDOFF = re.compile(
    r"\b(?:talk|speak|chat|connect|transfer|put|get|hand|pass|switch)\s+(?:me\s+|us\s+)?"
    r"(?:to|with|through\s+to|over\s+to)\s+(?:a\s+|an\s+|the\s+|some\s+|your\s+|one\s+of\s+your\s+|someone\s+(?:in|from|on)\s+)?"
    rf"(?:real\s+|live\s+|actual\s+)?{_HANDOFF_TARGET}"
    r"|\b(?:want|need|like|get\s+me|give\s+me|can\s+i\s+(?:have|get)|may\s+i\s+have|request)\s+"
    r"(?:a\s+|an\s+)?(?:real\s+|live\s+|actual\s+)?(?:human|representative|operator|live\s+agent|real\s+person)(?![\w-])"
    r"|\b(?:real|live|actual)\s+(?:person|human|agent)(?![\w-])|\bhuman\s+being\b"
    r"|\b(?:representative|operator|human|agent)\s*,?\s+please\b"
    r"|^\W*(?:a\s+)?(?:human|agent|operator|representative|rep|real\s+person|person|sales|someone)\W*$",
    _I,
)
# Typographic apostrophes too: phones type "don’t".
_NEGATED = re.compile(r"\b(?:don['’]?t|do\s+not|no\s+need\s+to|not|never|without)\b[\w\s'’]{0,20}$", _I)


def handoff_spans(text: str) -> list[tuple[int, int]]:
    """Where the message asks for a human; extract masks these so they are not read as values."""
    spans = []
    for m in _HANDOFF.finditer(text):
        if _NEGATED.search(text[max(0, m.start() - 30) : m.start()]):
            continue  # "I don't need to talk to a human"
        spans.append((m.start(), m.end()))
    return spans


def detect_intents(text: str) -> frozenset[str]:
    """Whole-message keywords (opt_out, opt_in, help) and handoff requests anywhere."""
    key = keyword(text)
    intents: set[str] = set()
    if _OPT_OUT.fullmatch(key):
        intents.add("opt_out")
    elif _OPT_IN.fullmatch(key):
        intents.add("opt_in")
    elif _HELP.fullmatch(key):
        intents.add("help")
    if handoff_spans(text):
        intents.add("handoff")
    return frozenset(intents)


def mentions_any(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the message holds one of a flow's handoff phrases, as whole words, not negated.

    "pricing" matches "What's your pricing?" but not "repricing"; "I don't need a demo" does
    not match "demo".
    """
    for phrase in phrases:
        words = r"\s+".join(re.escape(word) for word in phrase.split())
        for m in re.finditer(rf"(?<![\w-]){words}(?![\w-])", text, _I):
            if not _NEGATED.search(text[max(0, m.start() - 30) : m.start()]):
                return True
    return False
