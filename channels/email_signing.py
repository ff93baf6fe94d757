"""Who may post inbound mail: Mailgun's request signature, or the URL key (SendGrid).

Mailgun signs each POST: `signature` = hex HMAC-SHA256(signing key, timestamp + token).
SendGrid Inbound Parse cannot sign, so its URL carries a shared secret, `?key=…`.
An inbound URL with neither configured accepts nothing, unless development mode says
otherwise (LEADBOT_EMAIL_INBOUND_INSECURE).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Final

# A signed request older (or newer) than this is a replay, or a clock far off.
MAILGUN_MAX_AGE: Final = timedelta(minutes=15)


class NotAllowed(Exception):
    """The request may not post mail; the message says why (answered 403)."""


def check_url_key(expected: str | None, given: str) -> None:
    if expected is None:
        raise NotAllowed("a ?key= was given but this server has no LEADBOT_EMAIL_INBOUND_KEY")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise NotAllowed("the inbound key (?key=) is wrong")


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def check_mailgun(signing_key: str, timestamp: str, token: str, signature: str, now: datetime) -> None:
    if not (timestamp and token and signature):
        raise NotAllowed("the Mailgun signature is missing (timestamp, token and signature fields)")
    expected = mailgun_signature(signing_key, timestamp, token)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise NotAllowed("the Mailgun signature does not match (check LEADBOT_MAILGUN_SIGNING_KEY)")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise NotAllowed("the Mailgun timestamp is not a number of seconds") from None
    if abs(now - signed_at) > MAILGUN_MAX_AGE:
        raise NotAllowed("the Mailgun signature is stale: its timestamp is more than 15 minutes away")
