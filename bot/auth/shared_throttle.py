"""The sign-in throttle (bot/auth/throttle.py) shared by every process through Redis.

The same records, rules and lockouts as `LoginThrottle`, kept in Redis so that guessing on one
process locks the account on all of them. Each throttle key is a hash
`leadbot:throttle:{key}` (`lockouts`, `until`) and a sorted set `…:failures` of recent failures;
one Lua script call decides and records an attempt atomically, so parallel attempts on several
processes cannot slip past the count. Keys expire once the in-memory records would be forgotten.

While Redis is away the process's own `LoginThrottle` decides (it knows only this process's
attempts: a weaker limit, never none).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.auth.throttle import FIRST_LOCKOUT, MAX_FAILURES, MAX_LOCKOUT, WINDOW, LoginThrottle, throttle_keys
from bot.redis_link import RedisLink
from bot.redis_script import RedisScript

log = logging.getLogger(__name__)

PREFIX: Final = "leadbot:throttle"

# KEYS: for the account, then the address: its record (hash), then its failures (sorted set).
# ARGV: now, window, max failures, first lockout, max lockout (all ms), a unique member.
# Answers 0 (go ahead: counted as a failure until `succeeded`) or the milliseconds to wait.
# Mirrors LoginThrottle.begin step by step.
BEGIN_LUA: Final = """
local now, window, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first, longest = tonumber(ARGV[4]), tonumber(ARGV[5])
local wait = 0
for i = 1, #KEYS, 2 do
  local record, failures = KEYS[i], KEYS[i + 1]
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - window)
  local count = redis.call('ZCARD', failures)
  local locked = tonumber(redis.call('HGET', record, 'until'))
  if count == 0 and locked and now >= locked + window then
    redis.call('DEL', record)  -- quiet for a whole window since the lockout: start afresh
    locked = nil
  end
  if locked == nil or now >= locked then
    if count >= most then
      local lockouts = redis.call('HINCRBY', record, 'lockouts', 1)
      locked = now + math.min(first * 2 ^ math.min(lockouts - 1, 20), longest)
      redis.call('HSET', record, 'until', string.format('%d', locked))
      redis.call('DEL', failures)  -- these failures are paid for by this lockout
      wait = math.max(wait, locked - now)
    end
  else
    wait = math.max(wait, locked - now)
  end
end
if wait == 0 then
  for i = 2, #KEYS, 2 do
    redis.call('ZADD', KEYS[i], ARGV[1], ARGV[6])
  end
end
for i = 1, #KEYS, 2 do
  -- a record lives while its failures count or until a window after its lockout ends
  local locked = tonumber(redis.call('HGET', KEYS[i], 'until')) or now
  redis.call('PEXPIRE', KEYS[i], string.format('%d', math.max(window, locked + window - now)))
  redis.call('PEXPIRE', KEYS[i + 1], string.format('%d', window))
end
return wait
"""

# KEYS: the account's record and failures, the address's failures. The attempt was right: the
# account starts afresh; the address gets back one attempt.
SUCCEEDED_LUA: Final = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZPOPMAX', KEYS[3])
return 1
"""


def _ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def _redis_keys(account: str, address: str) -> list[str]:
    keys = []
    for key in throttle_keys(account, address):
        keys += [f"{PREFIX}:{key}", f"{PREFIX}:{key}:failures"]
    return keys


class SharedLoginThrottle:
    def __init__(self, link: RedisLink, local: LoginThrottle, clock: Callable[[], datetime]) -> None:
        self._link = link
        self._local = local
        self._clock = clock
        self._begin = RedisScript(BEGIN_LUA)
        self._succeeded = RedisScript(SUCCEEDED_LUA)
        self._node = secrets.token_hex(6)  # failure members must be unique across processes
        self._attempts = itertools.count()

    async def _shared(
        self, script: RedisScript, keys: Sequence[str], args: Sequence[str | int]
    ) -> int | None:
        async def call(client: aioredis.Redis) -> int:
            return int(await script(client, keys, args))

        try:
            return await self._link.run(call)
        except RedisError as exc:  # reachable but refusing: decide in this process instead
            log.warning("sign-in throttle: redis error, deciding in this process: %s", exc)
            return None

    async def begin(self, account: str, address: str) -> timedelta | None:
        """As `LoginThrottle.begin`, across every process sharing Redis."""
        now_ms = round(self._clock().timestamp() * 1000)
        args: list[str | int] = [
            now_ms,
            _ms(WINDOW),
            MAX_FAILURES,
            _ms(FIRST_LOCKOUT),
            _ms(MAX_LOCKOUT),
            f"{self._node}:{next(self._attempts)}",
        ]
        wait_ms = await self._shared(self._begin, _redis_keys(account, address), args)
        if wait_ms is None:
            return self._local.begin(account, address)
        return timedelta(milliseconds=wait_ms) if wait_ms else None

    async def succeeded(self, account: str, address: str) -> None:
        account_record, account_failures, _, address_failures = _redis_keys(account, address)
        done = await self._shared(self._succeeded, [account_record, account_failures, address_failures], [])
        if done is None:
            self._local.succeeded(account, address)
