"""Time, injected: what time it is (`Clock`) and running something later (`Timers`).

Code that waits or expires things takes both as parameters, so production runs on the system
clock and the event loop while tests use `ManualClock` and move time forward instead of sleeping.
Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class TimerHandle(Protocol):
    def cancel(self) -> None:
        """Do not run the callback; harmless once it has run or was cancelled."""
        ...


class Timers(Protocol):
    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once `when` has come (soon, if it already has)."""
        ...


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class CallableClock:
    """A `Clock` over a plain `() -> datetime` function (the app's clock setting)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()


class LoopTimers:
    """Timers on an asyncio event loop.

    The loop keeps monotonic time, which does not jump with the wall clock, so a wall-clock
    `when` is turned into a delay from the clock's now at the moment it is scheduled.
    """

    def __init__(self, clock: Clock, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._clock = clock
        self._loop = loop

    def call_at(self, when: datetime, callback: Callable[[], None]) -> TimerHandle:
        _require_aware(when, "when")
        loop = self._loop or asyncio.get_running_loop()
        delay = max(0.0, (when - self._clock.now()).total_seconds())
        return loop.call_later(delay, callback)


class ManualTimer:
    def __init__(self, when: datetime, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.active = True  # neither cancelled nor run yet

    def cancel(self) -> None:
        self.active = False


# A Monday, so tests that do not care about the date still get a working day.
_TEST_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class ManualClock:
    """A `Clock` and `Timers` for tests: time stands still until `advance` moves it."""

    def __init__(self, start: datetime = _TEST_START) -> None:
        _require_aware(start, "start")
        self._now = start.astimezone(UTC)
        self._due: list[tuple[datetime, int, ManualTimer]] = []
        # breaks ties between timers due at the same moment: first scheduled runs first
        self._scheduled = itertools.count()

    def now(self) -> datetime:
        return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> ManualTimer:
        _require_aware(when, "when")
        timer = ManualTimer(when.astimezone(UTC), callback)
        heapq.heappush(self._due, (timer.when, next(self._scheduled), timer))
        return timer

    @property
    def pending(self) -> int:
        """How many timers are still to run (not cancelled)."""
        return sum(1 for _, _, timer in self._due if timer.active)

    def advance(self, seconds: float) -> None:
        """Move time forward, running every timer that falls due, in time order.

        While a callback runs, `now()` is the time it was due, so timers it schedules are
        measured from there; they run too if they fall due within the advance. A timer set
        for the past runs at the current time. `advance(0)` runs whatever is due now.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._now + timedelta(seconds=seconds)
        while self._due and self._due[0][0] <= target:
            when, _, timer = heapq.heappop(self._due)
            if not timer.active:
                continue
            self._now = max(self._now, when)
            timer.active = False
            timer.callback()
        self._now = target
