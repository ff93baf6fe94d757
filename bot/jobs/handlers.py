"""Which handler runs each kind of job, and how it is retried: one registry per app, shared by
the queues behind `app[keys.JOBS]` (features register during create_app, queues read at run time)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.jobs import DEFAULT_RETRY, FailedHandler, Handler, Job, Retry

log = logging.getLogger(__name__)

# A handler that runs longer than this is cut short and counts as a failed run: a job holds
# its place in the queue (a lease) only while it is known to be making progress.
RUN_LIMIT_SECONDS = 300.0
ERROR_CHARS = 500


@dataclass(frozen=True)
class Registered:
    handler: Handler
    retry: Retry
    on_failed: FailedHandler | None = None

    async def failed(self, job: Job) -> None:
        """Tell the kind's `on_failed` that `job` is now kept as failed. Its failure is on record
        already, so a callback that raises is logged, not raised: the queue goes on."""
        if self.on_failed is None:
            return
        try:
            await self.on_failed(job)
        except Exception:
            log.exception("job %s (%s): its on_failed callback failed", job.key, job.kind)


class Handlers:
    def __init__(self) -> None:
        self._by_kind: dict[str, Registered] = {}

    def register(
        self,
        kind: str,
        handler: Handler,
        retry: Retry = DEFAULT_RETRY,
        on_failed: FailedHandler | None = None,
    ) -> None:
        if not kind or kind != kind.strip():
            raise ValueError(f"a job kind must be a non-empty name, got {kind!r}")
        if kind in self._by_kind:
            raise ValueError(f"jobs of kind {kind!r} already have a handler")
        self._by_kind[kind] = Registered(handler, retry, on_failed)

    def get(self, kind: str) -> Registered | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)


def checked_payload(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `payload` as every queue stores it (JSON: Redis holds it as JSON, MongoDB as
    BSON), so a payload that one queue would refuse is refused by both, when scheduled."""
    try:
        copy: dict[str, Any] = json.loads(json.dumps(dict(payload), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a {kind!r} job's payload must be plain JSON (ids, not objects): {exc}") from None
    return copy


def error_text(exc: BaseException) -> str:
    """What a failed run leaves on the job for people to read."""
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:ERROR_CHARS]
