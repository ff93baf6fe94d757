"""Is this request from Twilio? `X-Twilio-Signature` checked against the URL Twilio called.

Twilio signs the full URL it requested (scheme, host, path and query) plus the form fields
with the account's Auth Token. Behind a proxy that URL is not the one this process sees, so
it is `LEADBOT_PUBLIC_URL` + the path and query; without a public URL it is rebuilt from the
request, and `X-Forwarded-Proto`/`X-Forwarded-Host` count only when the peer is one of
`LEADBOT_TRUSTED_PROXIES` (anyone else could send them to steer the check to another URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from bot import keys
from bot.client_address import trusted_peer
from bot.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"


class SignatureRefused(Exception):
    """The request is not signed by Twilio for this URL; `str()` says why."""


def _first(header: str | None) -> str | None:
    # A chain of proxies may list several values; the first is what the client asked for.
    value = (header or "").split(",")[0].strip()
    return value or None


def signed_url(request: web.Request, settings: Settings) -> str:
    """The URL Twilio requested, as it signed it."""
    if settings.public_url:
        return settings.public_url + request.raw_path
    scheme, host = request.scheme, request.host
    if trusted_peer(request, settings.trusted_proxies):
        scheme = _first(request.headers.get("X-Forwarded-Proto")) or scheme
        host = _first(request.headers.get("X-Forwarded-Host")) or host
    return f"{scheme}://{host}{request.raw_path}"


def verify_signature(request: web.Request, form: Mapping[str, Any]) -> None:
    """Raise `SignatureRefused` unless Twilio signed this form for the URL it called."""
    settings = request.app[keys.SETTINGS]
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise SignatureRefused(f"{SIGNATURE_HEADER} is missing; only Twilio may call this webhook")
    url = signed_url(request, settings)
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        raise SignatureRefused(
            f"{SIGNATURE_HEADER} does not match this request as sent to {url} "
            "(another URL, another Auth Token, or an altered body)"
        )
