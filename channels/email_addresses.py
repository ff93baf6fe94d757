"""Addresses of the email channel: the plus-addressed reply-to, and conversation contacts.

An email conversation's contact is the lead's address. Mail that failed its SPF/DKIM
checks gets a contact of its own, `unverified:<address>`: it can never open, or be
recorded into, the conversation (and lead) of the address it claims to be from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from bot.settings import EmailSettings

UNVERIFIED: Final = "unverified:"


def reply_to_address(settings: EmailSettings, token: str) -> str:
    """leads@example.com → leads+<token>@example.com"""
    local, _, domain = settings.from_address.partition("@")
    return f"{local}+{token}@{domain}"


def token_in(recipients: Iterable[str], settings: EmailSettings) -> str | None:
    """The conversation token of the first recipient addressed `<our local part>+<token>@…`.

    Any domain: inbound mail may arrive on a receiving subdomain; the token decides."""
    local = re.escape(settings.from_address.partition("@")[0])
    pattern = re.compile(rf"^{local}\+([0-9a-z]{{8,64}})@", re.IGNORECASE)
    for address in recipients:
        match = pattern.match(address.strip())
        if match:
            return match.group(1).lower()
    return None


def is_ours(address: str, settings: EmailSettings) -> bool:
    """Our own From address, plus-addressed or not (mail from it would be a loop)."""
    local, _, domain = settings.from_address.partition("@")
    their_local, _, their_domain = address.lower().partition("@")
    return their_domain == domain and their_local.split("+")[0] == local


def contact_for(address: str, *, verified: bool) -> str:
    return address if verified else f"{UNVERIFIED}{address}"


def is_unverified(contact: str) -> bool:
    return contact.startswith(UNVERIFIED)


def address_of(contact: str) -> str:
    return contact.removeprefix(UNVERIFIED)
