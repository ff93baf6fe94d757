"""The embedded database's snapshot: a point-in-time copy taken in slices, written in a thread.

Taking it must not stall the event loop, which serves every socket: reading all documents
through mongomock cursors and encoding them held the loop for seconds with a few thousand
conversations (docs/performance.md, "Snapshot"). So:

1. `Freeze` notes, at one instant on the loop and without awaiting in between, every
   collection's keys in natural order (a list copy, ~0.2 µs a document) and where that order
   stood (bot/embedded_index.py numbers each key as it is placed, so a key placed later is
   known to be newer than the freeze).
2. `Freeze.copied` encodes the documents to BSON (C, a few µs each) a slice of ~1 ms at a time,
   letting the loop run between slices. A write landing meanwhile cannot spoil the copy: the
   collection store tells its watchers before a document is changed in place, replaced or
   deleted, or the collection dropped, and the freeze copies the document as it still is, if it
   has not yet. Documents inserted after the freeze are not in it.
3. `write_snapshot` runs in a thread: BSON back to documents, then MongoDB extended JSON (the
   same text `json_util.dumps` gives for the whole database), to a temporary file that is
   fsynced and renamed over the snapshot, then the directory is fsynced. Encoding JSON is pure
   Python: the thread lets go of the GIL every ~1 ms, or the loop would wait for it in steps
   of the 5 ms switch interval, several times a tick (measured: stalls of 20–200 ms).

So a snapshot is every document as it was at the instant of its freeze — a consistent view
across collections (no message without its conversation's `last_seq`, no merged lead half
moved), and never a torn file. What it does not give is durability of later writes: a crash
loses what was written after the last snapshot's freeze.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Final

import bson
from bson import json_util
from bson.codec_options import CodecOptions

from bot.embedded_index import IndexedCollectionStore

JSON_OPTIONS: Final = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=True)
_DECODE: Final[CodecOptions[dict[str, Any]]] = CodecOptions(tz_aware=True)  # stored as UTC
SLICE_SECONDS: Final = 0.001  # the longest the copy holds the loop before it lets others run
_BATCH: Final = 64  # documents copied between two looks at the clock
_GIL_SECONDS: Final = 0.001  # the longest the writing thread holds the GIL in one go

Collections = list[tuple[str, list[bytes]]]  # name → its documents as BSON, in natural order


def _encode(doc: dict[str, Any]) -> bytes:
    # Wrapped: at the top level bson moves `_id` first, and the file keeps fields as stored.
    return bson.encode({"d": doc})


def _decode(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = bson.decode(data, codec_options=_DECODE)["d"]
    return doc


class _FrozenCollection:
    """One collection's documents as they were at the freeze; a watcher of its store."""

    def __init__(self, name: str, store: IndexedCollectionStore) -> None:
        self.name = name
        self._store = store
        self._keys = list(store._documents)  # the frozen documents, in natural order
        self._placed_before = store._next  # a key at this position or later came after the freeze
        self._copies: dict[Any, bytes] = {}
        self._done = 0  # keys looked at by `copy`
        self.failure: Exception | None = None
        store.watchers.append(self)

    def _copy(self, key: Any) -> None:
        """Copy the document under `key` as it is now, if it is a frozen one not copied yet."""
        if key in self._copies:
            return
        position = self._store.position(key)
        if position is not None and position < self._placed_before:
            self._copies[key] = _encode(self._store._documents[key])
        # else: deleted (copied just before), or deleted and inserted again (the same)

    def before_change(self, key: Any) -> None:
        try:
            self._copy(key)
        except Exception as exc:  # the write goes on; this snapshot fails (see `copy`)
            self.failure = exc

    def before_drop(self) -> None:
        try:
            self.copy(len(self._keys))
        except Exception as exc:
            self.failure = exc

    def copy(self, limit: int) -> int:
        """Copy up to `limit` more documents; the number looked at (0: all are copied)."""
        if self.failure is not None:
            raise self.failure
        keys = self._keys[self._done : self._done + limit]
        self._done += len(keys)
        for key in keys:
            self._copy(key)
        return len(keys)

    def encoded(self) -> list[bytes]:
        return [self._copies[key] for key in self._keys]

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._store.watchers.remove(self)


class Freeze:
    """Every document of a mongomock database as it was when this was made."""

    def __init__(self, database_store: Any) -> None:
        stores = database_store._collections
        names = sorted(
            n for n in database_store.list_created_collection_names() if not n.startswith("system.")
        )
        self._collections: list[_FrozenCollection] = []
        try:
            for name in names:
                store = stores[name]
                if not isinstance(store, IndexedCollectionStore):
                    raise TypeError(f"collection {name} is not watched (bot.embedded_index.accelerate)")
                self._collections.append(_FrozenCollection(name, store))
        except BaseException:
            self.close()
            raise

    def copy(self, limit: int) -> bool:
        """Copy up to `limit` more documents; True once every one is copied."""
        for collection in self._collections:
            limit -= collection.copy(limit)
            if limit <= 0:
                return False
        return True

    async def copied(self, slice_seconds: float = SLICE_SECONDS) -> Collections:
        """Copy everything, `slice_seconds` of work at a time, then stop watching."""
        try:
            while True:
                deadline = time.perf_counter() + slice_seconds
                done = self.copy(_BATCH)  # at least one batch a slice
                while not done and time.perf_counter() < deadline:
                    done = self.copy(_BATCH)
                if done:
                    return [(c.name, c.encoded()) for c in self._collections]
                await asyncio.sleep(0)  # the loop serves everyone else between two slices
        finally:
            self.close()

    def close(self) -> None:
        for collection in self._collections:
            collection.close()


async def take(database_store: Any, slice_seconds: float = SLICE_SECONDS) -> Collections:
    """A point-in-time copy of the database: frozen now, before this coroutine first awaits."""
    return await Freeze(database_store).copied(slice_seconds)


def write_snapshot(path: Path, collections: Collections) -> None:
    """Write the copy as extended JSON, atomically. Blocking: run it in a thread."""
    tmp = path.with_suffix(".tmp")
    held_until = time.perf_counter() + _GIL_SECONDS
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("{")
        for i, (name, docs) in enumerate(collections):
            fh.write(f"{', ' if i else ''}{json.dumps(name)}: [")
            for j, data in enumerate(docs):
                text = json_util.dumps(_decode(data), json_options=JSON_OPTIONS)
                fh.write(f"{', ' if j else ''}{text}")
                if time.perf_counter() > held_until:
                    time.sleep(0)  # lets go of the GIL: the event loop takes it if it waits
                    held_until = time.perf_counter() + _GIL_SECONDS
            fh.write("]")
        fh.write("}")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
