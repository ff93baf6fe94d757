"""The whole analytics report for one window: what the page, the JSON API and the CSVs show."""

from __future__ import annotations

from dataclasses import dataclass

from bot.analytics.attribution import Attribution, attribution
from bot.analytics.cohort_ids import CHUNK_SIZE
from bot.analytics.dropoff import QuestionDropOff, dropoff
from bot.analytics.funnel import Cohort, cohort
from bot.analytics.timing import Timing, timings
from bot.analytics.window import Window
from bot.attribution.report import Grouping
from bot.store import Store


@dataclass(frozen=True)
class Report:
    window: Window
    cohort: Cohort
    dropoff: list[QuestionDropOff]
    timings: list[Timing]
    attribution: Attribution


async def build_report(
    store: Store, window: Window, *, attribution_by: Grouping = "source", chunk_size: int = CHUNK_SIZE
) -> Report:
    """`chunk_size`: how many conversations' messages each message query reads (cohort_ids.py)."""
    return Report(
        window=window,
        cohort=await cohort(store, window),
        dropoff=await dropoff(store, window, chunk_size=chunk_size),
        timings=await timings(store, window, chunk_size=chunk_size),
        attribution=await attribution(store, window, attribution_by),
    )
