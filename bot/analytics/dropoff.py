"""Drop-off per question: where conversations stopped during qualification (`dropoff_pipeline`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.analytics.cohort_ids import CHUNK_SIZE, cohort_id_chunks
from bot.analytics.pipelines import dropoff_pipeline, run
from bot.analytics.window import Window
from bot.store import Store


@dataclass(frozen=True)
class QuestionDropOff:
    slot: str
    asked: int  # conversations whose bot asked this question
    dropped: int  # conversations that stopped at it
    share: float | None  # of all the conversations that stopped at some question
    rate: float | None  # dropped / asked


async def dropoff(store: Store, window: Window, *, chunk_size: int = CHUNK_SIZE) -> list[QuestionDropOff]:
    """Every question asked in the window's conversations, most drop-offs first."""
    asked: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    async for ids in cohort_id_chunks(store, window, chunk_size):
        # Each conversation is in one chunk: its counts per slot add to the other chunks'.
        async for facets in run(store.messages, dropoff_pipeline(ids)):
            asked.update({str(doc["_id"]): int(doc["conversations"]) for doc in facets.get("asked", [])})
            dropped.update({str(doc["_id"]): int(doc["conversations"]) for doc in facets.get("dropped", [])})
    total = sum(dropped.values())
    rows = [
        QuestionDropOff(
            slot=slot,
            asked=asked.get(slot, 0),
            dropped=dropped.get(slot, 0),
            share=dropped.get(slot, 0) / total if total else None,
            rate=dropped.get(slot, 0) / asked[slot] if asked.get(slot) else None,
        )
        for slot in set(asked) | set(dropped)
    ]
    return sorted(rows, key=lambda r: (-r.dropped, -r.asked, r.slot))
