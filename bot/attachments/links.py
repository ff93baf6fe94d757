"""Signed, expiring links to attachments, for those who are not agents: visitors and Twilio.

A link is `/attachments/{id}?expires=<unix seconds>&sig=<HMAC-SHA256(secret, "id:expires")>`.
Whoever holds it may fetch that one file until it expires; nothing else is granted, and a
link cannot be stretched or pointed at another file without the server's secret
(`bot.tokens.attachment_secret`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Final

from yarl import URL

# Long enough for Twilio to fetch an outbound MMS and a visitor to reopen the chat later today.
LINK_LIFETIME: Final = timedelta(hours=24)


def attachment_path(attachment_id: str) -> str:
    return f"/attachments/{attachment_id}"


class AttachmentLinks:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _signature(self, attachment_id: str, expires: int) -> str:
        message = f"{attachment_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed(self, attachment_id: str, now: datetime, lifetime: timedelta = LINK_LIFETIME) -> str:
        """The path with its query: relative, so the caller puts the public URL before it if needed."""
        expires = int((now + lifetime).timestamp())
        query = {"expires": str(expires), "sig": self._signature(attachment_id, expires)}
        return str(URL(attachment_path(attachment_id)).with_query(query))

    def valid(self, attachment_id: str, expires: str, signature: str, now: datetime) -> bool:
        if not expires.isdigit() or int(expires) < now.timestamp():
            return False
        return hmac.compare_digest(signature.encode(), self._signature(attachment_id, int(expires)).encode())
