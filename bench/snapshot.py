"""Snapshot: how long the embedded store's snapshot holds the event loop, before and after.

The embedded store writes its whole database to `store.json` every few seconds while anything
changes (bot/embedded.py). Everything else the server does (every socket, every webhook) waits
while the event loop is busy with it. This builds an embedded store in this process with N
conversations, written through `Store`'s own methods as the server writes them (the
conversation, its lead with an email and phone, M messages, visitor and bot in turn), then takes
snapshots both ways, alternately, while a ticker task asks to wake every millisecond and records
how late it woke (the loop's lag; its worst is the longest stall):

- before: the path as it was until issue 7, reimplemented here (`save_as_before`): `Store.dump()`
  on the loop (every document through mongomock cursors: a deep copy and a time-zone pass each),
  then `json_util.dumps` of the whole database and the atomic write in a thread;
- after: `Snapshotter.save_if_changed` as shipped (bot/embedded_snapshot.py): references taken at
  one instant, BSON copies in slices of ~1 ms, the JSON encoding and the write in a thread.

The floor is the same ticker with no snapshot running. Before measuring, both paths write the
same database once and the two files are compared byte for byte (the format did not change).

    python bench/snapshot.py                                  # 2,000 conversations, 10 messages each
    python bench/snapshot.py --conversations 10000 --messages 2
    python bench/snapshot.py --quick                          # 300 conversations, < 60 s
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bson import json_util

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_note, percentile, progress, table

from bot.embedded import Snapshotter, open_embedded_database
from bot.embedded_snapshot import JSON_OPTIONS
from bot.models import FlowRef, Inbound, Outbound
from bot.store import Store

TICK = 0.001  # the ticker asks to wake this often


# -- the path as it was until issue 7 (also used by bench/as_before.py) -------------------------


def _encode_and_write_as_before(path: Path, data: dict[str, list[dict[str, Any]]]) -> None:
    text = json_util.dumps(data, json_options=JSON_OPTIONS)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


async def save_as_before(store: Store, path: Path) -> None:
    """The old `Snapshotter.save_if_changed` after its change check: dump on the loop, encode
    and write in a thread."""
    data = await store.dump()
    await asyncio.to_thread(_encode_and_write_as_before, path, data)


# -- the store ----------------------------------------------------------------------------------


async def populate(store: Store, conversations: int, messages: int) -> None:
    flow = FlowRef(id="default", version=1)
    for n in range(conversations):
        conv = await store.create_conversation("web", flow, visitor_token=f"visitor-{n}")
        await store.append(
            conv.id, [Outbound(sender="bot", text="Hi! I'm the leadbot assistant. What brings you here?")]
        )
        for i in range(messages // 2):
            text = f"answer {i} of conversation {n}: we need to automate our lead follow-ups"
            await store.record_inbound(
                Inbound(channel="web", conversation_id=conv.id, text=text, client_id=str(i))
            )
            await store.append(
                conv.id, [Outbound(sender="bot", text=f"Thanks! Question {i + 1}: which company?")]
            )
        lead = await store.get_lead(conv.lead_id)
        lead.slots.update({"email": f"lead{n}@example.com", "phone": f"+1415{n:07d}", "company": "Stark"})
        await store.save_lead(lead)
        if n % 500 == 499:
            progress(f"{n + 1:,} conversations")


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Sample:
    way: str
    lags: list[float]  # how late each tick woke, seconds
    seconds: float  # from the start of the snapshot until the file was in place

    @property
    def worst_ms(self) -> float:
        return max(self.lags, default=0.0) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.lags, 99) * 1000


async def while_ticking(work: Callable[[], Awaitable[object]]) -> tuple[list[float], float]:
    """Run `work` while a ticker measures the loop's lag; (lags, seconds the work took)."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            lags.append(max(0.0, loop.time() - due))

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # the ticker is running before the work starts
    lags.clear()
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    done.set()
    await task
    return lags, seconds


def report(samples: list[Sample], documents: int, megabytes: float) -> None:
    rows: list[list[object]] = []
    for way in dict.fromkeys(s.way for s in samples):
        mine = [s for s in samples if s.way == way]
        rows.append(
            [
                way,
                len(mine),
                max(s.worst_ms for s in mine),
                sorted(s.worst_ms for s in mine)[len(mine) // 2],
                max(s.p99_ms for s in mine),
                sum(s.seconds for s in mine) / len(mine),
            ]
        )
    print(f"\nsnapshot of {documents:,} documents ({megabytes:.1f} MB of JSON); event-loop lag while it runs")
    headers = ["snapshot", "runs", "worst stall ms", "median worst ms", "p99 lag ms", "took s (mean)"]
    print(table(headers, rows))
    worst = {way: max(s.worst_ms for s in samples if s.way == way) for way in ("before", "after")}
    ratio = worst["before"] / worst["after"]
    print(f"worst stall before/after: {worst['before']:.1f} / {worst['after']:.1f} ms = {ratio:.1f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=2_000)
    parser.add_argument(
        "--messages", type=int, default=10, help="messages per conversation (plus the greeting)"
    )
    parser.add_argument("--runs", type=int, default=3, help="snapshots each way, taken alternately")
    parser.add_argument("--quick", action="store_true", help="smoke test: 300 conversations, 2 runs")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.runs = 300, 2

    store, database = open_embedded_database("bench")
    await store.ensure_indexes()
    progress(f"writing {args.conversations:,} conversations with {args.messages} messages each")
    await populate(store, args.conversations, args.messages)
    documents = sum(len(docs) for docs in (await store.dump()).values())

    with tempfile.TemporaryDirectory(prefix="leadbot-bench-snapshot-") as tmp:
        before_path, after_path = Path(tmp) / "before" / "store.json", Path(tmp) / "after" / "store.json"
        before_path.parent.mkdir()
        after_path.parent.mkdir()
        snapshots = Snapshotter(store, database, after_path)
        touch = store.collection("bench")  # one write before each snapshot: something changed

        await save_as_before(store, before_path)
        await touch.insert_one({"_id": "changed"})
        await save_as_before(store, before_path)
        assert await snapshots.save_if_changed()
        same = before_path.read_bytes() == after_path.read_bytes()
        megabytes = after_path.stat().st_size / 1e6
        print(f"the two paths wrote the same file: {'yes' if same else 'NO'} ({megabytes:.1f} MB)")

        floor, _ = await while_ticking(lambda: asyncio.sleep(1.0))
        samples = [Sample("no snapshot (floor)", floor, 1.0)]
        for run in range(args.runs):
            await touch.update_one({"_id": "changed"}, {"$set": {"run": run}})
            lags, seconds = await while_ticking(lambda: save_as_before(store, before_path))
            samples.append(Sample("before", lags, seconds))
            await touch.update_one({"_id": "changed"}, {"$set": {"run": -run - 1}})
            lags, seconds = await while_ticking(snapshots.save_if_changed)
            samples.append(Sample("after", lags, seconds))
            progress(
                f"run {run + 1}: before {samples[-2].worst_ms:.1f} ms, after {samples[-1].worst_ms:.1f} ms"
            )
    report(samples, documents, megabytes)
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    asyncio.run(main())
