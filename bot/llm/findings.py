"""What a reply mentions that the output checks (guard.py) care about: email addresses, phone
numbers, links and price promises. Each finder errs towards finding too much: a false alarm
costs a less natural reply (the offline one), a miss can leak another lead's data.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import phonenumbers

_I = re.IGNORECASE

# ------------------------------------------------------------------------------------ email

# "/" is legal in a local part but left out: "https://example.com@evil.com" is a link, read as one.
_EMAIL = re.compile(r"(?<![\w.!#$%&'*+=?^`{|}~-])[\w.!#$%&'*+=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", _I)
# "jane [at] example [dot] com", "jane(at)example.com", "jane at example dot com"
_BRACKETED = re.compile(
    r"([\w.+-]+)\s*[\[({]\s*at\s*[\])}]\s*([\w-]+(?:\s*(?:[\[({]\s*dot\s*[\])}]|\.)\s*[\w-]+)+)", _I
)
_SPELT = re.compile(r"\b([\w.+-]+)\s+at\s+([\w-]+(?:\s+dot\s+[\w-]+)+)\b", _I)
_DOT = re.compile(r"\s*(?:[\[({]\s*dot\s*[\])}]|\s+dot\s+|\.)\s*", _I)


def email_addresses(text: str) -> list[str]:
    """Every address written out or spelt to dodge filters, lowercased."""
    found = [m.group(0).rstrip(".").lower() for m in _EMAIL.finditer(text)]
    for pattern in (_BRACKETED, _SPELT):
        for m in pattern.finditer(text):
            domain = _DOT.sub(".", m.group(2))
            found.append(f"{m.group(1)}@{domain}".lower())
    return list(dict.fromkeys(found))


def _without_emails(text: str) -> str:
    """The text with addresses blanked, so an address's domain is not also read as a link."""
    return _EMAIL.sub(lambda m: " " * len(m.group(0)), text)


# ------------------------------------------------------------------------------------ phone


def normalise_phone(raw: str, region: str) -> str | None:
    """E.164 for anything that parses as a phone number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_numbers(text: str, region: str) -> list[str]:
    """Phone numbers in E.164. Valid numbers in any format; merely possible ones only when written
    internationally ("+1 555 0100"): "1000000 a year" is a budget, "+1 555 0100" is meant as a number."""
    found: list[str] = []
    text = _without_emails(text)
    for leniency in (phonenumbers.Leniency.VALID, phonenumbers.Leniency.POSSIBLE):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
            if leniency == phonenumbers.Leniency.POSSIBLE and not match.raw_string.lstrip().startswith("+"):
                continue
            found.append(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------------------------ links

# Top-level domains a bare "name.tld" is read as a link for: the common generic ones and every
# two-letter country code (the regions phonenumbers knows, plus a few that are not regions).
_GENERIC_TLD_NAMES = """
    com net org edu gov mil int info biz name pro io ai app dev co me tv ly xyz online site tech store shop
    cloud blog news live page link club top icu vip art design agency digital email global group media
    network solutions systems software support team tools website world zone uk eu ac
"""
_GENERIC_TLDS = frozenset(_GENERIC_TLD_NAMES.split())
_TLDS = _GENERIC_TLDS | {region.lower() for region in phonenumbers.SUPPORTED_REGIONS}
_URL_END = "\\s<>\"'`"
_SCHEMED = re.compile(rf"\b[a-z][a-z0-9+.-]*://[^{_URL_END}]+", _I)
_WWW = re.compile(rf"\bwww\.[^{_URL_END}]+", _I)
_BARE = re.compile(
    rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+([a-z]{{2,24}})\b(?::\d+)?(?:/[^{_URL_END}]*)?",
    _I,
)
_TRAILING = ".,;:!?)]}'\"…"


def links(text: str) -> list[str]:
    """Links with a scheme (https://, ftp://), starting www., or bare ("example.com/pricing")."""
    found: list[str] = []
    for pattern in (_SCHEMED, _WWW):
        for m in pattern.finditer(text):
            found.append(m.group(0).rstrip(_TRAILING))
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    for m in _BARE.finditer(_without_emails(text)):
        tld = m.group(1)
        # "hello.It" is a missing space, "example.COM" and "example.com" are links
        if tld.lower() in _TLDS and (tld.islower() or tld.isupper()):
            found.append(m.group(0).rstrip(_TRAILING))
    return list(dict.fromkeys(found))


def _parts(url: str) -> tuple[str | None, str, str]:
    """(scheme or None, host without "www.", path with dot segments resolved)."""
    has_scheme = re.match(r"[a-z][a-z0-9+.-]*://", url, _I) is not None
    split = urlsplit(url if has_scheme else f"//{url}")
    host = (split.hostname or "").rstrip(".").lower().removeprefix("www.")
    path = unquote(split.path)
    if path:
        # "/pricing/../admin" is /admin; normpath keeps a leading "//", which is not a path here
        path = "/" + posixpath.normpath(path).lstrip("/")
    return (split.scheme.lower() if has_scheme else None), host, path


def link_allowed(url: str, allowed: Sequence[str]) -> bool:
    """True if an entry of the allow-list covers the link. A bare host ("example.com") allows
    the host and its subdomains; an entry with a scheme or path is a prefix on whole segments."""
    scheme, host, path = _parts(url)
    if not host:
        return False
    for entry in allowed:
        entry = entry.strip()
        if not entry:
            continue
        rule_scheme, rule_host, rule_path = _parts(entry)
        if "/" not in entry:
            if host == rule_host or host.endswith("." + rule_host):
                return True
            continue
        if host != rule_host or (scheme and rule_scheme and scheme != rule_scheme):
            continue
        prefix = rule_path.rstrip("/")
        if not prefix or path == prefix or path.startswith(prefix + "/"):
            return True
    return False


# ------------------------------------------------------------------------------------ prices

_AMOUNT = r"\d[\d,.]*\s?(?:k|m|mm|thousand|million)?"
_PRICE_PATTERNS = [
    re.compile(p, _I)
    for p in (
        r"(?:US)?[$€£¥₹]\s?\d[\d,.]*\s?(?:k|m|mm|thousand|million)?",
        rf"{_AMOUNT}\s?(?:usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b",
        r"\b(?:usd|eur|gbp)\s?\d[\d,.]*",
        rf"{_AMOUNT}\s*(?:/|per|a|an|each)\s*(?:month|mo|year|yr|user|seat|licen[cs]e)\b",
        r"\b(?:costs?|priced?|pricing|fees?|charges?)\b[^.!?\n]{0,30}?\d[\d,.]*",
        r"\bprice (?:is|will be|starts|of)\b",
        r"(?<![\w-])(?<!feel )free\b(?![\s-]+(?:to|form)\b)",
        r"\b(?:at )?no (?:extra |additional )?(?:cost|charge)\b",
        r"\bdiscount(?:s|ed)?\b",
        r"\d+\s?%\s?off\b",
        r"\bpercent off\b",
        r"\bcoupons?\b",
        r"\bpromo(?:tion(?:al)?)? codes?\b",
        r"\bmoney[- ]back\b",
    )
]


def price_promises(text: str) -> list[str]:
    """Amounts of money and words that promise a price or a deal ("free", "discount", "20% off").
    Lenient on purpose: the flow says when prices may be talked about at all."""
    found: list[str] = []
    for pattern in _PRICE_PATTERNS:
        found.extend(m.group(0).strip() for m in pattern.finditer(text))
    return list(dict.fromkeys(found))
