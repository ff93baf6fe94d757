"""A turn's failure budget: retry what may pass on a second try, while the turn has time.

Every model call of a turn (extraction, then the reply) runs through the turn's `Budget`. A
retryable failure (budget.RETRYABLE: timeout, 429, 5xx, malformed output, a dropped connection)
is tried again after an exponential, jittered pause, or after the provider's Retry-After when
that fits in the time left. When the time is spent, the last failure is raised and the turn
takes the offline path. Each attempt is recorded (`Attempts`): kind, latency, tokens, cost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from bot.llm.failure import FailureKind, LlmFailure
from bot.llm.usage import Prices, Usage


class _Costed(Protocol):
    @property
    def usage(self) -> Usage: ...


R = TypeVar("R", bound=_Costed)

# Below this, another attempt cannot get an answer back: do not start it.
MIN_ATTEMPT_SECONDS = 0.05


@dataclass(frozen=True)
class Attempt:
    kind: FailureKind | None  # None: it succeeded
    seconds: float
    usage: Usage = field(default_factory=Usage)


@dataclass
class Attempts:
    """Accounting for a turn's model calls, successful or not."""

    prices: Prices = field(default_factory=Prices)
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for attempt in self.attempts:
            total += attempt.usage
        return total

    @property
    def seconds(self) -> float:
        return sum(attempt.seconds for attempt in self.attempts)

    @property
    def failures(self) -> list[FailureKind]:
        return [attempt.kind for attempt in self.attempts if attempt.kind is not None]

    @property
    def cost(self) -> float:
        """US dollars."""
        return self.prices.cost(self.usage)

    def summary(self) -> dict[str, Any]:
        """JSON-able, for a conversation's record and for metrics."""
        usage = self.usage
        return {
            "attempts": len(self.attempts),
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost_usd": round(self.cost, 6),
        }


@dataclass(frozen=True)
class Backoff:
    first: float = 0.2  # seconds before the second attempt …
    factor: float = 2.0  # … times this for each further one …
    cap: float = 2.0  # … up to this

    def pause(self, retry: int, jitter: float) -> float:
        """The pause before retry number `retry` (1, 2 …): half fixed, half random, so visitors
        retrying at once after an outage do not hit the provider in step."""
        base = min(self.cap, self.first * self.factor ** (retry - 1))
        return base / 2 + base / 2 * jitter


@dataclass
class Budget:
    # On `clock`, and so is the deadline handed to each call: the provider clients expect
    # time.monotonic(), the default; another clock is for tests of the budget alone.
    deadline: float
    record: Attempts = field(default_factory=Attempts)
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random

    @classmethod
    def for_turn(
        cls,
        seconds: float,
        prices: Prices,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        backoff: Backoff | None = None,
    ) -> Budget:
        """A budget of `seconds` from now: `LlmConfig.turn_seconds` and `LlmConfig.prices`."""
        return cls(clock() + seconds, Attempts(prices), backoff or Backoff(), clock, sleep, jitter)

    @property
    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    async def run(self, call: Callable[[float], Awaitable[R]], *, attempt_seconds: float | None = None) -> R:
        """`call(deadline)` until it succeeds or the budget is spent; raises the last LlmFailure.

        `attempt_seconds` caps each attempt, so one hung connection leaves time for another."""
        retry = 0
        while True:
            left = self.remaining
            if left < MIN_ATTEMPT_SECONDS:
                raise LlmFailure("timeout", "the turn's time was spent before the model answered")
            limit = left if attempt_seconds is None else min(left, attempt_seconds)
            started = self.clock()
            try:
                async with asyncio.timeout(limit):
                    result = await call(started + limit)
            except TimeoutError:
                failure = LlmFailure("timeout", f"no answer within {limit:.2f} s")
            except LlmFailure as caught:
                failure = caught
            else:
                self.record.attempts.append(Attempt(None, self.clock() - started, result.usage))
                return result
            self.record.attempts.append(Attempt(failure.kind, self.clock() - started, failure.usage))
            retry += 1
            pause = self._pause(failure, retry)
            if pause is None:
                raise failure
            await self.sleep(pause)

    def _pause(self, failure: LlmFailure, retry: int) -> float | None:
        """How long to wait before trying again, or None to give up now."""
        if not failure.retryable:
            return None
        pause = self.backoff.pause(retry, self.jitter())
        if failure.retry_after is not None:
            # The provider said when; asking sooner only earns another 429.
            pause = max(pause, failure.retry_after)
        if self.remaining - pause < MIN_ATTEMPT_SECONDS:
            return None
        return pause
