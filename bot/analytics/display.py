"""How the page writes numbers: counts with separators, shares as percentages, durations in
words a person reads at a glance ("4.2 s", "3 min 5 s", "2 h 10 min")."""

from __future__ import annotations

from bot.analytics.tables import Cell, Column

NONE = "–"


def count(value: int) -> str:
    return f"{value:,}"


def share(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    if value is None:
        return NONE
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    whole = round(value)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def number(value: float) -> str:
    """Up to two decimals, none when whole: 3, 0.33, 1,500.5."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def cell(value: Cell, column: Column) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return column.names.get(value, value) if column.names else value
    if column.kind == "share":
        return share(value)
    if column.kind == "seconds":
        return seconds(value)
    if column.kind == "count" and isinstance(value, int):
        return count(value)
    return number(value)
