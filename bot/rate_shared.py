"""One rule's sliding window in Redis, atomic across processes: a Lua script per use.

Each key is a sorted set `leadbot:rl:{rule}:{key}` of the uses inside the window (score: the
time in milliseconds). The script drops uses that have left the window, then adds this one if
fewer than `limit` remain — or answers how long until one leaves. One script call is one
atomic step on the server, so N processes together allow exactly N-per-window, not N each.

Time comes from the caller's clock, not Redis's `TIME`: tests move it, and servers are expected
to keep their clocks in sync (NTP) anyway; a skew of a second makes windows a second off.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Final

import redis.asyncio as aioredis

from bot.redis_script import RedisScript
from bot.settings import Rate

PREFIX: Final = "leadbot:rl"

# KEYS[1] the window; ARGV: now (ms), window (ms), limit, a unique member for this use.
# Answers -1 when allowed, else milliseconds until a use leaves the window.
WINDOW_LUA: Final = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return -1
end
local leaving = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return math.max(1, math.min(window, tonumber(leaving[2]) + window - now))
"""


class SharedWindow:
    def __init__(self, rule: str, rate: Rate) -> None:
        self.rule = rule
        self.rate = rate
        self._script = RedisScript(WINDOW_LUA)
        # Members must be unique per use: two processes may count a use in the same millisecond.
        self._node = secrets.token_hex(6)
        self._uses = itertools.count()

    def key(self, key: str) -> str:
        return f"{PREFIX}:{self.rule}:{key}"

    async def wait(self, client: aioredis.Redis, key: str, now: float) -> float:
        """As `LocalWindow.hit`, for every process sharing this Redis, but 0.0 when allowed
        (None is what `RedisLink.run` answers when Redis is away)."""
        answer = await self._script(
            client,
            [self.key(key)],
            [
                round(now * 1000),
                round(self.rate.window_seconds * 1000),
                self.rate.limit,
                f"{self._node}:{next(self._uses)}",
            ],
        )
        wait_ms = int(answer)
        return 0.0 if wait_ms < 0 else wait_ms / 1000
