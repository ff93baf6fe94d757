"""The turn's failure budget: what is retried, when, for how long, and what it all cost.

The first half drives `Budget` with scripted calls on a manual clock (no waiting at all); the
second drives the real SDK clients against the fake providers, each failure mode in turn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestServer

from bot.llm.budget import Attempt, Backoff, Budget
from bot.llm.client import ChatMessage, Proposal, StreamDone, ToolSpec
from bot.llm.failure import FailureKind, LlmFailure, retry_after
from bot.llm.usage import Prices, Usage
from tests.support.fake_llm import Hang, HttpError, Refusal, Rig, ToolCall, open_rig, reply

ServerFactory = Callable[..., Awaitable[TestServer]]

# ------------------------------------------------------------------------------ on a manual clock


@dataclass
class Manual:
    """A clock that moves only when the budget sleeps; the pauses asked for are kept."""

    now: float = 100.0
    pauses: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def budget(clock: Manual, seconds: float = 8.0) -> Budget:
    return Budget.for_turn(
        seconds, Prices(1.0, 2.0), clock=clock, sleep=clock.sleep, jitter=lambda: 0.5, backoff=Backoff()
    )


def scripted(
    clock: Manual, *outcomes: LlmFailure | Usage, seconds: float = 0.5
) -> Callable[[float], Awaitable[Proposal]]:
    """A call that takes `seconds` each time and fails or succeeds as listed."""
    queue = list(outcomes)

    async def call(deadline: float) -> Proposal:
        clock.now += seconds
        outcome = queue.pop(0)
        if isinstance(outcome, LlmFailure):
            raise outcome
        return Proposal({"ok": True}, outcome)

    return call


async def test_success_first_time_is_one_attempt() -> None:
    clock = Manual()
    b = budget(clock)
    result = await b.run(scripted(clock, Usage(1000, 100)))
    assert result.args == {"ok": True}
    assert b.record.attempts == [Attempt(None, 0.5, Usage(1000, 100))]
    assert b.record.cost == pytest.approx((1000 * 1.0 + 100 * 2.0) / 1e6)
    assert clock.pauses == []


async def test_retryable_failures_back_off_exponentially_with_jitter() -> None:
    clock = Manual()
    b = budget(clock)
    failures = [LlmFailure(kind) for kind in ("server", "connection", "malformed", "timeout")]
    await b.run(scripted(clock, *failures, Usage(10, 1)))
    # base 0.2 · 2^n, capped at 2 s; jitter 0.5 → three quarters of the base
    assert clock.pauses == pytest.approx([0.15, 0.3, 0.6, 1.2])
    assert b.record.failures == ["server", "connection", "malformed", "timeout"]
    assert b.record.seconds == pytest.approx(2.5)


@pytest.mark.parametrize("kind", ["auth", "refused", "rejected"])
async def test_what_a_retry_cannot_cure_is_raised_at_once(kind: FailureKind) -> None:
    clock = Manual()
    b = budget(clock)
    with pytest.raises(LlmFailure) as raised:
        await b.run(scripted(clock, LlmFailure(kind, usage=Usage(50, 5)), Usage(10, 1)))
    assert raised.value.kind == kind
    assert clock.pauses == []
    assert b.record.failures == [kind]
    assert b.record.usage == Usage(50, 5)  # a refusal is billed too


async def test_retry_after_is_honoured_when_it_fits() -> None:
    clock = Manual()
    b = budget(clock)
    await b.run(scripted(clock, LlmFailure("rate_limited", retry_after=3.0), Usage()))
    assert clock.pauses == [3.0]


async def test_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    clock = Manual()
    b = budget(clock, seconds=2.0)
    with pytest.raises(LlmFailure, match="rate_limited"):
        await b.run(scripted(clock, LlmFailure("rate_limited", retry_after=30.0), Usage()))
    assert clock.pauses == []  # no point waiting, and no point asking sooner


async def test_the_last_failure_is_raised_when_the_time_is_spent() -> None:
    clock = Manual()
    b = budget(clock, seconds=2.0)
    outcomes = [LlmFailure("server", f"attempt {i}") for i in range(10)]
    with pytest.raises(LlmFailure, match="attempt 2"):
        await b.run(scripted(clock, *outcomes))
    # 0.5 + 0.15 + 0.5 + 0.3 + 0.5 = 1.95: a further pause would leave no time to answer
    assert b.record.failures == ["server"] * 3
    assert b.remaining < 0.6


async def test_a_spent_budget_starts_no_attempt() -> None:
    clock = Manual()
    b = budget(clock, seconds=1.0)
    clock.now += 1.0
    called = False

    async def call(deadline: float) -> Proposal:
        nonlocal called
        called = True
        return Proposal({}, Usage())

    with pytest.raises(LlmFailure, match="timeout"):
        await b.run(call)
    assert not called and b.record.attempts == []


async def test_the_call_gets_the_attempts_deadline() -> None:
    clock = Manual()
    b = budget(clock, seconds=8.0)
    seen: list[float] = []

    async def call(deadline: float) -> Proposal:
        seen.append(deadline)
        return Proposal({}, Usage())

    await b.run(call, attempt_seconds=3.0)
    await b.run(call)
    assert seen == [103.0, 108.0]


def test_retry_after_headers() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None


# ------------------------------------------------------------------------------ real clients, fake providers

TOOL = ToolSpec(
    "record",
    "Record what the visitor said.",
    {"type": "object", "properties": {"team_size": {"type": "integer"}}, "required": ["team_size"]},
)
VISITOR = [ChatMessage("visitor", "We are 40 people.")]


@pytest.fixture(params=["openai", "anthropic"])
async def rig(request: pytest.FixtureRequest, aiohttp_server: ServerFactory) -> AsyncIterator[Rig]:
    async with open_rig(request.param, aiohttp_server) as rig:
        yield rig


@dataclass
class Waits:
    """Pauses asked for, not slept: the fake answers at once, so nothing needs the wait."""

    asked: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def turn(
    rig: Rig, seconds: float | None = None, sleep: Callable[[float], Awaitable[None]] | None = None
) -> Budget:
    return Budget.for_turn(
        seconds or rig.config.turn_seconds,
        rig.config.prices,
        sleep=sleep or asyncio.sleep,
        backoff=Backoff(first=0.01, cap=0.05),
    )


def extraction(rig: Rig) -> Callable[[float], Awaitable[Proposal]]:
    async def call(deadline: float) -> Proposal:
        return await rig.client.extract(system="Extract.", messages=VISITOR, tool=TOOL, deadline=deadline)

    return call


async def test_429_is_retried_after_retry_after(rig: Rig) -> None:
    rig.fake.then(HttpError(429, retry_after="2"), ToolCall({"team_size": 40}))
    waits = Waits()
    b = turn(rig, sleep=waits)
    assert (await b.run(extraction(rig))).args == {"team_size": 40}
    assert waits.asked == [2.0]
    assert b.record.failures == ["rate_limited"]
    assert len(rig.fake.requests) == 2


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_retried(rig: Rig, status: int) -> None:
    rig.fake.then(HttpError(status), ToolCall({"team_size": 40}))
    b = turn(rig)
    assert (await b.run(extraction(rig))).args == {"team_size": 40}
    assert b.record.failures == ["server"]


async def test_a_hung_attempt_is_cut_off_and_retried(rig: Rig) -> None:
    rig.fake.then(Hang(), ToolCall({"team_size": 40}))
    b = turn(rig, seconds=3.0)
    started = time.monotonic()
    assert (await b.run(extraction(rig), attempt_seconds=0.3)).args == {"team_size": 40}
    assert time.monotonic() - started < 1.5
    assert b.record.failures == ["timeout"]
    assert b.record.attempts[0].seconds == pytest.approx(0.3, abs=0.1)


async def test_a_spent_budget_raises_timeout_in_bounded_time(rig: Rig) -> None:
    rig.fake.then(Hang(), Hang(), Hang())
    b = turn(rig, seconds=0.5)
    started = time.monotonic()
    with pytest.raises(LlmFailure) as raised:
        await b.run(extraction(rig))
    assert raised.value.kind == "timeout"
    assert time.monotonic() - started < 1.0
    assert b.record.failures == ["timeout"]


async def test_malformed_tool_arguments_are_retried(rig: Rig) -> None:
    rig.fake.then(
        ToolCall(raw_args='{"team_size": 4'),  # cut short
        ToolCall({"team_size": "forty"}),  # the wrong type
        ToolCall({"team_size": 40}),
    )
    b = turn(rig)
    assert (await b.run(extraction(rig))).args == {"team_size": 40}
    assert b.record.failures == ["malformed", "malformed"]
    # Malformed answers are billed: all three count.
    assert b.record.usage == Usage(360, 90)


async def test_a_refusal_is_not_retried(rig: Rig) -> None:
    rig.fake.then(Refusal(), ToolCall({"team_size": 40}))
    b = turn(rig)
    with pytest.raises(LlmFailure) as raised:
        await b.run(extraction(rig))
    assert raised.value.kind == "refused"
    assert len(rig.fake.requests) == 1
    assert b.record.usage == Usage(80, 9)


async def test_a_bad_key_is_not_retried(rig: Rig) -> None:
    rig.fake.api_key = "another-key"
    rig.fake.then(ToolCall({"team_size": 40}))
    b = turn(rig)
    with pytest.raises(LlmFailure) as raised:
        await b.run(extraction(rig))
    assert raised.value.kind == "auth"
    assert len(rig.fake.requests) == 1


async def test_a_stream_is_retried_through_the_budget(rig: Rig) -> None:
    rig.fake.then(HttpError(503), reply("Hello ", "there!"))
    b = turn(rig)

    async def call(deadline: float) -> StreamText:
        return await StreamText.read(rig, deadline)

    assert (await b.run(call)).text == "Hello there!"
    assert b.record.failures == ["server"]


async def test_cost_of_a_turn(rig: Rig) -> None:
    # extraction after a 429, then the reply: both successful calls are billed
    rig.fake.then(HttpError(429, retry_after="0"), ToolCall({"team_size": 40}), reply("Thanks!"))
    b = turn(rig)
    await b.run(extraction(rig))
    await b.run(lambda deadline: StreamText.read(rig, deadline))
    assert b.record.usage == Usage(120 + 90, 30 + 12)
    prices = {"openai": (0.15, 0.60), "anthropic": (1.00, 5.00)}[rig.provider]
    assert b.record.cost == pytest.approx((210 * prices[0] + 42 * prices[1]) / 1e6)
    assert [a.kind for a in b.record.attempts] == ["rate_limited", None, None]
    summary = b.record.summary()
    assert summary["attempts"] == 3 and summary["failures"] == ["rate_limited"]
    assert (summary["input_tokens"], summary["output_tokens"]) == (210, 42)
    assert summary["cost_usd"] == round(b.record.cost, 6)


@dataclass(frozen=True)
class StreamText:
    text: str
    usage: Usage

    @classmethod
    async def read(cls, rig: Rig, deadline: float) -> StreamText:
        events = rig.client.stream(system="Reply.", messages=VISITOR, deadline=deadline, max_tokens=50)
        async for event in events:
            if isinstance(event, StreamDone):
                return cls(event.text, event.usage)
        raise AssertionError("no final event")
