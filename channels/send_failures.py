"""Which failed sends are worth trying again.

Transient: the provider could not be reached, was busy or failing — a timeout, a refused or
dropped connection, HTTP 5xx or 429, an SMTP 4xx reply. The same send may go through later.
Permanent: a refusal that would be the same next time — an invalid number, WhatsApp's closed
window with no template, an SMTP 5xx reply, a missing setting.
"""

from __future__ import annotations

import aiosmtplib


def is_transient(exc: BaseException) -> bool:
    flagged = getattr(exc, "transient", None)  # the channel knows (channels/twilio_send.py)
    if isinstance(flagged, bool):
        return flagged
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # before ConnectionError: 421 is one too
        return 400 <= exc.code < 500
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(400 <= r.code < 500 for r in exc.recipients)
    return isinstance(exc, TimeoutError | ConnectionError)
