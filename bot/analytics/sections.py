"""The page's sections: per table, what it counts, its chart, its rows as text and its CSV link."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from markupsafe import Markup

from bot.analytics import display
from bot.analytics.attribution import label as model_label
from bot.analytics.funnel import StageCounts
from bot.analytics.labels import HANDOFF_LABELS, STAGE_LABELS, TIMING_LABELS
from bot.analytics.pipelines import STAGES
from bot.analytics.report import Report
from bot.analytics.svg import Bar, Group, bar_chart, funnel_chart, grouped_bar_chart, histogram
from bot.analytics.tables import Table, all_tables

# A chart shows this many groups at most (the largest); its table lists them all.
CHART_GROUPS: Final = 12

EXPLANATIONS: Final = {
    "funnel": "Conversations created in the range, and how many of them reached each stage: the "
    "visitor wrote, the lead was ever qualified, the conversation went to people, the lead converted. "
    "Each stage is counted on its own (a visitor who asks for a person is handed off unqualified).",
    "funnel_by_channel": "The funnel for each channel the conversations came in on.",
    "funnel_by_source": "The funnel by the source of each conversation's first touchpoint "
    "(utm_source, else the referrer's site, else direct); unknown when it has none.",
    "funnel_by_flow_version": "The funnel by the flow version each conversation was pinned to.",
    "funnel_by_variant": "The funnel for each variant of each A/B test; conversations outside "
    "tests are not listed.",
    "dropoff": "Conversations that stopped during qualification (still with the bot, never handed "
    "off), by the question the bot asked last; and in how many conversations each question was asked.",
    "response_times": "p50 and p90 in the range's conversations (nearest rank): the bot's answer to "
    "the visitor's last message; from joining the queue to an agent taking the conversation; "
    "from joining the queue to the first agent reply.",
    "handoff_outcomes": "Where the range's handed-off conversations are now.",
    "lead_scores": "The current score of each lead with a conversation in the range, "
    "in buckets of 10 points (the last holds 90–100).",
    "attribution": "Conversions recorded in the range (by their conversion time; channel and flow "
    "filters do not apply), credited to each source by every attribution model.",
}


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    explanation: str
    chart: Markup
    headers: list[tuple[str, bool]]  # (heading, numeric)
    rows: list[list[str]]
    csv_href: str


def _stage_bars(counts: StageCounts) -> list[Bar]:
    return [Bar(STAGE_LABELS[s], counts.count(s), display.count(counts.count(s))) for s in STAGES]


def _funnel(report: Report) -> Markup:
    total = report.cohort.total
    bars = [
        Bar(
            STAGE_LABELS[stage],
            total.count(stage),
            f"{display.count(total.count(stage))} · "
            f"{display.share(total.count(stage) / total.conversations if total.conversations else None)}",
        )
        for stage in STAGES
    ]
    text = ", ".join(f"{bar.label} {bar.text}" for bar in bars)
    return funnel_chart("chart-funnel", "Funnel", f"Conversations at each stage: {text}.", bars)


def _breakdown(
    chart_id: str, title: str, groups: Sequence[StageCounts], name: Callable[[StageCounts], str]
) -> Markup:
    shown = list(groups[:CHART_GROUPS])
    note = f" The {len(shown)} largest of {len(groups)} are drawn." if len(groups) > len(shown) else ""
    return grouped_bar_chart(
        chart_id,
        title,
        f"Conversations at each funnel stage per group.{note} The table below lists every number.",
        [STAGE_LABELS[s] for s in STAGES],
        [Group(name(g), _stage_bars(g)) for g in shown],
    )


def _dropoff(report: Report) -> Markup:
    bars = [
        Bar(row.slot, row.dropped, f"{display.count(row.dropped)} · {display.share(row.share)}")
        for row in report.dropoff
        if row.dropped
    ]
    return bar_chart(
        "chart-dropoff", "Drop-off per question", "Conversations that stopped at each question.", bars
    )


def _timings(report: Report) -> Markup:
    groups = [
        Group(
            TIMING_LABELS[t.metric],
            [
                Bar("p50", t.p50_seconds or 0.0, display.seconds(t.p50_seconds)),
                Bar("p90", t.p90_seconds or 0.0, display.seconds(t.p90_seconds)),
            ],
        )
        for t in report.timings
        if t.count
    ]
    return grouped_bar_chart(
        "chart-response-times",
        "Response and wait times",
        "p50 and p90 of each measure.",
        ["p50", "p90"],
        groups,
    )


def _handoffs(report: Report) -> Markup:
    bars = [
        Bar(
            HANDOFF_LABELS[h.state],
            h.conversations,
            f"{display.count(h.conversations)} · {display.share(h.share)}",
        )
        for h in report.cohort.handoffs
    ]
    if not any(h.conversations for h in report.cohort.handoffs):
        bars = []
    return bar_chart(
        "chart-handoff-outcomes", "Handoff outcomes", "Handed-off conversations by outcome.", bars
    )


def _scores(report: Report) -> Markup:
    bins = [Bar(f"{b.low}–{b.high}", b.leads, display.count(b.leads)) for b in report.cohort.scores]
    if not any(b.leads for b in report.cohort.scores):
        bins = []
    return histogram(
        "chart-lead-scores", "Lead score distribution", "Leads per score bucket of 10 points.", bins
    )


def _attribution(report: Report) -> Markup:
    found = report.attribution
    groups = [
        Group(
            row.key,
            [
                Bar(model_label(m), row.conversions.get(m, 0.0), display.number(row.conversions.get(m, 0.0)))
                for m in found.models
            ],
        )
        for row in found.rows[:CHART_GROUPS]
    ]
    return grouped_bar_chart(
        "chart-attribution",
        "Attribution by model",
        f"Conversions credited to each {found.by} by each model.",
        [model_label(m) for m in found.models],
        groups,
    )


CHARTS: Final[dict[str, Callable[[Report], Markup]]] = {
    "funnel": _funnel,
    "funnel_by_channel": lambda r: _breakdown(
        "chart-funnel-by-channel", "Funnel by channel", r.cohort.by_channel, lambda g: str(g.key[0])
    ),
    "funnel_by_source": lambda r: _breakdown(
        "chart-funnel-by-source", "Funnel by source", r.cohort.by_source, lambda g: str(g.key[0])
    ),
    "funnel_by_flow_version": lambda r: _breakdown(
        "chart-funnel-by-flow-version",
        "Funnel by flow version",
        r.cohort.by_flow_version,
        lambda g: f"{g.key[0]} v{g.key[1]}",
    ),
    "funnel_by_variant": lambda r: _breakdown(
        "chart-funnel-by-variant",
        "Funnel by A/B variant",
        r.cohort.by_variant,
        lambda g: f"{g.key[0]}: {g.key[1]}",
    ),
    "dropoff": _dropoff,
    "response_times": _timings,
    "handoff_outcomes": _handoffs,
    "lead_scores": _scores,
    "attribution": _attribution,
}


def _section(table: Table, chart: Markup, query: dict[str, str]) -> Section:
    return Section(
        name=table.name,
        title=table.title,
        explanation=EXPLANATIONS[table.name],
        chart=chart,
        headers=[(c.label, c.kind != "text") for c in table.columns],
        rows=[[display.cell(v, c) for c, v in zip(table.columns, row, strict=True)] for row in table.rows],
        csv_href=f"/api/analytics/{table.name}.csv?{urlencode(query)}",
    )


def sections(report: Report, query: dict[str, str]) -> list[Section]:
    """Every section of the page, in order; `query` selects the same data for the CSV links."""
    tables = all_tables(report)
    return [_section(table, CHARTS[name](report), query) for name, table in tables.items()]
