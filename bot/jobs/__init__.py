"""Background jobs: work that must happen later, or again, and survive a restart.

Follow-ups to silent leads, score decay, CRM webhook deliveries and channel-send retries are
jobs. A job is a `kind` (which handler runs it), a JSON-safe `payload` (ids, never personal
data, so erasing a lead only has to cancel its jobs), a unique `key` and a time to run.

Two queues implement `Jobs`:
- `bot.jobs.local.StoreJobs`: jobs are documents in the store's `jobs` collection and each
  process runs the ones that fall due (a lease stops two processes running one job). This is the
  embedded mode's queue, and every mode's fallback while Redis is unreachable.
- `bot.jobs.redis.SaqJobs`: jobs on Redis with `saq`, when `LEADBOT_REDIS_URL` is set.

Handlers must be idempotent: a job may run more than once (a process dies mid-job, a lease
runs out). A handler that raises is retried with exponential backoff until its `attempts` are
used; then the job is kept as failed (see `Jobs.failed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Job:
    kind: str
    key: str  # unique among pending jobs: scheduling a key that is pending replaces it
    payload: Mapping[str, Any]
    run_at: datetime  # timezone-aware UTC
    subject: str | None = None  # the lead it is about: erasing the lead cancels it
    attempt: int = 1  # 1 on the first run, 2 on the first retry …
    last_error: str | None = None


Handler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    """How a kind of job is retried when its handler raises."""

    attempts: int = 5  # runs in all, the first included
    first_delay_seconds: float = 30.0  # doubled after each failure …
    max_delay_seconds: float = 6 * 3600.0  # … up to this
    jitter: float = field(default=0.1)  # ± this fraction, so retries do not stampede


class Jobs(Protocol):
    def handle(self, kind: str, handler: Handler, retry: Retry = Retry()) -> None:
        """Run `handler` for jobs of `kind` (register before `start`)."""
        ...

    async def schedule(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        run_at: datetime | None = None,  # None: now
        subject: str | None = None,
    ) -> None:
        """Run a job at `run_at`. A pending job with the same key is replaced (moved, new payload)."""
        ...

    async def cancel(self, key: str) -> bool:
        """Drop a pending job; False when there was none."""
        ...

    async def cancel_subject(self, subject: str) -> int:
        """Drop every pending and failed job about `subject` (a lead being erased); how many."""
        ...

    async def pending(self, *, subject: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs waiting to run (retries included), soonest first."""
        ...

    async def failed(self, *, kind: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs whose attempts are used up, newest first."""
        ...

    async def idle(self) -> None:
        """Wait until no job is running and none is due now (tests move a ManualClock, then await this)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Stop taking jobs; wait a little for running ones (they run again elsewhere if cut)."""
        ...
