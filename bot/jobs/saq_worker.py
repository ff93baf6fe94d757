"""saq's worker and Redis queue, fitted to run inside `leadbot serve` (bot/jobs/redis.py).

- The worker leaves SIGINT and SIGTERM to aiohttp, and stops for sure when told to.
- The queue waits instead of spinning while Redis is unreachable (the RedisLink notes it, and
  SaqJobs stops the worker until Redis is back), and can be drained: no new jobs taken while
  the running ones finish.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import redis.asyncio as aioredis
import saq
from saq.queue.redis import RedisQueue
from saq.types import Context

from bot.redis_link import RETRY_SECONDS, RedisLink

QUEUE = "leadbot"
WORKER_STOP_SECONDS = 3.0  # after the grace: for cancelled upkeep and job runs to end


class Worker(saq.Worker[Context]):
    # aiohttp owns SIGINT and SIGTERM (graceful exit, the drain): the worker must not take them.
    SIGNALS: list[Any] = []  # noqa: RUF012 - overrides saq's class attribute

    async def stop(self) -> None:
        """Cancel everything the worker runs, until it has all ended (SaqJobs gave running jobs
        their grace before). saq's own stop cancels once: a cancellation that lands inside a
        Redis command can be swallowed there, and an upkeep loop then sleeps on for a minute."""
        self.event.set()
        async with self._stop_lock:
            if self._stopped:
                return
            tasks = list(self.tasks)
            self.tasks.clear()
            for task in tasks:
                task.cancel()  # a cut job run is re-queued by saq (counted as an attempt)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WORKER_STOP_SECONDS):
                    while left := [t for t in tasks if not t.done()]:
                        for task in left:
                            if self._may_cancel_again(task):
                                task.cancel()
                        await asyncio.wait(left, timeout=0.1)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self._stopped = True

    def _may_cancel_again(self, task: asyncio.Task[Any]) -> bool:
        """Upkeep loops, and job slots still waiting for a job; not a slot whose cut job run
        is being re-queued."""
        waiting = isinstance(self.queue, LinkedQueue) and task in self.queue.dequeuing
        return task.get_name() != "process" or waiting


class LinkedQueue(RedisQueue):
    """saq's Redis queue, whose worker notices through the RedisLink when Redis goes away,
    and then waits instead of spinning on refused connections."""

    def __init__(self, client: aioredis.Redis, link: RedisLink) -> None:
        super().__init__(client, name=QUEUE)
        self._link = link
        self.draining = False  # stopping: take no more jobs, let the running ones finish
        self.dequeuing: set[asyncio.Task[Any]] = set()  # worker slots waiting for a job

    def __repr__(self) -> str:  # saq logs it when a worker starts: the name says enough
        return f"saq queue {self.name!r} on Redis"

    async def _one(self, wait: float, poll_interval: float) -> tuple[saq.Job | None]:
        return (await super().dequeue(wait, poll_interval),)

    async def dequeue(
        self,
        timeout: float = 0.0,  # noqa: ASYNC109 - saq's signature
        poll_interval: float = 0.0,
    ) -> saq.Job | None:
        slot = asyncio.current_task()
        if slot is not None:
            self.dequeuing.add(slot)
        try:
            if self.draining:
                await asyncio.sleep(timeout or RETRY_SECONDS)
                return None
            found = await self._link.run(lambda _: self._one(timeout, poll_interval))
            if found is None:  # unreachable: the link says so, and the worker is being stopped
                await asyncio.sleep(RETRY_SECONDS)
                return None
            return found[0]
        finally:
            self.dequeuing.discard(slot)
