"""Background jobs: one contract, run on the store's queue (embedded and over the MongoDB wire
protocol, on a ManualClock) and on saq (a real redis-server, real time: short delays)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import redis.asyncio as aioredis
import saq
from saq.queue.redis import RedisQueue
from saq.utils import now as saq_now

from bot import keys
from bot.app import create_app
from bot.clock import Clock, LoopTimers, ManualClock, SystemClock
from bot.embedded import embedded_store, open_embedded
from bot.jobs import Job, Jobs, Retry
from bot.jobs.local import StoreJobs
from bot.jobs.redis import HEARTBEAT_SECONDS, SaqJobs
from bot.jobs.saq_worker import QUEUE
from bot.jobs.service import JobsNotOpen
from bot.redis_link import RedisLink
from bot.store import Store, open_mongo
from tests.conftest import ClientFactory, make_settings
from tests.support.redis_server import RedisServer

# Real-time waits (saq) end here at the latest; a ManualClock moves this far.
DEADLINE_SECONDS = 30.0
FAST = Retry(attempts=3, first_delay_seconds=1.0, jitter=0.0)


@dataclass(frozen=True)
class Run:
    key: str
    payload: dict[str, Any]
    attempt: int
    at: datetime
    by: str  # which queue ran it
    last_error: str | None


@dataclass
class Runs:
    clock: Clock
    all: list[Run] = field(default_factory=list)
    failures: list[Job] = field(default_factory=list)  # what on_failed was told

    async def failed(self, job: Job) -> None:
        """An `on_failed` callback."""
        self.failures.append(job)

    def handler(self, by: str, *, fail: bool = False, gate: asyncio.Event | None = None) -> Any:
        async def run(job: Job) -> None:
            self.all.append(
                Run(job.key, dict(job.payload), job.attempt, self.clock.now(), by, job.last_error)
            )
            if gate is not None:
                await gate.wait()
            if fail:
                raise RuntimeError(f"boom {job.attempt}")

        return run

    def of(self, key: str) -> list[Run]:
        return [r for r in self.all if r.key == key]


class Rig(Protocol):
    clock: Clock

    async def queue(self, **handlers: Any) -> Jobs:
        """A started queue on the shared backing (store, Redis) with these handlers
        (kind=handler, kind=(handler, Retry) or kind=(handler, Retry, on_failed)); stopped at
        the end of the test."""
        ...

    async def until(self, condition: Condition, queues: list[Jobs]) -> None:
        """Let time pass (and due jobs run) until `condition` holds; fail at the deadline."""
        ...


Condition = Callable[[], bool | Awaitable[bool]]


async def holds(condition: Condition) -> bool:
    result = condition()
    return await result if inspect.isawaitable(result) else result


async def eventually(condition: Condition, within: float = DEADLINE_SECONDS, every: float = 0.02) -> None:
    """Wait until `condition` holds, looking every `every` seconds; fail after `within`."""
    async with asyncio.timeout(within):
        while True:
            if await holds(condition):
                return
            await asyncio.sleep(every)


def _register(queue: Jobs, handlers: dict[str, Any]) -> None:
    for kind, spec in handlers.items():
        handler, retry, *on_failed = spec if isinstance(spec, tuple) else (spec, FAST)
        queue.handle(kind, handler, retry, on_failed[0] if on_failed else None)


class StoreRig:
    """StoreJobs on one store, time on a ManualClock moved in half-second steps."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = ManualClock()
        self.queues: list[StoreJobs] = []

    async def queue(self, **handlers: Any) -> Jobs:
        queue = StoreJobs(self.store, clock=self.clock, timers=self.clock)
        _register(queue, handlers)
        await queue.start()
        self.queues.append(queue)
        return queue

    async def until(self, condition: Condition, queues: list[Jobs]) -> None:
        for _ in range(int(DEADLINE_SECONDS * 2)):
            for queue in queues:
                await queue.idle()
            if await holds(condition):
                return
            self.clock.advance(0.5)
        raise AssertionError("the condition never held")

    async def close(self) -> None:
        for queue in self.queues:
            await queue.stop()


