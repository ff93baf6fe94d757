"""Signing webhook bodies, and checking a signature: what leadbot sends and receivers check.

Every delivery carries

    Leadbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

`body` is the request body exactly as received (bytes, before any JSON parsing). While a
rotated secret is still in its grace period the header holds one `v1=` per secret; a receiver
accepts the request when any of them matches its secret. A receiver should refuse timestamps
more than `TOLERANCE_SECONDS` away from its own clock, so a captured request cannot be
replayed later. `verify` does all of that (docs/webhooks.md shows the same in Node).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Final

HEADER: Final = "Leadbot-Signature"
SCHEME: Final = "v1"
TOLERANCE_SECONDS: Final = 300  # five minutes either way


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale, or does not match."""


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _seconds(now: datetime | float) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


def digest(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of `f"{timestamp}.{body}"` under `secret`."""
    message = f"{timestamp}.".encode() + _bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secrets: str | Sequence[str], body: bytes | str, now: datetime | float) -> str:
    """The `Leadbot-Signature` header value for `body` sent at `now`, one `v1=` per secret."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("sign needs at least one secret")
    timestamp = int(_seconds(now))
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={digest(key, timestamp, body)}" for key in keys)])


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"the timestamp {value!r} is not whole unix seconds") from None
        elif name == SCHEME:
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureError("the signature header has no t=<unix seconds>")
    if not signatures:
        raise SignatureError(f"the signature header has no {SCHEME}=<signature>")
    return timestamp, signatures


def verify(
    secret: str,
    header: str | None,
    body: bytes | str,
    now: datetime | float,
    tolerance: float = TOLERANCE_SECONDS,
) -> int:
    """Check a `Leadbot-Signature` header against `body`; return its timestamp.

    Raises SignatureError when the header is missing or malformed, when its timestamp is more
    than `tolerance` seconds from `now` (either way: a replay, or a badly wrong clock), or when
    no `v1=` signature matches `secret`.
    """
    if not header:
        raise SignatureError(f"the request has no {HEADER} header")
    timestamp, signatures = _parse(header)
    drift = abs(_seconds(now) - timestamp)
    if drift > tolerance:
        raise SignatureError(
            f"the signature's timestamp is {drift:.0f} seconds from now (at most {tolerance:.0f} allowed)"
        )
    expected = digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureError("no signature matches the secret")
    return timestamp
