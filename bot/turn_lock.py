"""At most one bot turn per conversation at a time, across every process.

Within a process an asyncio lock per conversation queues turns. Across processes a Redis lock
(`SET NX PX` with a random token, renewed while the turn runs, released only by its holder)
keeps a second process out. A lock can still expire under a holder that stalls (a long GC,
a frozen VM), so each acquisition also takes a *fencing token* — a number that only grows
(`INCR`) — and the store accepts a turn's writes only if no larger token has written since
(`Store.save_turn` guard on `turn_fence`). A stale holder's reply is dropped, never doubled.

Without Redis (not configured, or unreachable) the local lock alone applies: one process is
then the only one answering, which is what the embedded store and a degraded cluster are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import Any, Final

from bot.redis_link import RedisLink

log = logging.getLogger(__name__)

LOCK_MS: Final = 6_000  # renewed every third of this while the turn runs; a dead holder blocks this long
WAIT_SECONDS: Final = 60.0  # longer than any turn: then the other holder is presumed dead
_RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
_RENEW: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""


class TurnLockTimeout(RuntimeError):
    """Another process held the conversation's lock for longer than any turn takes."""


class TurnLocks:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _local_lock(self, conv_id: str) -> asyncio.Lock:
        lock = self._local.get(conv_id)
        if lock is None:
            lock = self._local[conv_id] = asyncio.Lock()
        return lock

    @contextlib.asynccontextmanager
    async def hold(self, conv_id: str) -> AsyncIterator[int | None]:
        """Hold the conversation's turn lock; yields the fencing token (None without Redis)."""
        async with self._local_lock(conv_id):
            token = secrets.token_hex(16)
            fence = await self._acquire(conv_id, token)
            renewer = asyncio.create_task(self._renew(conv_id, token)) if fence is not None else None
            try:
                yield fence
            finally:
                if renewer is not None:
                    renewer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewer
                    await self.link.run(lambda r: r.eval(_RELEASE, 1, _key(conv_id), token))

    @contextlib.asynccontextmanager
    async def hold_all(self, conv_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the turn locks of all these conversations (a lead's, say), taken in one order so
        that two holders of several locks never wait on each other in a circle."""
        async with contextlib.AsyncExitStack() as stack:
            for conv_id in sorted(set(conv_ids)):
                await stack.enter_async_context(self.hold(conv_id))
            yield

    async def _acquire(self, conv_id: str, token: str) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        pause = 0.01
        while True:
            got = await self.link.run(lambda r: _try(r, conv_id, token))
            if got is None:
                return None  # no Redis: the local lock is all there is
            if got:
                return int(got)
            if loop.time() > deadline:
                raise TurnLockTimeout(f"conversation {conv_id}: another process holds its turn lock")
            # Another process is answering this conversation: its turn takes a moment.
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.25)

    async def _renew(self, conv_id: str, token: str) -> None:
        while True:
            await asyncio.sleep(LOCK_MS / 3000)
            await self.link.run(lambda r: r.eval(_RENEW, 1, _key(conv_id), token, LOCK_MS))


def _key(conv_id: str) -> str:
    return f"leadbot:turn:{conv_id}"


async def _try(client: Any, conv_id: str, token: str) -> int:
    """The fencing token when the lock was taken, 0 when another holder has it."""
    if not await client.set(_key(conv_id), token, nx=True, px=LOCK_MS):
        return 0
    return int(await client.incr(f"leadbot:fence:{conv_id}"))
