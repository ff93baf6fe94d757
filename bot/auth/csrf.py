"""CSRF tokens: made at random, sent back in a header or form field, compared in constant time.

A browser attaches the session cookie to requests that another site makes it send; only our
own pages know the session's token (from `<meta name="csrf-token">` or a hidden field), so a
request that carries it was made by one of them.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from aiohttp import web

HEADER: Final = "X-CSRF-Token"
FIELD: Final = "csrf_token"
_FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def submitted_token(request: web.Request) -> str | None:
    """The token the request carries: the header, else the form field of a form post."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type in _FORMS:
        value = (await request.post()).get(FIELD)
        return value if isinstance(value, str) else None
    return None


def is_unsafe(request: web.Request) -> bool:
    return request.method not in SAFE_METHODS
