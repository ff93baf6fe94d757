"""How long people wait: for the bot's answer, for an agent to take the conversation, and for the
agent's first reply; each as a count, p50 and p90 in seconds (`percentiles.nearest_rank`).

- bot response: for every bot message whose previous public message is the visitor's, the time
  between the two (the visitor's wait for the bot after their last message);
- queue wait: claimed_at − handed_off_at, for conversations an agent took after they last
  joined the queue (those still waiting are counted in the handoff outcomes instead);
- first agent reply: from handed_off_at to the first public agent message at or after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.analytics.cohort_ids import CHUNK_SIZE, cohort_id_chunks
from bot.analytics.percentiles import nearest_rank
from bot.analytics.pipelines import run, timelines_pipeline, waits_pipeline
from bot.analytics.window import Window
from bot.store import Store

METRICS: Final = ("bot_response", "queue_wait", "first_agent_reply")


@dataclass(frozen=True)
class Timing:
    metric: str  # one of METRICS
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


def summarize(metric: str, seconds: Sequence[float]) -> Timing:
    return Timing(metric, len(seconds), nearest_rank(seconds, 50), nearest_rank(seconds, 90))


def bot_responses(senders: Sequence[str], times: Sequence[datetime]) -> list[float]:
    """Seconds from a visitor's message to the bot message right after it, for each such pair."""
    return [
        (times[i] - times[i - 1]).total_seconds()
        for i in range(1, min(len(senders), len(times)))
        if senders[i] == "bot" and senders[i - 1] == "visitor"
    ]


async def timings(store: Store, window: Window, *, chunk_size: int = CHUNK_SIZE) -> list[Timing]:
    """The three measures over the window's conversations, in METRICS order."""
    bot: list[float] = []
    first_reply: list[float] = []
    async for ids in cohort_id_chunks(store, window, chunk_size):
        async for doc in run(store.messages, timelines_pipeline(ids)):
            bot.extend(bot_responses(doc.get("senders") or [], doc.get("times") or []))
            if doc.get("first_response_ms") is not None:
                first_reply.append(doc["first_response_ms"] / 1000)
    waits = [doc["wait_ms"] / 1000 async for doc in run(store.conversations, waits_pipeline(window))]
    return [
        summarize("bot_response", bot),
        summarize("queue_wait", waits),
        summarize("first_agent_reply", first_reply),
    ]
