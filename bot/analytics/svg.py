"""Charts as inline SVG, drawn on the server: no script, no CDN, nothing fetched.

Labels come from people we do not trust (UTM values, question names, variant ids), so every
piece of text goes through `markupsafe.escape` (which also escapes quotes); attributes hold only
numbers and this module's own class names and ids. Each chart carries a <title> and a <desc>
(named by `aria-labelledby`), and the page shows its data as a table next to it.

Colours and fonts come from the page's stylesheet (classes `chart-*`, `series-<n>`); the
presentation attributes here are fallbacks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 720
PAD: Final = 8
LABEL_WIDTH: Final = 190  # the labels' column, left of the bars
VALUE_WIDTH: Final = 120  # room for the value written after the longest bar
BAR_AREA: Final = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * PAD
ROW: Final = 28
BAR: Final = 18
LABEL_CHARS: Final = 26
CHART_ID: Final = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # written next to the bar (a count, a time …)


@dataclass(frozen=True)
class Group:
    label: str
    bars: Sequence[Bar]  # one per series, in the series' order


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _length(value: float, largest: float, room: float) -> float:
    if value <= 0 or largest <= 0:
        return 0.0
    return max(1.0, value / largest * room)  # a non-zero value always shows


def _text(x: float, y: float, content: str, cls: str, anchor: str = "start") -> str:
    return f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}">{escape(content)}</text>'


def _rect(x: float, y: float, width: float, height: float, cls: str) -> str:
    return (
        f'<rect class="{cls}" x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" '
        f'height="{_num(height)}" rx="2"></rect>'
    )


def _svg(chart_id: str, kind: str, title: str, description: str, height: float, body: list[str]) -> Markup:
    if not CHART_ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lower-case letters, digits and '-'")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'width="{WIDTH}" height="{_num(height)}" font-family="sans-serif" font-size="12">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def _empty(chart_id: str, kind: str, title: str, description: str) -> Markup:
    body = [_text(PAD, 24, "Nothing to show for these filters.", "chart-empty")]
    return _svg(chart_id, kind, title, description, 40, body)


def _row(label: str, tooltip: str, parts: list[str]) -> str:
    return f'<g class="chart-row"><title>{escape(label)}: {escape(tooltip)}</title>{"".join(parts)}</g>'


def _bar_rows(bars: Sequence[Bar], *, room: float, centred: bool) -> list[str]:
    """One row per bar: its label, the bar (from the left, or centred with one colour per row),
    and its text (after the bar, or in a column right of the widest one)."""
    largest = max(bar.value for bar in bars)
    rows = []
    for i, bar in enumerate(bars):
        y = PAD + i * ROW
        length = _length(bar.value, largest, room)
        if centred:
            x, value_x, series = LABEL_WIDTH + (room - length) / 2, LABEL_WIDTH + room + 8, i % 6
        else:
            x, value_x, series = LABEL_WIDTH, LABEL_WIDTH + length + 6, 0
        parts = [
            _text(LABEL_WIDTH - PAD, y + 13, _short(bar.label), "chart-label", "end"),
            _rect(x, y, length, BAR, f"chart-bar series-{series}"),
            _text(value_x, y + 13, bar.text, "chart-value"),
        ]
        rows.append(_row(bar.label, bar.text, parts))
    return rows


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars, one per row, longest for the largest value."""
    if not bars:
        return _empty(chart_id, "bars", title, description)
    body = _bar_rows(bars, room=BAR_AREA, centred=False)
    return _svg(chart_id, "bars", title, description, 2 * PAD + len(bars) * ROW, body)


def funnel_chart(chart_id: str, title: str, description: str, stages: Sequence[Bar]) -> Markup:
    """A funnel: one centred bar per stage, its width in proportion to the widest stage's."""
    if not stages or max(stage.value for stage in stages) <= 0:
        return _empty(chart_id, "funnel", title, description)
    body = _bar_rows(stages, room=BAR_AREA + VALUE_WIDTH - 80, centred=True)
    return _svg(chart_id, "funnel", title, description, 2 * PAD + len(stages) * ROW, body)


def grouped_bar_chart(
    chart_id: str, title: str, description: str, series: Sequence[str], groups: Sequence[Group]
) -> Markup:
    """Per group (a channel, a source …) one thin bar per series, with a legend above."""
    if not groups or not series:
        return _empty(chart_id, "grouped", title, description)
    thin, gap = 11, 2
    legend_height = 24
    block = len(series) * (thin + gap) + 10
    largest = max((bar.value for group in groups for bar in group.bars), default=0.0)
    body = []
    x = LABEL_WIDTH
    for k, name in enumerate(series):
        body.append(_rect(x, PAD, 10, 10, f"chart-swatch series-{k % 6}"))
        body.append(_text(x + 14, PAD + 9, name, "chart-legend"))
        x += 24 + 7 * len(name)
    for i, group in enumerate(groups):
        top = PAD + legend_height + i * block
        parts = [_text(LABEL_WIDTH - PAD, top + block / 2, _short(group.label), "chart-label", "end")]
        for k, bar in enumerate(group.bars):
            y = top + k * (thin + gap)
            length = _length(bar.value, largest, BAR_AREA)
            parts.append(_rect(LABEL_WIDTH, y, length, thin, f"chart-bar series-{k % 6}"))
            parts.append(_text(LABEL_WIDTH + length + 4, y + 9, bar.text, "chart-value chart-value-small"))
        tooltip = ", ".join(f"{name} {bar.text}" for name, bar in zip(series, group.bars, strict=False))
        body.append(_row(group.label, tooltip, parts))
    return _svg(chart_id, "grouped", title, description, 2 * PAD + legend_height + len(groups) * block, body)


def histogram(chart_id: str, title: str, description: str, bins: Sequence[Bar]) -> Markup:
    """Vertical bars side by side (e.g. score buckets), the count above each."""
    if not bins:
        return _empty(chart_id, "histogram", title, description)
    plot_height = 160.0
    top, left = PAD + 18, PAD + 8
    width = (WIDTH - 2 * left) / len(bins)
    largest = max(b.value for b in bins)
    base = top + plot_height
    axis = f'x1="{left}" y1="{_num(base)}" x2="{WIDTH - left}" y2="{_num(base)}"'
    body = [f'<line class="chart-axis" {axis}></line>']
    for i, b in enumerate(bins):
        x = left + i * width
        height = _length(b.value, largest, plot_height)
        centre = x + width / 2
        body.append(
            _row(
                b.label,
                b.text,
                [
                    _rect(x + 3, base - height, width - 6, height, "chart-bar series-0"),
                    _text(centre, base - height - 4, b.text, "chart-value", "middle"),
                    _text(centre, base + 16, _short(b.label), "chart-label", "middle"),
                ],
            )
        )
    return _svg(chart_id, "histogram", title, description, base + 16 + PAD, body)
