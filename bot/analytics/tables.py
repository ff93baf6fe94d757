"""Every table of the report, in one shape for the page, the JSON API and the CSV export.

A table has named columns (the JSON keys and CSV headers) and rows of raw values: counts,
shares as fractions (0.25), durations in seconds, money as plain numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from bot.analytics.attribution import label as model_label
from bot.analytics.funnel import StageCounts
from bot.analytics.labels import HANDOFF_LABELS, STAGE_LABELS, TIMING_LABELS
from bot.analytics.pipelines import STAGES
from bot.analytics.report import Report

Kind = Literal["text", "count", "share", "seconds", "number"]
Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    name: str  # JSON key and CSV header
    label: str  # the page's column heading
    kind: Kind = "text"
    names: Mapping[str, str] | None = None  # how the page shows a text column's ids


@dataclass(frozen=True)
class Table:
    name: str  # also the CSV file name: /api/analytics/<name>.csv
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def records(self) -> list[dict[str, Cell]]:
        return [{c.name: cell for c, cell in zip(self.columns, row, strict=True)} for row in self.rows]


_STAGE_COLUMNS: Final = tuple(Column(stage, STAGE_LABELS[stage], "count") for stage in STAGES)
_RATE: Final = Column("conversion_rate", "Converted / conversations", "share")


def funnel(report: Report) -> Table:
    total = report.cohort.total
    rows = tuple(
        (
            stage,
            total.count(stage),
            total.count(stage) / total.conversations if total.conversations else None,
        )
        for stage in STAGES
    )
    columns = (
        Column("stage", "Stage", names=STAGE_LABELS),
        Column("conversations", "Conversations", "count"),
        Column("share", "Of all conversations", "share"),
    )
    return Table("funnel", "Funnel", columns, rows)


def _breakdown(name: str, title: str, keys: Sequence[Column], groups: list[StageCounts]) -> Table:
    rows = tuple(
        (*group.key, *(group.count(stage) for stage in STAGES), group.conversion_rate) for group in groups
    )
    return Table(name, title, (*keys, *_STAGE_COLUMNS, _RATE), rows)


def by_channel(report: Report) -> Table:
    keys = [Column("channel", "Channel")]
    return _breakdown("funnel_by_channel", "Funnel by channel", keys, report.cohort.by_channel)


def by_source(report: Report) -> Table:
    keys = [Column("source", "Source")]
    return _breakdown("funnel_by_source", "Funnel by source", keys, report.cohort.by_source)


def by_flow_version(report: Report) -> Table:
    keys = [Column("flow", "Flow"), Column("version", "Version", "count")]
    return _breakdown("funnel_by_flow_version", "Funnel by flow version", keys, report.cohort.by_flow_version)


def by_variant(report: Report) -> Table:
    keys = [Column("experiment", "A/B test"), Column("variant", "Variant")]
    return _breakdown("funnel_by_variant", "Funnel by A/B variant", keys, report.cohort.by_variant)


def dropoff(report: Report) -> Table:
    columns = (
        Column("question", "Question"),
        Column("asked", "Asked in", "count"),
        Column("dropped", "Stopped there", "count"),
        Column("share", "Share of drop-offs", "share"),
        Column("rate", "Stopped / asked", "share"),
    )
    rows = tuple((r.slot, r.asked, r.dropped, r.share, r.rate) for r in report.dropoff)
    return Table("dropoff", "Drop-off per question", columns, rows)


def response_times(report: Report) -> Table:
    columns = (
        Column("measure", "Measure", names=TIMING_LABELS),
        Column("count", "Measured", "count"),
        Column("p50_seconds", "p50", "seconds"),
        Column("p90_seconds", "p90", "seconds"),
    )
    rows = tuple((t.metric, t.count, t.p50_seconds, t.p90_seconds) for t in report.timings)
    return Table("response_times", "Response and wait times", columns, rows)


def handoff_outcomes(report: Report) -> Table:
    columns = (
        Column("outcome", "Outcome", names=HANDOFF_LABELS),
        Column("conversations", "Conversations", "count"),
        Column("claimed", "Taken by an agent", "count"),
        Column("share", "Share", "share"),
        Column("value", "Converted value", "number"),
    )
    rows = tuple((h.state, h.conversations, h.claimed, h.share, h.value) for h in report.cohort.handoffs)
    return Table("handoff_outcomes", "Handoff outcomes", columns, rows)


def lead_scores(report: Report) -> Table:
    columns = (
        Column("score_from", "Score from", "count"),
        Column("score_to", "to", "count"),
        Column("leads", "Leads", "count"),
    )
    rows = tuple((b.low, b.high, b.leads) for b in report.cohort.scores)
    return Table("lead_scores", "Lead score distribution", columns, rows)


def attribution(report: Report) -> Table:
    found = report.attribution
    keys = [Column(found.by, found.by.capitalize())]
    conversions = [Column(f"{m}_conversions", model_label(m), "number") for m in found.models]
    values = [Column(f"{m}_value", f"{model_label(m)} value", "number") for m in found.models]
    rows: list[tuple[Cell, ...]] = [
        (
            row.key,
            *(row.conversions.get(m, 0.0) for m in found.models),
            *(row.value.get(m, 0.0) for m in found.models),
        )
        for row in found.rows
    ]
    return Table("attribution", "Attribution by model", (*keys, *conversions, *values), tuple(rows))


TABLES: Final[dict[str, Callable[[Report], Table]]] = {
    "funnel": funnel,
    "funnel_by_channel": by_channel,
    "funnel_by_source": by_source,
    "funnel_by_flow_version": by_flow_version,
    "funnel_by_variant": by_variant,
    "dropoff": dropoff,
    "response_times": response_times,
    "handoff_outcomes": handoff_outcomes,
    "lead_scores": lead_scores,
    "attribution": attribution,
}


def all_tables(report: Report) -> dict[str, Table]:
    return {name: build(report) for name, build in TABLES.items()}
