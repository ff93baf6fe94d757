"""The embedded store's snapshot is the database at one instant, whatever is written meanwhile."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bson import json_util

from bot.embedded import Snapshotter, open_embedded_database
from bot.embedded_snapshot import JSON_OPTIONS, Freeze, write_snapshot
from bot.store import Store


def _fresh() -> tuple[Store, Any]:
    return open_embedded_database(f"snapshot_{secrets.token_hex(4)}")


def _written(collections: list[tuple[str, list[bytes]]], path: Path) -> dict[str, list[dict[str, Any]]]:
    """The copy as its snapshot file has it."""
    write_snapshot(path, collections)
    data: dict[str, list[dict[str, Any]]] = json_util.loads(
        path.read_text("utf-8"), json_options=JSON_OPTIONS
    )
    return data


async def _eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until `condition` holds, looking every 10 ms; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def _seed(store: Store) -> None:
    await store.collection("conversations").insert_many(
        [{"_id": f"c{i}", "last_seq": i, "contact_key": f"sms:+1415555{i:04d}"} for i in range(10)]
    )
    await store.collection("leads").insert_many(
        [{"_id": f"l{i}", "slots": {"email": f"l{i}@x.io"}, "tags": ["a"]} for i in range(10)]
    )
    await store.collection("users").insert_many([{"_id": f"u{i}", "n": i} for i in range(10)])


async def test_a_snapshot_is_the_database_at_the_instant_it_began(tmp_path: Path) -> None:
    store, database = _fresh()
    await _seed(store)
    before = await store.dump()
    freeze = Freeze(database._store)
    assert not freeze.copy(12)  # some documents are copied already, most are not
    convs, leads, users = (store.collection(n) for n in ("conversations", "leads", "users"))
    await convs.update_one({"_id": "c0"}, {"$inc": {"last_seq": 5}})  # copied before this
    await convs.update_many({}, {"$inc": {"last_seq": 1}})  # copied and not yet copied ones
    await leads.update_one({"_id": "l3"}, {"$set": {"slots.email": "new@x.io"}, "$push": {"tags": "b"}})
    await leads.update_one({"_id": "l3"}, {"$set": {"slots.email": "newer@x.io"}})  # changed twice
    await leads.update_one({"_id": "l4"}, [{"$set": {"slots": {"phone": "+1"}}}])  # a pipeline
    await leads.replace_one({"_id": "l5"}, {"slots": {}})
    await leads.find_one_and_update({"_id": "l6"}, {"$unset": {"slots": ""}})
    await leads.delete_one({"_id": "l7"})
    await leads.insert_one({"_id": "l7", "slots": {"email": "back@x.io"}})  # gone and back
    await users.delete_many({"n": {"$gt": 5}})
    await users.insert_one({"_id": "later"})
    await store.collection("made_later").insert_one({"_id": 1})
    await store.collection("users").drop()

    assert _written(await freeze.copied(), tmp_path / "store.json") == before
    after = await store.dump()
    assert after != before and after["conversations"][0]["last_seq"] == 6
    # The freeze stopped watching: a new one sees the database as it is now.
    assert _written(await Freeze(database._store).copied(), tmp_path / "store.json") == after


async def test_writes_made_while_a_snapshot_is_taken_wait_for_the_next_one(tmp_path: Path) -> None:
    store, database = _fresh()
    await store.collection("a_counter").insert_one({"_id": "n", "value": 0})
    await store.collection("m_filler").insert_many([{"_id": i, "text": "x" * 100} for i in range(3000)])
    await store.collection("z_counter").insert_one({"_id": "n", "value": 0})
    path = tmp_path / "store.json"
    # slice_seconds=0: one batch of documents, then the writer runs, and so on
    snapshots = Snapshotter(store, database, path, slice_seconds=0)
    stop = asyncio.Event()

    async def writer() -> None:  # both counters move together, between two awaits
        while not stop.is_set():
            await store.collection("a_counter").update_one({"_id": "n"}, {"$inc": {"value": 1}})
            await store.collection("z_counter").update_one({"_id": "n"}, {"$inc": {"value": 1}})
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await asyncio.sleep(0)
    assert await snapshots.save_if_changed()
    stop.set()
    await task
    saved = json_util.loads(path.read_text(encoding="utf-8"), json_options=JSON_OPTIONS)
    final = (await store.collection("a_counter").find_one({"_id": "n"}))["value"]
    a, z = saved["a_counter"][0]["value"], saved["z_counter"][0]["value"]
    assert 0 < a == z < final  # one instant, taken while the writes went on
    assert len(saved["m_filler"]) == 3000
    assert await snapshots.save_if_changed()  # the writes after that instant are the next one's
    saved = json_util.loads(path.read_text(encoding="utf-8"), json_options=JSON_OPTIONS)
    assert saved["a_counter"][0]["value"] == saved["z_counter"][0]["value"] == final
    assert not await snapshots.save_if_changed()  # nothing new


async def test_a_snapshot_that_cannot_be_written_is_logged_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, database = _fresh()
    path = tmp_path / "not-yet" / "store.json"
    snapshots = Snapshotter(store, database, path)
    await store.collection("users").insert_one({"_id": "u1"})
    task = asyncio.create_task(snapshots.run(0.01))

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "could not write" in r.getMessage()]

    try:
        await _eventually(lambda: len(failures()) >= 2)  # logged, and tried again
        record = failures()[0]
        assert record.levelno == logging.ERROR and str(path) in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is FileNotFoundError
        path.parent.mkdir()
        await _eventually(path.exists)
    finally:
        task.cancel()
    saved = json_util.loads(path.read_text(encoding="utf-8"), json_options=JSON_OPTIONS)
    assert saved["users"] == [{"_id": "u1"}]
    assert not path.with_suffix(".tmp").exists()
