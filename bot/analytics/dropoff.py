"""Drop-off per question: where conversations stopped during qualification (`dropoff_pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


async def dropoff(store: Store, window: Window) -> list[QuestionDropOff]:
    """Every question asked in the window's conversations, most drop-offs first."""
    docs = [doc async for doc in run(store.messages, dropoff_pipeline(window))]
    facets: dict[str, list[dict[str, Any]]] = docs[0] if docs else {}
    asked = {str(doc["_id"]): int(doc["conversations"]) for doc in facets.get("asked", [])}
    dropped = {str(doc["_id"]): int(doc["conversations"]) for doc in facets.get("dropped", [])}
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
