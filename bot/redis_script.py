"""A Lua script run on the optional Redis (bot/redis_link.py): one atomic step on the server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript


class RedisScript:
    """Loaded once per Redis server by its digest; re-sent by itself after a Redis restart
    (which forgets loaded scripts)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._script: AsyncScript | None = None

    async def __call__(self, client: aioredis.Redis, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        if self._script is None:
            self._script = client.register_script(self.text)
        return await self._script(keys=keys, args=args, client=client)
