"""`app[keys.JOBS]`: the one `Jobs` features see, whichever queue runs behind it.

It exists from create_app on, so features register their handlers there (`setup_<feature>`);
the queue is chosen when the store opens (`run_jobs`, a cleanup context): the store's own
(`StoreJobs`) without Redis, saq on Redis (`SaqJobs`, with the store's queue as its fallback)
when LEADBOT_REDIS_URL is set. It starts once every other service is up and stops first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import keys
from bot.clock import CallableClock, LoopTimers
from bot.jobs import DEFAULT_RETRY, FailedHandler, Handler, Job, Jobs, Retry
from bot.jobs.handlers import Handlers
from bot.jobs.local import StoreJobs


class JobsNotOpen(RuntimeError):
    """Jobs were used before the store opened (or a handler registered after the start)."""


class JobService:
    def __init__(self) -> None:
        self.handlers = Handlers()
        self._queue: Jobs | None = None

    @property
    def queue(self) -> Jobs:
        if self._queue is None:
            raise JobsNotOpen("background jobs are not available before the app has started")
        return self._queue

    def bind(self, queue: Jobs) -> None:
        self._queue = queue

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
        await self.queue.schedule(kind, payload, key=key, run_at=run_at, subject=subject)

    async def cancel(self, key: str) -> bool:
        return await self.queue.cancel(key)

    async def cancel_subject(self, subject: str) -> int:
        return await self.queue.cancel_subject(subject)

    async def pending(self, *, subject: str | None = None, kind: str | None = None) -> list[Job]:
        return await self.queue.pending(subject=subject, kind=kind)

    async def failed(self, *, kind: str | None = None, limit: int = 100) -> list[Job]:
        return await self.queue.failed(kind=kind, limit=limit)

    async def idle(self) -> None:
        await self.queue.idle()

    async def start(self) -> None:
        await self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()


def open_queue(app: web.Application) -> Jobs:
    """The queue for this app's settings, over its open store."""
    service, settings = app[keys.JOBS], app[keys.SETTINGS]
    clock = CallableClock(app[keys.CLOCK])
    local = StoreJobs(
        app[keys.STORE],
        service.handlers,
        clock=clock,
        timers=app[keys.TIMERS] or LoopTimers(clock),
        exclusive=settings.embedded,  # the embedded store is this process's alone (a lock file)
    )
    link = app[keys.REDIS]
    if not link.configured:
        return local
    from bot.jobs.redis import SaqJobs  # saq is only imported when Redis is configured

    return SaqJobs(link, local, service.handlers, clock=clock)


async def run_jobs(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context, added last in create_app: jobs start when every service they may use
    is up, and stop (running ones get a short grace) before any of them closes."""
    service = app[keys.JOBS]
    service.bind(open_queue(app))
    await service.start()
    try:
        yield
    finally:
        await service.stop()
