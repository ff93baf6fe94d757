"""One exception for everything that can go wrong in a model call, whichever provider.

The failure budget (budget.py) decides on `kind` alone whether another attempt can help, so
each provider client maps its SDK's errors to these kinds and nothing else escapes it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Literal

from bot.llm.usage import Usage

FailureKind = Literal[
    "timeout",  # no answer before the attempt's deadline
    "rate_limited",  # 429: the provider asks us to slow down
    "server",  # 5xx, overloaded, an error event in the middle of a stream
    "malformed",  # an answer we cannot use: bad tool arguments, no tool call, an empty reply
    "connection",  # could not connect, or the connection dropped
    "refused",  # the model declined (refusal, content filter): asking again gets the same answer
    "auth",  # bad key, no permission, no credit: nothing a retry can fix
    "rejected",  # the provider refused the request itself (400/404/413/422): our request, not luck
]

# Failures another attempt may cure. A refusal, a bad key or a bad request only cost time again.
RETRYABLE: frozenset[FailureKind] = frozenset(
    {"timeout", "rate_limited", "server", "malformed", "connection"}
)


class LlmFailure(Exception):
    """A model call that gave nothing usable. `usage` counts tokens billed anyway (a refusal,
    malformed tool arguments); `retry_after` is the provider's requested pause, in seconds."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str = "",
        *,
        retry_after: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind: FailureKind = kind
        self.detail = detail
        self.retry_after = retry_after
        self.usage = usage or Usage()

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


def retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The pause a 429/503 asks for: `retry-after-ms` (OpenAI, Anthropic), else `Retry-After` in
    seconds or as an HTTP date. None when absent or unreadable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def kind_for_status(status: int) -> FailureKind:
    """What an HTTP error status means for another attempt, the same for every provider."""
    if status in (401, 402, 403):
        return "auth"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limited"
    if status == 409 or status >= 500:
        return "server"
    return "rejected"


def brief(error: object, limit: int = 200) -> str:
    """An error's message, short enough for a log line and a conversation's record."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
