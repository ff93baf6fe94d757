"""Persistence for the embedded store: the mongomock database is kept in a snapshot file.

The embedded database lives in memory. Its whole content is written to
`<data_dir>/store.json` (MongoDB extended JSON) every `snapshot_seconds` when anything
changed, and once more on graceful shutdown; it is read back at start. A snapshot is the
database at one instant, copied without stalling the event loop (bot/embedded_snapshot.py),
and the file is replaced atomically (write, fsync, rename), so a crash never leaves a torn
or half-old snapshot — but it loses the writes made since the last one. Use MongoDB for
durability.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bson import json_util

from bot.embedded_index import accelerate
from bot.embedded_snapshot import JSON_OPTIONS, SLICE_SECONDS, take, write_snapshot
from bot.errors import StoreLocked
from bot.store import Store

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "store.json"
LOCK_FILE = "leadbot.lock"


@contextlib.contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    """Hold `<data_dir>/leadbot.lock` for the block; the OS drops it if the process dies."""
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StoreLocked(
                f"the embedded store in {data_dir.resolve()} is in use by another leadbot process "
                f"(pid {holder}); stop it first, or use MongoDB (MONGODB_URI) to run several"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_embedded(database: str) -> Store:
    """A store on an in-process mongomock database, indexed for leadbot's hot queries."""
    return open_embedded_database(database)[0]


def open_embedded_database(database: str) -> tuple[Store, Any]:
    """The store, and the mongomock database under it (what a `Snapshotter` copies)."""
    import mongomock
    from mongomock_motor import AsyncMongoMockClient

    engine: Any = mongomock.MongoClient(tz_aware=True)
    accelerate(engine[database])
    return Store(AsyncMongoMockClient(mock_mongo_client=engine)[database]), engine[database]


def _read_if_exists(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


class Snapshotter:
    """Writes the embedded store to disk when it has changed."""

    def __init__(
        self, store: Store, database: Any, path: Path, *, slice_seconds: float = SLICE_SECONDS
    ) -> None:
        self.store = store
        self.database = database  # the mongomock database under `store`
        self.path = path
        self.slice_seconds = slice_seconds
        self._saved_writes = store.writes
        self._lock = asyncio.Lock()
        self._writing: asyncio.Future[None] | None = None

    async def load(self) -> int:
        text = await asyncio.to_thread(_read_if_exists, self.path)
        if text is None:
            return 0
        data: dict[str, list[dict[str, Any]]] = json_util.loads(text, json_options=JSON_OPTIONS)
        await self.store.restore(data)
        self._saved_writes = self.store.writes
        return sum(len(docs) for docs in data.values())

    async def save_if_changed(self) -> bool:
        async with self._lock:  # one at a time, in order: an older snapshot never lands last
            await self._earlier_write_landed()
            writes = self.store.writes
            if writes == self._saved_writes:
                return False
            # The copy is of this instant (the count above and the freeze: no await between).
            collections = await take(self.database._store, self.slice_seconds)
            self._writing = asyncio.ensure_future(asyncio.to_thread(write_snapshot, self.path, collections))
            await asyncio.shield(self._writing)  # cancelling us must not cancel the write
            self._writing = None
            self._saved_writes = writes
            return True

    async def _earlier_write_landed(self) -> None:
        """A write whose caller was cancelled (at shutdown) goes on in its thread: let it land."""
        writing = self._writing
        if writing is None:
            return
        await asyncio.wait([writing])
        self._writing = None
        if not writing.cancelled() and writing.exception() is not None:
            log.error("an earlier snapshot of the embedded store failed: %s", writing.exception())

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.save_if_changed()
            except Exception:  # a full disk, say: keep serving, and try again next time
                log.exception("could not write the embedded store's snapshot to %s", self.path)


@contextlib.asynccontextmanager
async def embedded_store(data_dir: Path, database: str, snapshot_seconds: float) -> AsyncIterator[Store]:
    """An embedded store loaded from and saved to `data_dir` for the lifetime of the block."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    with _exclusive(data_dir):
        async with _open(data_dir, database, snapshot_seconds) as store:
            yield store


@contextlib.asynccontextmanager
async def _open(data_dir: Path, database: str, snapshot_seconds: float) -> AsyncIterator[Store]:
    store, engine = open_embedded_database(database)
    snapshots = Snapshotter(store, engine, data_dir / SNAPSHOT_FILE)
    await snapshots.load()
    await store.ensure_indexes()
    task = asyncio.create_task(snapshots.run(snapshot_seconds), name="leadbot-snapshots")
    try:
        yield store
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await snapshots.save_if_changed()
