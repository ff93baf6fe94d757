"""`StoreJobs`: background jobs as documents in the store's `jobs` collection.

The embedded mode's queue, and every mode's fallback while Redis is unreachable. Jobs outlive
the process: the embedded store snapshots them to disk, and on MongoDB every process shares
them (and runs them).

One document per job, `_id` its key:
  kind, payload, subject, run_at, attempt (this or the next run's number), state
  ("pending" | "running" | "failed"), lease_until and run_id (while running), last_error,
  created_at, failed_at.

A run starts by claiming its job in one `find_one_and_update` (pending and due, or running
with a lease that ran out), so two processes never run one job at once. The claim holds a
lease, renewed while the handler works; a process that dies mid-job loses it, and another
process (or this one, restarted) runs the job again — counted as an attempt, so a job that
kills its process cannot loop forever. Success deletes the document (only the run that
claimed it: a job scheduled again meanwhile under the same key stays); a failure moves
`run_at` on by the kind's backoff, or marks the job failed when its attempts are used up.
A job taken over when its attempts are all used (its last run was cut short) is marked failed
without running. Either way the kind's `on_failed` is called once the job is kept as failed.

The runner wakes through the injected `Timers` when the soonest job falls due (so tests move
a `ManualClock`), when this process schedules one, and every `poll_seconds` in any case, to see
jobs that other processes scheduled on a shared MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from bot.clock import Clock, TimerHandle, Timers
from bot.jobs import DEFAULT_RETRY, FailedHandler, Handler, Job, Retry
from bot.jobs.handlers import RUN_LIMIT_SECONDS, Handlers, Registered, checked_payload, error_text
from bot.store import Store, StoreUnavailable, new_id

log = logging.getLogger(__name__)

COLLECTION = "jobs"
POLL_SECONDS = 5.0
LEASE_SECONDS = 60.0  # renewed every third of it while the handler runs
CONCURRENCY = 8  # jobs running at once in one process
STOP_GRACE_SECONDS = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PENDING, RUNNING, FAILED = "pending", "running", "failed"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def job_from_doc(doc: Mapping[str, Any]) -> Job:
    return Job(
        kind=doc["kind"],
        key=doc["_id"],
        payload=doc.get("payload") or {},
        run_at=_aware(doc["run_at"]),
        subject=doc.get("subject"),
        attempt=int(doc.get("attempt", 1)),
        last_error=doc.get("last_error"),
    )


class StoreJobs:
    def __init__(
        self,
        store: Store,
        handlers: Handlers | None = None,
        *,
        clock: Clock,
        timers: Timers,
        exclusive: bool = False,
        poll_seconds: float = POLL_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        concurrency: int = CONCURRENCY,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        """`exclusive`: no other process uses this store (the embedded one holds a lock file),
        so jobs left running by an earlier life of this process are taken up at once on start."""
        self._jobs = store.collection(COLLECTION)
        self.handlers = handlers or Handlers()
        self._clock = clock
        self._timers = timers
        self._exclusive = exclusive
        self._poll_seconds = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._concurrency = concurrency
        self._stop_grace = stop_grace_seconds
        self._rng = rng
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._running_keys: dict[asyncio.Task[None], str] = {}  # which job each of them runs
        self._timer: TimerHandle | None = None
        self._timer_at: datetime | None = None
        self._stopping = False
        self._warned_kinds: set[str] = set()

    # -- Jobs ------------------------------------------------------------------------

    def handle(
        self,
        kind: str,
        handler: Handler,
        retry: Retry = DEFAULT_RETRY,
        on_failed: FailedHandler | None = None,
    ) -> None:
        self.handlers.register(kind, handler, retry, on_failed)

    async def schedule(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        run_at: datetime | None = None,
        subject: str | None = None,
    ) -> None:
        now = self._clock.now()
        if run_at is not None and run_at.utcoffset() is None:
            raise ValueError(f"run_at must be timezone-aware, got {run_at!r}")
        doc = {
            "kind": kind,
            "payload": checked_payload(kind, payload),
            "subject": subject,
            "run_at": (run_at or now).astimezone(UTC),
            "attempt": 1,
            "state": PENDING,
            "lease_until": None,
            "run_id": None,
            "last_error": None,
            "created_at": now,
        }
        # Replaces whatever the key held: pending (moved), failed (tried afresh), or running
        # (that run finishes and, not being this one, leaves this one in place).
        await self._jobs.replace_one({"_id": key}, doc, upsert=True)
        self._wake.set()

    async def cancel(self, key: str) -> bool:
        result = await self._jobs.delete_one({"_id": key})
        return bool(result.deleted_count)

    async def cancel_subject(self, subject: str) -> int:
        result = await self._jobs.delete_many({"subject": subject})
        return int(result.deleted_count)

    async def pending(self, *, subject: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs waiting to run, and those running now, soonest first."""
        query: dict[str, Any] = {"state": {"$in": [PENDING, RUNNING]}}
        if subject is not None:
            query["subject"] = subject
        if kind is not None:
            query["kind"] = kind
        cursor = self._jobs.find(query).sort("run_at", ASCENDING)
        return [job_from_doc(doc) async for doc in cursor]

    async def failed(self, *, kind: str | None = None, limit: int = 100) -> list[Job]:
        query: dict[str, Any] = {"state": FAILED}
        if kind is not None:
            query["kind"] = kind
        cursor = self._jobs.find(query).sort("failed_at", DESCENDING).limit(limit)
        return [job_from_doc(doc) async for doc in cursor]

    async def record_failed(self, job: Job, error: str) -> None:
        """Keep a job that failed elsewhere (on Redis) as failed here, where `failed` looks."""
        now = self._clock.now()
        doc = {
            "kind": job.kind,
            "payload": dict(job.payload),
            "subject": job.subject,
            "run_at": job.run_at,
            "attempt": job.attempt,
            "state": FAILED,
            "lease_until": None,
            "run_id": None,
            "last_error": error,
            "created_at": now,
            "failed_at": now,
        }
        await self._jobs.replace_one({"_id": job.key}, doc, upsert=True)

    async def idle(self) -> None:
        """Run whatever is due now, here, and wait until none is running or due."""
        while True:
            claimed = await self._take_due()
            if self._running:
                await asyncio.wait(set(self._running))
            elif claimed == 0:
                return

    async def start(self) -> None:
        await self.ensure_indexes()
        if self._exclusive:
            # Runs cut short by this process's last exit: their leases are void now.
            await self._jobs.update_many({"state": RUNNING}, {"$set": {"lease_until": _EPOCH}})
        self._stopping = False
        self._runner = asyncio.create_task(self._run_forever(), name="leadbot-jobs")

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        self._disarm()
        if not self._running:
            return
        _, late = await asyncio.wait(set(self._running), timeout=self._stop_grace)
        for task in late:
            task.cancel()  # the run gives its job back (see _run); it runs again later
        if late:
            await asyncio.wait(late)

    async def ensure_indexes(self) -> None:
        await self._jobs.create_index([("state", ASCENDING), ("run_at", ASCENDING)], name="by_state_due")
        await self._jobs.create_index([("subject", ASCENDING)], name="by_subject", sparse=True)
        await self._jobs.create_index([("state", ASCENDING), ("failed_at", DESCENDING)], name="by_failed")

    # -- running ---------------------------------------------------------------------

    async def _run_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._take_due()
                await self._warn_about_unhandled()
                await self._arm()
            except StoreUnavailable as exc:
                log.warning("jobs: the store is unavailable (%s); trying again soon", exc)
            except Exception:
                log.exception("jobs: the runner failed; trying again in %.0fs", self._poll_seconds)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()

    async def _take_due(self) -> int:
        """Claim due jobs and start them, up to the concurrency limit; how many were claimed."""
        claimed = 0
        while not self._stopping and len(self._running) < self._concurrency:
            found = await self._claim()
            if found is None:
                break
            doc, run_id = found
            task = asyncio.create_task(self._run(doc, run_id), name=f"job:{doc['_id']}")
            self._running.add(task)
            self._running_keys[task] = doc["_id"]
            task.add_done_callback(self._finished)
            claimed += 1
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._running_keys.pop(task, None)
        self._wake.set()  # a slot is free, and a retry may need the timer moved

    async def _claim(self) -> tuple[dict[str, Any], str] | None:
        kinds = self.handlers.kinds()
        if not kinds:
            return None
        now = self._clock.now()
        run_id = new_id()
        lease = {"lease_until": now + self._lease, "run_id": run_id}
        # A run whose process died (its lease ran out): taken over, and counted as an attempt.
        # Not one running here: its lease only looks out when the wall clock jumped ahead of
        # its heartbeat, and taking it over would run it twice at once.
        mine = list(self._running_keys.values())
        doc = await self._jobs.find_one_and_update(
            {"state": RUNNING, "lease_until": {"$lte": now}, "kind": {"$in": kinds}, "_id": {"$nin": mine}},
            {"$set": lease, "$inc": {"attempt": 1}},
            sort=[("lease_until", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            doc = await self._jobs.find_one_and_update(
                {"state": PENDING, "run_at": {"$lte": now}, "kind": {"$in": kinds}},
                {"$set": {"state": RUNNING, **lease}},
                sort=[("run_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
        return None if doc is None else (doc, run_id)

    async def _run(self, doc: Mapping[str, Any], run_id: str) -> None:
        try:
            await self._run_claimed(doc, run_id)
        except StoreUnavailable as exc:  # its lease runs out and it runs again: nothing is lost
            log.warning("job %s: the store is unavailable to record its run (%s)", doc["_id"], exc)
        except Exception:
            log.exception("job %s: its run could not be recorded", doc["_id"])

    async def _run_claimed(self, doc: Mapping[str, Any], run_id: str) -> None:
        job = job_from_doc(doc)
        registered = self.handlers.get(job.kind)
        assert registered is not None  # only handled kinds are claimed, and handlers stay
        mine = {"_id": job.key, "run_id": run_id}
        if job.attempt > registered.retry.attempts:  # its last runs were cut short
            error = "its runs were cut short (the process stopped or died)"
            log.error("job %s (%s) failed: %s", job.key, job.kind, error)
            await self._fail(mine, job, registered, error)
            return
        heartbeat = asyncio.create_task(self._keep_lease(mine), name=f"job-lease:{job.key}")
        try:
            async with asyncio.timeout(RUN_LIMIT_SECONDS):
                await registered.handler(job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # stopping: hand the job back for later
                await self._jobs.update_one(
                    mine, {"$set": {"state": PENDING, "lease_until": None, "run_id": None}}
                )
            raise
        except Exception as exc:
            await self._failed_run(mine, job, registered, exc)
        else:
            await self._jobs.delete_one(mine)
        finally:
            heartbeat.cancel()

    async def _keep_lease(self, mine: Mapping[str, Any]) -> None:
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._jobs.update_one(mine, {"$set": {"lease_until": self._clock.now() + self._lease}})
            except Exception as exc:  # the next beat tries again; the lease is three beats long
                log.warning("job %s: its lease could not be renewed (%s)", mine["_id"], exc)

    async def _failed_run(
        self, mine: Mapping[str, Any], job: Job, registered: Registered, exc: Exception
    ) -> None:
        error = error_text(exc)
        if job.attempt >= registered.retry.attempts:
            log.error("job %s (%s) failed for good after %d runs: %s", job.key, job.kind, job.attempt, error)
            await self._fail(mine, job, registered, error)
            return
        delay = registered.retry.delay_after(job.attempt, self._rng)
        log.warning(
            "job %s (%s) run %d failed (next in %.0fs): %s", job.key, job.kind, job.attempt, delay, error
        )
        await self._jobs.update_one(
            mine,
            {
                "$set": {
                    "state": PENDING,
                    "run_at": self._clock.now() + timedelta(seconds=delay),
                    "attempt": job.attempt + 1,
                    "last_error": error,
                    "lease_until": None,
                    "run_id": None,
                }
            },
        )

    async def _fail(self, mine: Mapping[str, Any], job: Job, registered: Registered, error: str) -> None:
        """Keep the job as failed, then tell its kind's `on_failed` (not when the key was
        scheduled anew meanwhile: that job is another one, still to run)."""
        result = await self._jobs.update_one(
            mine,
            {
                "$set": {
                    "state": FAILED,
                    "last_error": error,
                    "failed_at": self._clock.now(),
                    "lease_until": None,
                    "run_id": None,
                }
            },
        )
        if result.modified_count:
            await registered.failed(replace(job, last_error=error))

    # -- waking up -------------------------------------------------------------------

    async def _arm(self) -> None:
        """Set the timer for the soonest moment a job of ours falls due (or a lease runs out)."""
        kinds = self.handlers.kinds()
        soonest: list[datetime] = []
        for state, field in ((PENDING, "run_at"), (RUNNING, "lease_until")):
            cursor = (
                self._jobs.find({"state": state, "kind": {"$in": kinds}}, projection={field: 1})
                .sort(field, ASCENDING)
                .limit(1)
            )
            soonest.extend([_aware(doc[field]) async for doc in cursor if doc.get(field) is not None])
        when = min(soonest, default=None)
        if when == self._timer_at:
            return
        self._disarm()
        if when is not None:
            self._timer = self._timers.call_at(when, self._wake.set)
            self._timer_at = when

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    async def _warn_about_unhandled(self) -> None:
        """Jobs of a kind no handler here runs stay pending (a newer process may run them)."""
        doc = await self._jobs.find_one(
            {
                "state": PENDING,
                "run_at": {"$lte": self._clock.now()},
                "kind": {"$nin": [*self.handlers.kinds(), *self._warned_kinds]},
            },
            projection={"kind": 1},
        )
        if doc is not None:
            self._warned_kinds.add(doc["kind"])
            log.warning("jobs of kind %r are due but this process has no handler for them", doc["kind"])
