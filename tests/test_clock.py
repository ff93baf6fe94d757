"""The injectable clock: ManualClock runs timers as tests move time; LoopTimers schedules on asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.clock import LoopTimers, ManualClock, SystemClock

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_timers_run_when_due_in_time_order_and_see_their_own_time() -> None:
    clock = ManualClock(START)
    ran: list[tuple[str, datetime]] = []
    clock.call_at(START + timedelta(seconds=30), lambda: ran.append(("late", clock.now())))
    clock.call_at(START + timedelta(seconds=10), lambda: ran.append(("early", clock.now())))
    clock.call_at(START + timedelta(seconds=90), lambda: ran.append(("not yet", clock.now())))

    clock.advance(29)
    assert ran == [("early", START + timedelta(seconds=10))]
    assert clock.now() == START + timedelta(seconds=29)

    clock.advance(1)
    assert ran[-1] == ("late", START + timedelta(seconds=30))
    assert clock.pending == 1


def test_timers_due_at_the_same_moment_run_in_the_order_they_were_set() -> None:
    clock = ManualClock(START)
    ran: list[int] = []
    for n in range(5):
        clock.call_at(START + timedelta(seconds=5), lambda n=n: ran.append(n))
    clock.advance(5)
    assert ran == [0, 1, 2, 3, 4]


def test_a_callback_may_set_timers_that_run_within_the_same_advance() -> None:
    clock = ManualClock(START)
    ran: list[datetime] = []

    def every_ten_seconds() -> None:
        ran.append(clock.now())
        clock.call_at(clock.now() + timedelta(seconds=10), every_ten_seconds)

    clock.call_at(START + timedelta(seconds=10), every_ten_seconds)
    clock.advance(35)
    assert ran == [START + timedelta(seconds=s) for s in (10, 20, 30)]
    assert clock.pending == 1


def test_cancelled_timers_do_not_run_and_past_timers_run_on_the_next_advance() -> None:
    clock = ManualClock(START)
    ran: list[str] = []
    handle = clock.call_at(START + timedelta(seconds=1), lambda: ran.append("cancelled"))
    clock.call_at(START - timedelta(seconds=1), lambda: ran.append("overdue"))
    handle.cancel()
    assert clock.pending == 1
    clock.advance(0)
    assert ran == ["overdue"]
    assert clock.now() == START  # an overdue timer does not turn the clock back
    clock.advance(5)
    assert ran == ["overdue"]


def test_manual_clock_refuses_naive_times_and_going_backwards() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2025, 1, 1))
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.call_at(datetime(2025, 1, 1), lambda: None)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_system_clock_is_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


class _RecordingLoop:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        self.delays.append(delay)
        return cast(asyncio.TimerHandle, None)


def test_loop_timers_turn_wall_clock_moments_into_delays_from_now() -> None:
    clock = ManualClock(START)
    loop = _RecordingLoop()
    timers = LoopTimers(clock, cast(Any, loop))
    timers.call_at(START + timedelta(seconds=42.5), lambda: None)
    timers.call_at(START - timedelta(seconds=10), lambda: None)
    assert loop.delays == [42.5, 0.0]


async def test_loop_timers_run_callbacks_on_the_running_loop_and_can_be_cancelled() -> None:
    clock = SystemClock()
    timers = LoopTimers(clock)
    fired = asyncio.Event()
    cancelled: list[str] = []
    # both are due at once: had the cancel not worked, the first would run before the event is set
    timers.call_at(clock.now(), lambda: cancelled.append("ran")).cancel()
    timers.call_at(clock.now(), fired.set)
    async with asyncio.timeout(5):
        await fired.wait()
    assert cancelled == []