class SaqRig:
    """SaqJobs on one Redis (each with the store's queue as its fallback), in real time."""

    def __init__(self, redis_url: str, store: Store) -> None:
        self.redis_url = redis_url
        self.store = store
        self.clock = SystemClock()
        self.queues: list[SaqJobs] = []
        self.links: list[RedisLink] = []

    async def queue(self, **handlers: Any) -> Jobs:
        link = RedisLink(self.redis_url)
        fallback = StoreJobs(self.store, clock=self.clock, timers=LoopTimers(self.clock), poll_seconds=0.2)
        queue = SaqJobs(link, fallback, clock=self.clock)
        _register(queue, handlers)
        await queue.start()
        self.queues.append(queue)
        self.links.append(link)
        return queue

    async def until(self, condition: Condition, queues: list[Jobs]) -> None:
        await eventually(condition)

    async def close(self) -> None:
        for queue in self.queues:
            await queue.stop()
        for link in self.links:
            await link.close()


@pytest.fixture(params=["store-embedded", "store-wire", "saq"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[StoreRig | SaqRig]:
    database = f"jobs_{secrets.token_hex(4)}"
    if request.param == "store-wire":
        store = open_mongo(request.getfixturevalue("wire_server").uri, database)
    else:
        store = open_embedded(database)
    made: StoreRig | SaqRig = (
        SaqRig(request.getfixturevalue("redis_url"), store) if request.param == "saq" else StoreRig(store)
    )
    try:
        yield made
    finally:
        await made.close()
        store.close()


def later(rig: StoreRig | SaqRig, seconds: float) -> datetime:
    return rig.clock.now() + timedelta(seconds=seconds)


async def has_failed(jobs: Jobs) -> bool:
    return bool(await jobs.failed())


# -- the contract ----------------------------------------------------------------------


async def test_a_job_runs_at_its_time_not_before(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    jobs = await rig.queue(ping=runs.handler("q"))
    soon, now = later(rig, 2), rig.clock.now()
    await jobs.schedule("ping", {"n": 1}, key="at-time", run_at=soon, subject="lead-1")
    await jobs.schedule("ping", {"n": 2}, key="right-away")
    assert [j.key for j in await jobs.pending(subject="lead-1")] == ["at-time"]

    await rig.until(lambda: len(runs.all) == 2, [jobs])

    assert [(r.key, r.payload) for r in runs.all] == [("right-away", {"n": 2}), ("at-time", {"n": 1})]
    assert runs.all[0].at >= now and runs.all[1].at >= soon
    assert runs.all[1].attempt == 1
    await rig.until(lambda: True, [jobs])
    assert await jobs.pending() == [] and await jobs.failed() == []


async def test_scheduling_a_pending_key_replaces_it(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    jobs = await rig.queue(ping=runs.handler("q"))
    await jobs.schedule("ping", {"v": "old"}, key="follow-up", run_at=later(rig, 1))
    moved_to = later(rig, 3)
    await jobs.schedule("ping", {"v": "new"}, key="follow-up", run_at=moved_to)
    pending = await jobs.pending()
    assert [(j.key, j.payload) for j in pending] == [("follow-up", {"v": "new"})]
    await jobs.schedule("ping", {}, key="fence", run_at=later(rig, 4))  # runs after any stray copy

    await rig.until(lambda: bool(runs.of("fence")), [jobs])

    assert [(r.payload, r.at >= moved_to) for r in runs.of("follow-up")] == [({"v": "new"}, True)]


async def test_a_handler_may_schedule_its_own_key_again(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    queues: list[Jobs] = []

    async def chain(job: Job) -> None:
        runs.all.append(Run(job.key, dict(job.payload), job.attempt, rig.clock.now(), "q", None))
        step = int(job.payload["step"])
        if step < 3:  # the next follow-up, under the same key, while this run is under way
            await queues[0].schedule("chain", {"step": step + 1}, key="follow-up", run_at=later(rig, 1))

    queues.append(await rig.queue(chain=chain))
    await queues[0].schedule("chain", {"step": 1}, key="follow-up")

    await rig.until(lambda: len(runs.all) == 3, queues)
    await rig.until(lambda: True, queues)

    assert [r.payload["step"] for r in runs.all] == [1, 2, 3]
    assert await queues[0].pending() == []


async def test_cancel_drops_a_pending_job(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    jobs = await rig.queue(ping=runs.handler("q"))
    await jobs.schedule("ping", {}, key="doomed", run_at=later(rig, 1))
    await jobs.schedule("ping", {}, key="fence", run_at=later(rig, 3))

    assert await jobs.cancel("doomed") is True
    assert await jobs.cancel("doomed") is False
    assert await jobs.cancel("never-scheduled") is False
    await rig.until(lambda: bool(runs.of("fence")), [jobs])

    assert runs.of("doomed") == []


async def test_cancel_subject_drops_its_pending_and_failed_jobs_only(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    jobs = await rig.queue(ping=runs.handler("q"), doomed=(runs.handler("q", fail=True), Retry(attempts=1)))
    await jobs.schedule("doomed", {}, key="lead-1:webhook", subject="lead-1")
    await rig.until(lambda: has_failed(jobs), [jobs])
    assert [j.key for j in await jobs.failed()] == ["lead-1:webhook"]
    await jobs.schedule("ping", {}, key="lead-1:follow-up", run_at=later(rig, 2), subject="lead-1")
    await jobs.schedule("ping", {}, key="lead-2:follow-up", run_at=later(rig, 2), subject="lead-2")

    assert await jobs.cancel_subject("lead-1") == 2
    assert await jobs.pending(subject="lead-1") == [] and await jobs.failed() == []
    assert await jobs.cancel_subject("lead-1") == 0
    await rig.until(lambda: bool(runs.of("lead-2:follow-up")), [jobs])

    assert runs.of("lead-1:follow-up") == []


async def test_a_failing_job_is_retried_with_backoff_then_kept_as_failed(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    # FAST: 3 runs, 1 s then 2 s apart
    jobs = await rig.queue(flaky=(runs.handler("q", fail=True), FAST, runs.failed))
    await jobs.schedule("flaky", {"id": "m1"}, key="resend:m1", subject="lead-1")

    await rig.until(lambda: bool(runs.failures), [jobs])
    failed = await jobs.failed()

    assert [r.attempt for r in runs.all] == [1, 2, 3]
    assert [r.last_error for r in runs.all] == [None, "RuntimeError: boom 1", "RuntimeError: boom 2"]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(runs.all)]
    assert gaps[0] >= 1.0 - 0.01 and gaps[1] >= 2.0 - 0.01, gaps
    assert [(j.key, j.kind, j.attempt, j.last_error, j.subject) for j in failed] == [
        ("resend:m1", "flaky", 3, "RuntimeError: boom 3", "lead-1")
    ]
    assert [(j.key, j.payload, j.last_error) for j in runs.failures] == [
        ("resend:m1", {"id": "m1"}, "RuntimeError: boom 3")
    ]  # on_failed, told once
    assert await jobs.pending() == []


async def test_two_queues_on_one_backing_never_both_run_a_job(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    first = await rig.queue(ping=runs.handler("first"))
    second = await rig.queue(ping=runs.handler("second"))
    keys = [f"job-{n}" for n in range(20)]
    for n, key in enumerate(keys):
        await (first if n % 2 else second).schedule("ping", {"n": n}, key=key)

    await asyncio.gather(first.idle(), second.idle())
    await rig.until(lambda: len(runs.all) >= len(keys), [first, second])
    await rig.until(lambda: True, [first, second])

    assert sorted(r.key for r in runs.all) == sorted(keys)


async def test_a_new_queue_runs_what_an_old_one_scheduled(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    old = await rig.queue(ping=runs.handler("old"))
    await old.schedule("ping", {"n": 1}, key="survivor", run_at=later(rig, 2), subject="lead-1")
    await old.stop()

    new = await rig.queue(ping=runs.handler("new"))
    assert [j.key for j in await new.pending(subject="lead-1")] == ["survivor"]
    await rig.until(lambda: bool(runs.all), [new])

    assert [(r.key, r.by) for r in runs.all] == [("survivor", "new")]


async def test_a_job_of_a_kind_nobody_handles_waits_for_a_queue_that_does(rig: StoreRig | SaqRig) -> None:
    runs = Runs(rig.clock)
    without = await rig.queue(ping=runs.handler("without"))
    await without.schedule("newer.kind", {"n": 1}, key="from-the-future")
    await without.schedule("ping", {}, key="fence", run_at=later(rig, 1))
    await rig.until(lambda: bool(runs.of("fence")), [without])
    assert [j.key for j in await without.pending(kind="newer.kind")] == ["from-the-future"]

    with_it = await rig.queue(**{"newer.kind": runs.handler("with")})
    await rig.until(lambda: bool(runs.of("from-the-future")), [with_it])

    assert [r.by for r in runs.of("from-the-future")] == ["with"]


async def test_a_payload_must_be_plain_json(rig: StoreRig | SaqRig) -> None:
    jobs = await rig.queue(ping=Runs(rig.clock).handler("q"))
    with pytest.raises(TypeError, match="plain JSON"):
        await jobs.schedule("ping", {"lead": object()}, key="bad")
    with pytest.raises(ValueError, match="timezone-aware"):
        await jobs.schedule("ping", {}, key="naive", run_at=datetime(2030, 1, 1))
    assert await jobs.pending() == []


# -- the store's queue -----------------------------------------------------------------


async def test_a_run_whose_process_died_is_taken_over_when_its_lease_runs_out() -> None:
    store, clock = open_embedded(f"jobs_{secrets.token_hex(4)}"), ManualClock()
    runs, gate = Runs(clock), asyncio.Event()
    dying = StoreJobs(store, clock=clock, timers=clock)
    dying.handle("ping", runs.handler("dying", gate=gate), FAST)
    survivor = StoreJobs(store, clock=clock, timers=clock)
    survivor.handle("ping", runs.handler("survivor"), FAST)
    await dying.schedule("ping", {}, key="long")
    claimed = asyncio.create_task(dying.idle())
    try:
        await eventually(lambda: bool(runs.all), every=0)  # the dying queue is running it
        await survivor.idle()
        assert [r.by for r in runs.all] == ["dying"]  # held by its lease

        clock.advance(61)  # the dying process never renewed its lease
        await survivor.idle()

        assert [(r.by, r.attempt) for r in runs.all] == [("dying", 1), ("survivor", 2)]
        assert await survivor.pending() == []
    finally:
        gate.set()
        await claimed
        store.close()


async def test_a_job_whose_last_run_was_cut_short_fails_and_on_failed_is_told() -> None:
    store, clock = open_embedded(f"jobs_{secrets.token_hex(4)}"), ManualClock()
    runs, gate = Runs(clock), asyncio.Event()
    once = Retry(attempts=1)
    dying = StoreJobs(store, clock=clock, timers=clock)
    dying.handle("ping", runs.handler("dying", gate=gate), once, runs.failed)
    survivor = StoreJobs(store, clock=clock, timers=clock)
    survivor.handle("ping", runs.handler("survivor"), once, runs.failed)
    await dying.schedule("ping", {"n": 1}, key="last-chance", subject="lead-1")
    claimed = asyncio.create_task(dying.idle())
    try:
        await eventually(lambda: bool(runs.all), every=0)  # its only run, in a process that dies
        clock.advance(61)  # the lease runs out: no attempt is left to take it over with
        await survivor.idle()

        assert [r.by for r in runs.all] == ["dying"]  # the handler never ran again
        cut_short = "its runs were cut short (the process stopped or died)"
        assert [(j.key, j.subject, j.last_error) for j in await survivor.failed()] == [
            ("last-chance", "lead-1", cut_short)
        ]
        assert [(j.key, j.payload, j.last_error) for j in runs.failures] == [
            ("last-chance", {"n": 1}, cut_short)
        ]
        assert await survivor.pending() == []
    finally:
        gate.set()
        await claimed
        store.close()


async def test_a_clock_jump_never_makes_a_queue_take_over_its_own_running_job() -> None:
    # The wall clock jumps past a running job's lease (a VM resumed, an NTP step) before its
    # heartbeat renews it: the process running it must not start it a second time alongside.
    store, clock = open_embedded(f"jobs_{secrets.token_hex(4)}"), ManualClock()
    runs, gate = Runs(clock), asyncio.Event()
    jobs = StoreJobs(store, clock=clock, timers=clock)
    jobs.handle("long", runs.handler("q", gate=gate), FAST)
    jobs.handle("ping", runs.handler("q"), FAST)
    await jobs.schedule("long", {}, key="long")
    await jobs.schedule("ping", {}, key="after-the-jump", run_at=clock.now() + timedelta(seconds=61))
    first = asyncio.create_task(jobs.idle())
    second: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: bool(runs.of("long")), every=0)
        clock.advance(61)
        second = asyncio.create_task(jobs.idle())
        await eventually(lambda: bool(runs.of("after-the-jump")), every=0)  # claimed after "long"

        assert [r.attempt for r in runs.of("long")] == [1]
    finally:
        gate.set()
        await first
        if second is not None:
            await second
    assert await jobs.pending() == []
    store.close()


async def test_jobs_cut_short_by_a_crash_run_again_when_the_embedded_store_reopens(tmp_path: Path) -> None:
    clock = ManualClock()
    runs, gate = Runs(clock), asyncio.Event()
    async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
        crashing = StoreJobs(store, clock=clock, timers=clock, exclusive=True)
        crashing.handle("ping", runs.handler("before", gate=gate), FAST)
        await crashing.schedule("ping", {"n": 1}, key="cut-short")
        await crashing.schedule("ping", {"n": 2}, key="later", run_at=clock.now() + timedelta(hours=1))
        running = asyncio.create_task(crashing.idle())
        await eventually(lambda: bool(runs.all), every=0)
        # the snapshot taken as the block ends still has "cut-short" running: a crash mid-job
    try:
        async with embedded_store(tmp_path, "leadbot", snapshot_seconds=3600) as store:
            after = StoreJobs(store, clock=clock, timers=clock, exclusive=True)
            after.handle("ping", runs.handler("after"), FAST)
            await after.start()
            try:
                await after.idle()
                assert [(r.key, r.by, r.attempt) for r in runs.all] == [
                    ("cut-short", "before", 1),
                    ("cut-short", "after", 2),
                ]
                clock.advance(3600)
                await after.idle()
                assert [r.key for r in runs.of("later")] == ["later"]
            finally:
                await after.stop()
    finally:
        gate.set()  # the "crashed" run ends, in a store no one reads any more
        await running


# -- saq: Redis going away -------------------------------------------------------------


async def test_while_redis_is_down_jobs_go_to_the_store_and_still_run(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)  # our own: this test stops it
    server.start()
    store, clock = open_embedded(f"jobs_{secrets.token_hex(4)}"), SystemClock()
    link = RedisLink(server.url)
    runs = Runs(clock)
    jobs = SaqJobs(
        link, StoreJobs(store, clock=clock, timers=LoopTimers(clock), poll_seconds=0.2), clock=clock
    )
    jobs.handle("ping", runs.handler("q"), FAST)
    await jobs.start()
    try:
        await jobs.schedule("ping", {"n": 1}, key="on-redis", run_at=later_than(clock, 30))
        assert [j.key for j in await jobs.pending()] == ["on-redis"]
        assert await store.collection("jobs").count_documents({}) == 0  # on Redis, not in the store

        server.stop()
        await jobs.schedule("ping", {"n": 2}, key="during-outage", subject="lead-1")
        assert link.healthy is False
        assert await store.collection("jobs").count_documents({"_id": "during-outage"}) == 1
        await eventually(lambda: bool(runs.of("during-outage")))  # the store's queue runs it

        server.start()  # an empty Redis: what it held is gone (no persistence in this test)
        await eventually(link.ping, every=0.1)  # the app's watcher does this every second
        await jobs.schedule("ping", {"n": 3}, key="after-outage")
        await eventually(lambda: bool(runs.of("after-outage")))  # saq's worker is back by itself
        assert await store.collection("jobs").count_documents({"_id": "after-outage"}) == 0
    finally:
        await jobs.stop()
        await link.close()
        server.stop()
        store.close()


def later_than(clock: Clock, seconds: float) -> datetime:
    return clock.now() + timedelta(seconds=seconds)


async def test_saq_fails_a_job_whose_last_run_died_and_tells_on_failed(redis_url: str) -> None:
    """A process takes a job's only run from Redis and dies: saq sweeps the dead run (no
    heartbeat), and the job is kept as failed, with on_failed told, rather than dropped unseen."""
    store, clock = open_embedded(f"jobs_{secrets.token_hex(4)}"), SystemClock()
    runs, links = Runs(clock), [RedisLink(redis_url), RedisLink(redis_url)]

    def queue(link: RedisLink, concurrency: int) -> SaqJobs:
        fallback = StoreJobs(store, clock=clock, timers=LoopTimers(clock), poll_seconds=0.2)
        jobs = SaqJobs(link, fallback, clock=clock, concurrency=concurrency, sweep_seconds=1)
        jobs.handle("ping", runs.handler("q"), Retry(attempts=1, first_delay_seconds=0.2), runs.failed)
        return jobs

    scheduler = queue(links[0], concurrency=0)  # runs no job itself: the dying process takes it
    survivor = queue(links[1], concurrency=2)
    client = aioredis.Redis.from_url(redis_url)
    await scheduler.start()
    try:
        await scheduler.schedule("ping", {"n": 1}, key="last-chance", subject="lead-1")
        # The dying process takes the run as saq's worker does (dequeued, marked active), and
        # never beats: its last sign of life is past the heartbeat's limit.
        dying = RedisQueue(client, name=QUEUE)
        async with asyncio.timeout(DEADLINE_SECONDS):
            while (run := await dying.dequeue(timeout=1)) is None:
                pass
        stale = saq_now() - (HEARTBEAT_SECONDS + 5) * 1000
        await run.update(
            status=saq.Status.ACTIVE, attempts=run.attempts + 1, started=saq_now(), touched=stale
        )
        await survivor.start()

        await eventually(lambda: bool(runs.failures))

        cut_short = "its runs were cut short (the process stopped or died)"
        assert runs.all == []  # the handler's only run was the dead one
        assert [(j.key, j.payload, j.last_error) for j in runs.failures] == [
            ("last-chance", {"n": 1}, cut_short)
        ]
        assert [(j.key, j.subject, j.last_error) for j in await survivor.failed()] == [
            ("last-chance", "lead-1", cut_short)
        ]
        assert await survivor.pending() == []
    finally:
        await survivor.stop()
        await scheduler.stop()
        await client.aclose()
        for link in links:
            await link.close()
        store.close()


# -- in the app ------------------------------------------------------------------------


async def test_the_app_runs_registered_jobs_on_its_clock(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    app = create_app(make_settings(tmp_path / "data"), clock=clock.now, timers=clock)
    runs = Runs(clock)
    app[keys.JOBS].handle("ping", runs.handler("app"), FAST)
    with pytest.raises(JobsNotOpen):
        await app[keys.JOBS].schedule("ping", {}, key="too-early")
    client = await aiohttp_client(app)
    jobs = client.app[keys.JOBS]

    await jobs.schedule("ping", {"n": 1}, key="tomorrow", run_at=clock.now() + timedelta(days=1))
    clock.advance(86399)
    await jobs.idle()
    assert runs.all == []
    clock.advance(1)
    await jobs.idle()
    assert [r.key for r in runs.all] == ["tomorrow"]


async def test_the_app_uses_saq_when_redis_is_configured(
    aiohttp_client: ClientFactory, tmp_path: Path, redis_url: str
) -> None:
    app = create_app(make_settings(tmp_path / "data", LEADBOT_REDIS_URL=redis_url))
    runs = Runs(SystemClock())
    app[keys.JOBS].handle("ping", runs.handler("app"), FAST)
    client = await aiohttp_client(app)
    jobs = client.app[keys.JOBS]

    await jobs.schedule("ping", {"n": 1}, key="now")
    await eventually(lambda: bool(runs.all))
    assert isinstance(jobs.queue, SaqJobs)
    assert [r.key for r in runs.all] == ["now"]
