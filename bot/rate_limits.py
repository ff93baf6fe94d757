"""Rate limits: named rules, each N per window (docs/protocol.md, "Rate limits").

`RateLimiter.hit(rule, key)` counts one use, or says how long to wait. The window itself is
bot/rate_shared.py (Redis) and bot/rate_local.py (this process).

Counted in Redis while it is reachable, so every process sharing it enforces one limit; while it
is not (not configured, down, or answering errors), each process counts alone with the same
rule — the limit then holds per process, which is weaker but never none. Nothing carries over
between the two: when Redis comes back, its own count (of uses before it went away) applies again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum

from aiohttp import web
from redis.exceptions import RedisError

from bot import keys
from bot.auth.shared_throttle import SharedLoginThrottle
from bot.rate_local import LocalWindow
from bot.rate_shared import SharedWindow
from bot.redis_link import RedisLink
from bot.settings import Rate, Settings

log = logging.getLogger(__name__)


class Rule(StrEnum):
    NEW_CONVERSATIONS = "new_conversations"  # per client address: widget sockets without a conversation
    MESSAGES = "messages"  # per conversation: visitor `message` frames
    LOGINS = "logins"  # per client address: POST /login


def retry_seconds(wait: float) -> int:
    """A wait as the whole seconds `Retry-After` and `retry_after` carry: rounded up, at least 1."""
    return max(1, math.ceil(wait))


class RateLimiter:
    def __init__(
        self, rates: Mapping[Rule, Rate | None], link: RedisLink, clock: Callable[[], datetime]
    ) -> None:
        self._link = link
        self._clock = clock
        self._windows = {
            rule: (SharedWindow(rule, rate), LocalWindow(rate)) for rule, rate in rates.items() if rate
        }

    @classmethod
    def from_settings(cls, settings: Settings, link: RedisLink, clock: Callable[[], datetime]) -> RateLimiter:
        rates = {
            Rule.NEW_CONVERSATIONS: settings.limit_new_conversations,
            Rule.MESSAGES: settings.limit_messages,
            Rule.LOGINS: settings.limit_logins,
        }
        return cls(rates, link, clock)

    async def hit(self, rule: Rule, key: str) -> float | None:
        """Count one use of `rule` by `key`: None when allowed, else the seconds to wait (the
        refused use is not counted, so asking again early does not push the wait further)."""
        windows = self._windows.get(rule)
        if windows is None:
            return None  # this limit is off
        shared, local = windows
        now = self._clock().timestamp()
        try:
            wait = await self._link.run(lambda client: shared.wait(client, key, now))
        except RedisError as exc:
            # Reachable but refusing (out of memory, a read-only replica …): a limit is no
            # reason to fail the request, so count here as if Redis were away.
            log.warning("rate limit %s: redis error, counting in this process: %s", rule, exc)
            wait = None
        if wait is None:
            return local.hit(key, now)
        return wait or None


def setup_rate_limits(app: web.Application) -> None:
    """Attach the limiter and the shared sign-in throttle; after `setup_auth` (its local throttle)."""
    link, clock = app[keys.REDIS], app[keys.CLOCK]
    app[keys.RATE_LIMITS] = RateLimiter.from_settings(app[keys.SETTINGS], link, clock)
    app[keys.SHARED_THROTTLE] = SharedLoginThrottle(link, app[keys.THROTTLE], clock)
