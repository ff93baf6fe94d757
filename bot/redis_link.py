"""The optional Redis connection (LEADBOT_REDIS_URL) and whether it is working right now.

Redis carries what several processes must share — events between processes, turn locks,
rate-limit counters — but never data: MongoDB stays the source of truth. So Redis being down
is not an outage. `run` returns None instead of raising while Redis cannot be reached, callers
fall back to what one process can do alone, `healthy` says which mode we are in (health
reports `degraded`), and the link notices by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

# While degraded, one call in this many seconds tries Redis again; the rest fall back at once,
# so a dead Redis costs no connection timeout per request.
RETRY_SECONDS = 1.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisLink:
    def __init__(self, url: str | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._clock = clock
        self.client: aioredis.Redis | None = (
            aioredis.Redis.from_url(
                url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=5
            )
            if url
            else None
        )
        self.healthy = self.client is not None
        self._retry_at = 0.0
        self._watchers: list[Callable[[bool], None]] = []

    @property
    def configured(self) -> bool:
        return self.client is not None

    def on_change(self, watcher: Callable[[bool], None]) -> None:
        """Call `watcher(healthy)` whenever Redis goes away or comes back."""
        self._watchers.append(watcher)

    def _set(self, healthy: bool) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        if healthy:
            log.warning("redis is back: cross-process mode resumes")
        else:
            log.warning("redis unreachable: degraded to single-process mode")
        for watcher in list(self._watchers):
            watcher(healthy)

    async def run(self, call: Callable[[aioredis.Redis], Awaitable[T]]) -> T | None:
        """`call(client)`; None when Redis is not configured or cannot be reached now."""
        if self.client is None:
            return None
        if not self.healthy and self._clock() < self._retry_at:
            return None
        try:
            result = await call(self.client)
        except UNREACHABLE as exc:
            self._retry_at = self._clock() + RETRY_SECONDS
            if self.healthy:
                log.warning("redis call failed: %s", exc)
            self._set(False)
            return None
        if not self.healthy:
            # Back after an outage: every idle pooled connection still points at the Redis that
            # went away, and the next call to pick one up would fail and count as a new outage.
            await self.client.connection_pool.disconnect(inuse_connections=False)
        self._set(True)
        return result

    async def ping(self) -> bool:
        return bool(await self.run(lambda r: r.ping()))

    def status(self) -> dict[str, Any]:
        if self.client is None:
            return {"redis": "not configured"}
        return {"redis": "ok" if self.healthy else "unreachable"}

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(*UNREACHABLE, TimeoutError):
                async with asyncio.timeout(2.0):  # a hung connection must not hold up the shutdown
                    await self.client.aclose()
