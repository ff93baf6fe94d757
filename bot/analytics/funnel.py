"""The funnel, its breakdowns, handoff outcomes and lead scores: one run of the cohort pipeline.

docs/analytics.md defines each stage; the pipeline (`pipelines.cohort_pipeline`) counts them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.analytics.pipelines import (
    HANDOFF_STATES,
    OUT_OF_RANGE,
    SCORE_BOUNDARIES,
    STAGES,
    cohort_pipeline,
    run,
)
from bot.analytics.window import Window
from bot.store import Store

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class StageCounts:
    """How many conversations of one group (a channel, a source …) reached each stage."""

    key: Key
    conversations: int = 0
    engaged: int = 0
    qualified: int = 0
    handed_off: int = 0
    converted: int = 0

    def count(self, stage: str) -> int:
        return int(getattr(self, stage))

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.conversations if self.conversations else None


@dataclass(frozen=True)
class HandoffOutcome:
    state: str  # one of pipelines.HANDOFF_STATES
    conversations: int
    claimed: int  # of those, how many an agent took at some point
    share: float | None  # of all handed-off conversations
    value: float  # the outcome values of those closed converted


@dataclass(frozen=True)
class ScoreBucket:
    low: int
    high: int  # included
    leads: int


@dataclass(frozen=True)
class Cohort:
    total: StageCounts
    by_channel: list[StageCounts]
    by_source: list[StageCounts]
    by_flow_version: list[StageCounts]
    by_variant: list[StageCounts]
    handoffs: list[HandoffOutcome]
    scores: list[ScoreBucket]
    scores_out_of_range: int  # leads whose score is outside 0–100 (should be none)


def _counts(doc: Mapping[str, Any], key: Key) -> StageCounts:
    return StageCounts(key, **{stage: int(doc.get(stage) or 0) for stage in STAGES})


def _part(value: Any) -> str | int:
    return value if isinstance(value, str | int) and not isinstance(value, bool) else str(value)


def _key(raw: Any, parts: Sequence[str]) -> Key:
    """A group's `_id` (a value, or a document of `parts`) as a tuple of its parts."""
    if len(parts) == 1:
        return (_part(raw),)
    return tuple(_part(raw.get(part)) for part in parts)


def _groups(docs: list[dict[str, Any]], parts: Sequence[str]) -> list[StageCounts]:
    rows = [_counts(doc, _key(doc["_id"], parts)) for doc in docs]
    return sorted(rows, key=lambda r: (-r.conversations, tuple(str(p) for p in r.key)))


def _handoffs(docs: list[dict[str, Any]]) -> list[HandoffOutcome]:
    found = {doc["_id"]: doc for doc in docs}
    total = sum(int(doc["conversations"]) for doc in docs)
    rows = []
    for state in HANDOFF_STATES:
        doc = found.get(state, {})
        count = int(doc.get("conversations") or 0)
        rows.append(
            HandoffOutcome(
                state=state,
                conversations=count,
                claimed=int(doc.get("claimed") or 0),
                share=count / total if total else None,
                value=float(doc.get("value") or 0),
            )
        )
    return rows


def _scores(docs: list[dict[str, Any]]) -> tuple[list[ScoreBucket], int]:
    found = {doc["_id"]: int(doc["leads"]) for doc in docs}
    buckets = [
        ScoreBucket(low, high - 1, found.get(low, 0)) for low, high in itertools.pairwise(SCORE_BOUNDARIES)
    ]
    return buckets, found.get(OUT_OF_RANGE, 0)


async def cohort(store: Store, window: Window) -> Cohort:
    docs = [doc async for doc in run(store.conversations, cohort_pipeline(window))]
    facets: dict[str, list[dict[str, Any]]] = docs[0] if docs else {}
    totals = facets.get("total", [])
    scores, out_of_range = _scores(facets.get("scores", []))
    return Cohort(
        total=_counts(totals[0], ()) if totals else StageCounts(()),
        by_channel=_groups(facets.get("by_channel", []), ["channel"]),
        by_source=_groups(facets.get("by_source", []), ["source"]),
        by_flow_version=_groups(facets.get("by_flow_version", []), ["flow", "version"]),
        by_variant=_groups(facets.get("by_variant", []), ["experiment", "variant"]),
        handoffs=_handoffs(facets.get("handoffs", [])),
        scores=scores,
        scores_out_of_range=out_of_range,
    )
