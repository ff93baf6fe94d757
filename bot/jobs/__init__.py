"""Background jobs: work that must happen later, or again, and survive a restart.

Follow-ups to silent leads, score decay, CRM webhook deliveries and channel-send retries are
jobs. A job is a `kind` (which handler runs it), a JSON-safe `payload` (ids, never personal
data, so erasing a lead only has to cancel its jobs), a unique `key` and a time to run.

Two queues implement `Jobs`:
- `bot.jobs.local.StoreJobs`: jobs are documents in the store's `jobs` collection and each
  process runs the ones that fall due (a lease stops two processes running one job). This is the
  embedded mode's queue, and every mode's fallback while Redis is unreachable.
- `bot.jobs.redis.SaqJobs`: jobs on Redis with `saq`, when `LEADBOT_REDIS_URL` is set.

`app[keys.JOBS]` (bot/jobs/service.py) is the one features use, whichever runs behind it;
docs/jobs.md says how each mode behaves.

Handlers must be idempotent: a job may run more than once (a process dies mid-job, a lease
runs out). A handler that raises is retried with exponential backoff until its `attempts` are
used; then the job is kept as failed (see `Jobs.failed`), and the kind's `on_failed` callback,
if it has one, is told — however the job failed: its handler raised on its last run, or its
last runs were cut short (a process died with it, and the handler never finished).
"""

from __future__ import annotations

import random
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
# Told about a job that ended failed (its `last_error` says why), once it is kept as failed.
FailedHandler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True)
class Retry:
    """How a kind of job is retried when its handler raises."""

    attempts: int = 5  # runs in all, the first included
    first_delay_seconds: float = 30.0  # doubled after each failure …
    max_delay_seconds: float = 6 * 3600.0  # … up to this
    jitter: float = field(default=0.1)  # ± this fraction, so retries do not stampede

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"Retry.attempts must be at least 1, got {self.attempts}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"Retry.jitter must be a fraction in [0, 1), got {self.jitter}")

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the run after failed run number `attempt` (1, 2 …)."""
        doublings = min(max(0, attempt - 1), 60)  # 2**60 times anything is past any maximum
        base = min(self.max_delay_seconds, self.first_delay_seconds * 2.0**doublings)
        spread = base * self.jitter
        uniform = rng.uniform if rng is not None else random.uniform
        return max(0.0, base + uniform(-spread, spread))


DEFAULT_RETRY = Retry()


class Jobs(Protocol):
    def handle(
        self, kind: str, handler: Handler, retry: Retry = Retry(), on_failed: FailedHandler | None = None
    ) -> None:
        """Run `handler` for jobs of `kind` (register before `start`). `on_failed(job)` is called
        whenever a job of `kind` ends failed, however it failed (the handler raised on its last
        run, or its runs were cut short and the handler never finished): where a handler cleans
        up after its own last attempt, this is the cleanup for the runs it never saw end."""
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
        """Run a job at `run_at`. A pending job with the same key is replaced (moved, new payload);
        one running now finishes, and this one runs too, at its time. The payload must be plain JSON."""
        ...

    async def cancel(self, key: str) -> bool:
        """Drop a pending (or failed) job; False when there was none. A run under way finishes."""
        ...

    async def cancel_subject(self, subject: str) -> int:
        """Drop every pending and failed job about `subject` (a lead being erased); how many."""
        ...

    async def pending(self, *, subject: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs waiting to run (retries included) or running now, soonest first."""
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
