"""`SaqJobs`: background jobs on Redis with saq, when LEADBOT_REDIS_URL is set.

Every `leadbot serve` runs a saq worker in process, and every process also runs the store's
queue (`StoreJobs`), which takes the jobs scheduled while Redis cannot be reached: `schedule`
never fails because Redis is down, and once Redis is back nothing needs doing — the store's
queue runs what it holds, saq runs what it holds.

saq knows one job per saq key and will not enqueue a key it still holds (even a running one),
while our keys are replaced at will. So each schedule is a new saq job (`<key>#<random>`), and
a Redis hash (`leadbot:jobs:current`) says which saq job is the key's current one: replacing
points the hash at the new job and aborts the old one if it has not started; a saq job that is
no longer its key's current one does nothing when it runs. A Redis set per subject
(`leadbot:jobs:subject:<subject>`) lists the keys about it, for `cancel_subject`.

saq runs jobs by the wall clock (`time.time()`, whatever clock the app was given), so tests that
move a ManualClock use the store's queue.

Retries use saq's own: a failed run sets the job's `retry_delay` from the kind's `Retry`
(exponential, with jitter) before it raises, and saq re-queues it. A job whose attempts are
used up is recorded as failed in the store's `jobs` collection, so `failed()` reads one place
in every mode, and it outlives saq's record of the job (kept for no time here); then the
kind's `on_failed` is called.

saq is given one run more than the kind's attempts: saq ends a job whose dead run it sweeps
(no heartbeat for HEARTBEAT_SECONDS) without our code seeing it when no retry is left, so the
last attempt's dead run would vanish unrecorded. With the spare run, saq queues it once more,
and `_run` marks the job failed (and calls `on_failed`) without running the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
import saq
from saq.types import Context, TimersDict

from bot.clock import Clock
from bot.jobs import DEFAULT_RETRY, FailedHandler, Handler, Job, Retry
from bot.jobs.handlers import RUN_LIMIT_SECONDS, Handlers, Registered, checked_payload, error_text
from bot.jobs.local import StoreJobs
from bot.jobs.saq_worker import LinkedQueue, Worker
from bot.redis_link import RedisLink

log = logging.getLogger(__name__)
T = TypeVar("T")

FUNCTION = "leadbot.job"
CURRENT = "leadbot:jobs:current"  # hash: job key → saq key of its current run
SUBJECT_PREFIX = "leadbot:jobs:subject:"  # + subject: set of job keys about it
CONCURRENCY = 8
STOP_GRACE_SECONDS = 5.0
OPERATION_SECONDS = 2.0  # one schedule or cancel on Redis; longer counts as unreachable
DEQUEUE_SECONDS = 1.0  # a worker waits this long for a job per call (BLMOVE)
# A run that stops beating this long (its process died) is swept and runs again.
HEARTBEAT_SECONDS = 60
SWEEP_SECONDS = 60  # how often saq looks for such runs (once per interval across all workers)
PENDING_STATUSES = frozenset({saq.Status.NEW, saq.Status.QUEUED, saq.Status.ACTIVE})

# KEYS: current hash, subject set (or ""); ARGV: key, new saq key → the previous saq key
_POINT = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if KEYS[2] ~= '' then redis.call('SADD', KEYS[2], ARGV[1]) end
return previous
"""
# KEYS: current hash, subject set (or ""); ARGV: key, saq key → 1 when it was the current one
_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if KEYS[2] ~= '' then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
"""


def _subject_set(subject: str | None) -> str:
    return SUBJECT_PREFIX + subject if subject is not None else ""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SaqJobs:
    def __init__(
        self,
        link: RedisLink,
        fallback: StoreJobs,
        handlers: Handlers | None = None,
        *,
        clock: Clock,
        concurrency: int = CONCURRENCY,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
        sweep_seconds: int = SWEEP_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        if link.url is None:
            raise ValueError("SaqJobs needs a Redis URL (LEADBOT_REDIS_URL)")
        self._link = link
        self._fallback = fallback
        self.handlers = handlers or fallback.handlers
        self._clock = clock
        self._concurrency = concurrency
        self._stop_grace = stop_grace_seconds
        self._sweep_seconds = sweep_seconds
        self._rng = rng
        # Its own connections: the worker blocks in BLMOVE for DEQUEUE_SECONDS, longer than
        # the link's socket timeout allows.
        self._client = aioredis.Redis.from_url(
            link.url, socket_connect_timeout=1.0, socket_timeout=DEQUEUE_SECONDS + 4.0
        )
        self._queue = LinkedQueue(self._client, link)
        self._point = self._client.register_script(_POINT)
        self._forget_script = self._client.register_script(_FORGET)
        self._worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._worker_lock = asyncio.Lock()
        self._in_flight = 0
        self._none_in_flight = asyncio.Event()
        self._none_in_flight.set()
        self._closed = True
        self._watching = False
        self._changes: set[asyncio.Task[None]] = set()  # worker starts and stops under way

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
        if run_at is not None and run_at.utcoffset() is None:
            raise ValueError(f"run_at must be timezone-aware, got {run_at!r}")
        body = checked_payload(kind, payload)
        when = (run_at or self._clock.now()).astimezone(UTC)
        if not self._closed and await self._redis(lambda: self._enqueue(kind, body, key, when, subject)):
            # A copy left in the store's queue by an outage must not run as well.
            await self._fallback.cancel(key)
            return
        log.info("job %s goes to the store's queue: Redis is unreachable", key)
        await self._fallback.schedule(kind, body, key=key, run_at=when, subject=subject)

    async def cancel(self, key: str) -> bool:
        on_redis = await self._redis(lambda: self._cancel_on_redis(key))
        if on_redis is None:
            log.warning("job %s: Redis is unreachable, only the store's queue was cancelled", key)
        return bool(on_redis) | await self._fallback.cancel(key)

    async def cancel_subject(self, subject: str) -> int:
        on_redis = await self._redis(lambda: self._cancel_subject_on_redis(subject))
        if on_redis is None:
            log.warning("jobs about %s: Redis is unreachable, only the store's queue was cancelled", subject)
        return (on_redis or 0) + await self._fallback.cancel_subject(subject)

    async def pending(self, *, subject: str | None = None, kind: str | None = None) -> list[Job]:
        on_redis = await self._redis(lambda: self._pending_on_redis(subject)) or []
        jobs = [job for job in on_redis if kind is None or job.kind == kind]
        jobs += await self._fallback.pending(subject=subject, kind=kind)
        return sorted(jobs, key=lambda job: job.run_at)

    async def failed(self, *, kind: str | None = None, limit: int = 100) -> list[Job]:
        return await self._fallback.failed(kind=kind, limit=limit)

    async def idle(self) -> None:
        """Wait until neither queue has a job running or due now."""
        while True:
            await self._fallback.idle()
            busy = await self._redis(self._due_or_running)
            if not busy:
                return
            await asyncio.sleep(0.05)  # saq moves due jobs along every second: look again soon

    async def start(self) -> None:
        await self._fallback.start()
        self._closed = False
        if not self._watching:
            self._link.on_change(self._redis_changed)
            self._watching = True
        if self._link.healthy:
            await self._start_worker()

    async def stop(self) -> None:
        self._closed = True
        await self._stop_worker()
        await self._fallback.stop()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):  # a hung connection must not hold up the shutdown
                await self._client.aclose()

    # -- on Redis --------------------------------------------------------------------

    async def _redis(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """`call()` within OPERATION_SECONDS; None when Redis is unreachable (the link notes it)."""

        async def bounded(_: aioredis.Redis) -> T:
            async with asyncio.timeout(OPERATION_SECONDS):
                return await call()

        return await self._link.run(bounded)

    async def _enqueue(
        self, kind: str, payload: dict[str, Any], key: str, when: datetime, subject: str | None
    ) -> bool:
        run_key = f"{key}#{secrets.token_hex(8)}"
        registered = self.handlers.get(kind)
        retry = registered.retry if registered is not None else DEFAULT_RETRY
        due = when.timestamp()
        job = saq.Job(
            function=FUNCTION,
            kwargs={
                "kind": kind,
                "key": key,
                "payload": payload,
                "subject": subject,
                "run_at": when.isoformat(),
            },
            key=run_key,
            # saq counts whole seconds: round up, so a job never runs before its time.
            scheduled=math.ceil(due) if due > time.time() else 0,
            retries=retry.attempts + 1,  # the spare run: see the module's docstring
            retry_delay=retry.first_delay_seconds,  # until a failed run sets the next one
            timeout=int(RUN_LIMIT_SECONDS) + 30,  # saq's limit, behind our own (RUN_LIMIT_SECONDS)
            heartbeat=HEARTBEAT_SECONDS,
            ttl=-1,  # saq forgets a finished job at once: failures are kept in the store
        )
        previous = await self._point(keys=[CURRENT, _subject_set(subject)], args=[key, run_key])
        await self._queue.enqueue(job)
        if previous is not None:
            await self._drop_if_waiting(_text(previous))
        return True

    async def _drop_if_waiting(self, run_key: str) -> None:
        """Abort a replaced saq job that has not started (a started one finishes; it was
        current when it started)."""
        job = await self._queue.job(run_key)
        if job is not None and job.status in (saq.Status.NEW, saq.Status.QUEUED):
            await self._queue.abort(job, "replaced")

    async def _cancel_on_redis(self, key: str) -> bool:
        run_key = await self._client.hget(CURRENT, key)
        if run_key is None:
            return False
        await self._client.hdel(CURRENT, key)
        await self._drop_if_waiting(_text(run_key))
        return True

    async def _cancel_subject_on_redis(self, subject: str) -> int:
        keys = [_text(k) for k in await self._client.smembers(_subject_set(subject))]
        cancelled = 0
        for key in keys:
            cancelled += await self._cancel_on_redis(key)
        await self._client.delete(_subject_set(subject))
        return cancelled

    async def _pending_on_redis(self, subject: str | None) -> list[Job]:
        if subject is not None:
            keys = [_text(k) for k in await self._client.smembers(_subject_set(subject))]
            run_keys = (
                [_text(r) for r in await self._client.hmget(CURRENT, keys) if r is not None] if keys else []
            )
        else:
            run_keys = [_text(r) for r in (await self._client.hgetall(CURRENT)).values()]
        found = await self._queue.jobs(run_keys) if run_keys else []
        return [self._job(j) for j in found if j is not None and j.status in PENDING_STATUSES]

    async def _due_or_running(self) -> bool:
        # saq keeps every unfinished job in one sorted set, scored by when it is due (0: now).
        return bool(await self._client.zcount(self._queue.namespace("incomplete"), "-inf", time.time()))

    def _job(self, run: saq.Job) -> Job:
        args = run.kwargs or {}
        return Job(
            kind=args["kind"],
            key=args["key"],
            payload=args.get("payload") or {},
            run_at=datetime.fromisoformat(args["run_at"]),
            subject=args.get("subject"),
            attempt=max(1, run.attempts + (run.status != saq.Status.ACTIVE)),
            last_error=run.meta.get("last_error"),
        )

    # -- running ---------------------------------------------------------------------

    async def _perform(self, ctx: Context, **args: Any) -> None:
        """The saq function behind every job: runs the kind's handler, if still wanted."""
        run = ctx["job"]
        key, subject = str(args["key"]), args.get("subject")
        self._in_flight += 1
        self._none_in_flight.clear()
        try:
            if await self._client.hget(CURRENT, key) not in (run.key, run.key.encode()):
                return  # replaced or cancelled since it was queued
            await self._run(run, self._job(run), subject)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._none_in_flight.set()

    async def _run(self, run: saq.Job, job: Job, subject: str | None) -> None:
        registered = self.handlers.get(job.kind)
        if registered is None:
            # Kept, for a process that has the handler (the store's queue leaves it pending).
            log.warning("job %s: no handler for kind %r here; moved to the store's queue", job.key, job.kind)
            await self._fallback.schedule(
                job.kind, job.payload, key=job.key, run_at=job.run_at, subject=subject
            )
            await self._forget(job.key, run.key, subject)
            return
        if job.attempt > registered.retry.attempts:  # its last runs were cut short (swept, stopped)
            error = "its runs were cut short (the process stopped or died)"
            log.error("job %s (%s) failed: %s", job.key, job.kind, error)
            await self._fail(run, job, registered, subject, error)
            return
        beats = asyncio.create_task(self._beat(run), name=f"job-heartbeat:{job.key}")
        try:
            async with asyncio.timeout(RUN_LIMIT_SECONDS):
                await registered.handler(job)
        except Exception as exc:
            error = error_text(exc)
            if job.attempt >= registered.retry.attempts:
                log.error("job %s (%s) failed after %d runs: %s", job.key, job.kind, job.attempt, error)
                await self._fail(run, job, registered, subject, error)
            else:
                # saq re-queues the job after `retry_delay` when this raises.
                run.retries = max(run.retries, job.attempt + 1)
                run.retry_delay = registered.retry.delay_after(job.attempt, self._rng)
                run.retry_backoff = False
                run.meta["last_error"] = error
                log.warning(
                    "job %s (%s) run %d failed (next in %.0fs): %s",
                    job.key,
                    job.kind,
                    job.attempt,
                    run.retry_delay,
                    error,
                )
            raise
        else:
            await self._forget(job.key, run.key, subject)
        finally:
            beats.cancel()

    async def _fail(
        self, run: saq.Job, job: Job, registered: Registered, subject: str | None, error: str
    ) -> None:
        run.retries = min(run.retries, job.attempt)  # saq: no run after this one
        await self._fallback.record_failed(job, error)
        await self._forget(job.key, run.key, subject)
        await registered.failed(replace(job, last_error=error))

    async def _forget(self, key: str, run_key: str, subject: str | None) -> None:
        await self._forget_script(keys=[CURRENT, _subject_set(subject)], args=[key, run_key])

    async def _beat(self, run: saq.Job) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS / 3)
            try:
                await run.update()  # saq: "touched" now, so the sweep leaves it alone
            except Exception as exc:
                log.warning("job %s: heartbeat failed (%s)", run.key, exc)

    # -- the worker ------------------------------------------------------------------

    def _redis_changed(self, healthy: bool) -> None:
        if self._closed:
            return
        if healthy:
            # Idle pooled connections still point at the Redis that went away: the next call to
            # pick one up would fail, and the link would count it as a new outage.
            self._client.connection_pool.reset()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        change = self._start_worker() if healthy else self._stop_worker()
        task = asyncio.get_running_loop().create_task(change, name="leadbot-jobs-worker")
        self._changes.add(task)
        task.add_done_callback(self._changed)

    def _changed(self, task: asyncio.Task[None]) -> None:
        self._changes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("the saq worker could not follow Redis", exc_info=task.exception())

    async def _start_worker(self) -> None:
        async with self._worker_lock:
            if self._closed or self._worker_task is not None:
                return
            worker = Worker(
                self._queue,
                functions=[(FUNCTION, self._perform)],
                concurrency=self._concurrency,
                dequeue_timeout=DEQUEUE_SECONDS,
                # saq's defaults but the sweep (its partial dict still types every key required)
                timers=TimersDict(schedule=1, worker_info=10, sweep=self._sweep_seconds, abort=1),
            )
            self._worker = worker
            self._queue.draining = False
            self._worker_task = asyncio.create_task(worker.start(), name="leadbot-saq-worker")

    async def _stop_worker(self) -> None:
        async with self._worker_lock:
            worker, task = self._worker, self._worker_task
            self._worker = self._worker_task = None
            if worker is None or task is None:
                return
            self._queue.draining = True  # no new jobs; the running ones get the grace time
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._stop_grace):
                    await self._none_in_flight.wait()
            await worker.stop()
            # `start` may not have begun yet (it would then start after all): cancelling it
            # stops it either way (it stops the worker once more on its way out).
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the saq worker did not stop cleanly")
