"""Contact details: email addresses and phone numbers."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.qualifier import words as W
from bot.qualifier.normalize.results import Found, Outcome, Parsed, Rejected

_I = re.IGNORECASE

# ---------------------------------------------------------------------------- email

# Anything around an "@": trailing punctuation is dropped before validation.
EMAIL_TOKEN = re.compile(r"(?:mailto:)?([^\s<>()\[\]{},;:\"'`@]*@[^\s<>()\[\]{},;:\"'`]*)", _I)
_DEOBFUSCATE = re.compile(
    r"\b([\w.+-]+)\s*(?:\[at\]|\(at\)|\s+at\s+)\s*([\w-]+(?:\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\.)\s*[\w-]+)+)\b",
    _I,
)


def _clean_email_token(token: str) -> str:
    return token.strip().rstrip(".!?,;:)")


def normalize_email(raw: Any) -> Outcome:
    """An address -> lowercased normalised form; "jane@" / "jane@acme" -> email_no_domain."""
    text = _clean_email_token(str(raw))
    m = EMAIL_TOKEN.search(text)
    if m is None:
        return None
    address = _clean_email_token(m.group(1))
    local, _, domain = address.partition("@")
    if not local:
        return Rejected("email_invalid")
    if not domain or re.fullmatch(r"[\w-]+", domain):
        return Rejected("email_no_domain")  # "jane@", "jane@acme": the domain is missing or cut short
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return Rejected("email_invalid")
    return Parsed(valid.normalized.lower(), {})


def find_emails(text: str) -> list[Found]:
    found: list[Found] = []
    for m in EMAIL_TOKEN.finditer(text):
        token = _clean_email_token(m.group(1))
        if token.startswith("@"):
            continue  # "@acme", "meet @ 5": not an attempt at an address
        result = normalize_email(token)
        if result is not None:
            found.append(Found(m.start(1), m.start(1) + len(token), result, 3))
    return found


def deobfuscate_email(text: str) -> str | None:
    """'jane at acme dot com' -> 'jane@acme.com' (only used when an email was asked for)."""
    m = _DEOBFUSCATE.search(text)
    if m is None:
        return None
    domain = re.sub(r"\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\.)\s*", ".", m.group(2), flags=_I)
    return f"{m.group(1)}@{domain}"


# ---------------------------------------------------------------------------- phone

_PHONE_CANDIDATE = re.compile(
    r"(?<![\w$€£@.,])(?:\+|00)?\s?\(?\d[\d\s().\-/]*\d(?![\w@%])|(?<![\w$€£@])\d(?![\w@%])"
)
_MONEY_AFTER = re.compile(rf"^\s*(?:{W.MULTIPLIER}|{W.CURRENCY_SYMBOL}|{W.CURRENCY_WORD})", _I)


def _phone_parsed(number: phonenumbers.PhoneNumber, default_region: str) -> Parsed:
    region = phonenumbers.region_code_for_number(number) or default_region
    detail = {
        "national": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "region": region,
        "domestic": region == default_region,
    }
    return Parsed(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), detail)


def _parse_phone(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    candidate = candidate.strip()
    attempts = [candidate]
    if candidate.startswith("00"):  # "0044 20 …": international prefix outside 00-dialling regions
        attempts.append("+" + candidate[2:])
    for attempt in attempts:
        try:
            number = phonenumbers.parse(attempt, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def find_phones(text: str, region: str) -> list[Found]:
    """Valid numbers (strength 3) and digit runs that are not valid numbers (Rejected, strength 0)."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for hit in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        if (hit.start > 0 and text[hit.start - 1] in "$€£") or _MONEY_AFTER.match(text, hit.end):
            continue  # "$4155550100" is an amount, however odd
        found.append(Found(hit.start, hit.end, _phone_parsed(hit.number, region), 3))
        taken.append((hit.start, hit.end))
    for m in _PHONE_CANDIDATE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        digits = re.sub(r"\D", "", m.group(0))
        number = _parse_phone(m.group(0), region) if len(digits) >= 7 else None
        if number is not None and not _MONEY_AFTER.match(text, m.end()):
            found.append(Found(m.start(), m.end(), _phone_parsed(number, region), 3))
        else:
            found.append(Found(m.start(), m.end(), Rejected("phone_invalid"), 0))
    return found


def normalize_phone(raw: Any, region: str = "US") -> Outcome:
    """A phone number -> E.164, detail {national, international, region, domestic}."""
    found = find_phones(str(raw), region)
    good = [f for f in found if isinstance(f.result, Parsed)]
    if good:
        return good[0].result
    return Rejected("phone_invalid") if found else None
