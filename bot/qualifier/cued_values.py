"""Values a message marks clearly ("40 people", "$5k a month"), read for any slot, asked or not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.flows import Flow
from bot.qualifier.introductions import cued_company, cued_name
from bot.qualifier.need import cued_need
from bot.qualifier.normalize import (
    Found,
    Parsed,
    best,
    best_timeline,
    find_decision_maker,
    find_emails,
    find_integer,
    find_money,
    find_phones,
    find_timeline,
)
from bot.qualifier.scan import Scan


def _cued_email(scan: Scan, flow: Flow, today: date) -> Found | None:
    found = find_emails(scan.masked)
    good = [f for f in found if isinstance(f.result, Parsed)]
    return good[0] if good else (found[0] if found else None)


def _cued_phone(scan: Scan, flow: Flow, today: date) -> Found | None:
    good = [f for f in find_phones(scan.masked, flow.region) if isinstance(f.result, Parsed)]
    return good[0] if good else None


def _cued_money(scan: Scan, flow: Flow, today: date) -> Found | None:
    return best([f for f in find_money(scan.masked, flow.currency) if f.strength >= 1])


def _cued_timeline(scan: Scan, flow: Flow, today: date) -> Found | None:
    return best_timeline([f for f in find_timeline(scan.masked, today) if f.strength >= 2])


def _cued_integer(scan: Scan, flow: Flow, today: date) -> Found | None:
    return best([f for f in find_integer(scan.masked) if f.strength >= 2])


def _cued_decision(scan: Scan, flow: Flow, today: date) -> Found | None:
    return best([f for f in find_decision_maker(scan.masked) if f.strength >= 2])


# Every finder takes the same arguments, whether or not its type needs the flow or the date.
_Finder = Callable[[Scan, Flow, date], Found | None]

# One finder per slot type, in the order they read the message. Earlier types mask text
# for later ones, so the most unambiguous go first.
CUED_FINDERS: dict[str, _Finder] = {
    "email": _cued_email,
    "phone": _cued_phone,
    "money": _cued_money,
    "timeline": _cued_timeline,
    "integer": _cued_integer,
    "decision_maker": _cued_decision,
    "person_name": cued_name,
    "company": cued_company,
    "text": cued_need,
}
