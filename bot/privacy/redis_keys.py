"""Redis keys that name an erased lead or its conversations, found with SCAN and deleted.

What leadbot keeps in Redis under a conversation's id: its rate-limit window
(`leadbot:rl:messages:<id>`), its turn lock and fencing counter (`leadbot:turn:<id>`,
`leadbot:fence:<id>`); queues may key jobs by a lead's id. Any key whose *name* holds one of the
ids goes. Values are the owners' business: jobs about the lead are cancelled through the jobs
queue (`cancel_subject`), and the rest hold counters and random tokens, never ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import redis.asyncio as aioredis

from bot.redis_link import RedisLink

SCAN_BATCH: Final = 1000
DELETE_BATCH: Final = 500


class RedisUnavailable(RuntimeError):
    """Redis is configured but cannot be reached: an erasure would leave keys behind."""


async def delete_keys_naming(link: RedisLink, ids: Sequence[str]) -> int:
    """Delete every key whose name contains one of `ids`; how many. One pass over the keyspace
    (SCAN, so Redis keeps serving meanwhile). 0 without Redis; RedisUnavailable when it is
    configured but unreachable."""
    if not link.configured or not ids:
        return 0
    pattern = re.compile("|".join(re.escape(i) for i in sorted(set(ids))).encode())

    async def sweep(client: aioredis.Redis) -> int:
        removed = 0
        doomed: list[bytes] = []
        async for key in client.scan_iter(count=SCAN_BATCH):
            name = key if isinstance(key, bytes) else str(key).encode()
            if pattern.search(name):
                doomed.append(name)
            if len(doomed) >= DELETE_BATCH:
                removed += int(await client.delete(*doomed))
                doomed = []
        if doomed:
            removed += int(await client.delete(*doomed))
        return removed

    removed = await link.run(sweep)
    if removed is None:
        raise RedisUnavailable("Redis cannot be reached; its keys about the lead could not be removed")
    return removed
