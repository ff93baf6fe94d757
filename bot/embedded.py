"""Persistence for the embedded store: the mongomock database is kept in a snapshot file.

The embedded database lives in memory. Its whole content is written to
`<data_dir>/store.json` (MongoDB extended JSON) every `snapshot_seconds` when anything
changed, and once more on graceful shutdown; it is read back at start. The file is
replaced atomically (write, fsync, rename), so a crash never leaves a torn snapshot —
but it can lose the writes of the last `snapshot_seconds`. Use MongoDB for durability.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bson import json_util

from bot.embedded_index import accelerate
from bot.errors import StoreLocked
from bot.store import Store

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


_JSON_OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)


def _encode_and_write(path: Path, data: dict[str, list[dict[str, Any]]]) -> None:
    _write_atomically(path, json_util.dumps(data, json_options=_JSON_OPTIONS))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def open_embedded(database: str) -> Store:
    """A store on an in-process mongomock database, indexed for leadbot's hot queries."""
    import mongomock
    from mongomock_motor import AsyncMongoMockClient

    engine: Any = mongomock.MongoClient(tz_aware=True)
    accelerate(engine[database])
    return Store(AsyncMongoMockClient(mock_mongo_client=engine)[database])


def _read_if_exists(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


class Snapshotter:
    """Writes the embedded store to disk when it has changed."""

    def __init__(self, store: Store, path: Path) -> None:
        self.store = store
        self.path = path
        self._saved_writes = store.writes

    async def load(self) -> int:
        text = await asyncio.to_thread(_read_if_exists, self.path)
        if text is None:
            return 0
        data: dict[str, list[dict[str, Any]]] = json_util.loads(text, json_options=_JSON_OPTIONS)
        await self.store.restore(data)
        self._saved_writes = self.store.writes
        return sum(len(docs) for docs in data.values())

    async def save_if_changed(self) -> bool:
        writes = self.store.writes
        if writes == self._saved_writes:
            return False
        data = await self.store.dump()
        # Encoding a large store and writing it would stall every socket: do it in a thread.
        await asyncio.to_thread(_encode_and_write, self.path, data)
        self._saved_writes = writes
        return True

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.save_if_changed()


@contextlib.asynccontextmanager
async def embedded_store(data_dir: Path, database: str, snapshot_seconds: float) -> AsyncIterator[Store]:
    """An embedded store loaded from and saved to `data_dir` for the lifetime of the block."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    with _exclusive(data_dir):
        async with _open(data_dir, database, snapshot_seconds) as store:
            yield store


@contextlib.asynccontextmanager
async def _open(data_dir: Path, database: str, snapshot_seconds: float) -> AsyncIterator[Store]:
    store = open_embedded(database)
    snapshots = Snapshotter(store, data_dir / SNAPSHOT_FILE)
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
