"""One HTTP attempt at a delivery: POST the body, signed, and say how it went.

A 2xx answer delivers. Anything else fails the attempt: another status (a redirect too: the
endpoint's url should be updated rather than followed blindly), a timeout, a refused
connection. The error keeps the start of the receiver's answer, which usually says why.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Final

import aiohttp

from bot.webhooks.deliveries import Attempt, Trigger
from bot.webhooks.signing import HEADER as SIGNATURE_HEADER
from bot.webhooks.signing import sign

TIMEOUT_SECONDS: Final = 10.0
ANSWER_CHARS: Final = 300
ANSWER_BYTES: Final = ANSWER_CHARS * 4  # enough for ANSWER_CHARS characters of UTF-8
USER_AGENT: Final = "leadbot-webhooks/1"
EVENT_HEADER: Final = "Leadbot-Event"
DELIVERY_HEADER: Final = "Leadbot-Delivery"


def headers(*, kind: str, delivery_id: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: kind,
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: signature,
    }


async def _start_of(response: aiohttp.ClientResponse) -> str:
    """The first ANSWER_CHARS of the answer, reading no more of it: an error page may be huge,
    or never end."""
    start = b""
    while len(start) < ANSWER_BYTES:
        chunk = await response.content.read(ANSWER_BYTES - len(start))
        if not chunk:
            break
        start += chunk
    try:
        return start.decode(response.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return start.decode("utf-8", errors="replace")


async def post(
    session: aiohttp.ClientSession,
    *,
    url: str,
    body: str,
    kind: str,
    delivery_id: str,
    secrets: list[str],
    now: datetime,
    trigger: Trigger,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> Attempt:
    data = body.encode()
    sent = headers(kind=kind, delivery_id=delivery_id, signature=sign(secrets, data, now))
    started = time.monotonic()

    def attempt(status_code: int | None, error: str | None) -> Attempt:
        elapsed = int((time.monotonic() - started) * 1000)
        return Attempt(at=now, trigger=trigger, status_code=status_code, error=error, duration_ms=elapsed)

    try:
        async with session.post(
            url,
            data=data,
            headers=sent,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as response:
            if 200 <= response.status < 300:
                return attempt(response.status, None)
            answer = (await _start_of(response))[:ANSWER_CHARS].strip()
            where = f" to {response.headers.get('Location')}" if 300 <= response.status < 400 else ""
            said = f": {answer}" if answer else ""
            return attempt(response.status, f"HTTP {response.status}{where}{said}")
    except TimeoutError:
        return attempt(None, f"no answer within {timeout_seconds:g} seconds")
    except aiohttp.ClientError as exc:
        return attempt(None, f"{type(exc).__name__}: {exc}"[:ANSWER_CHARS])
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return attempt(None, f"{type(exc).__name__}: {exc}"[:ANSWER_CHARS])
