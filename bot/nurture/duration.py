"""Durations as flows write them: "30m", "1h", "3d", "2w", or parts together, "1d12h"."""

from __future__ import annotations

import re
from datetime import timedelta

_WHOLE = re.compile(r"^(?:\d{1,6}[mhdw])+$")
_PART = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_EXAMPLES = "a number and a unit (m, h, d or w), like 30m, 1h, 3d, 2w or 1d12h"


def parse_duration(text: str) -> timedelta:
    """The length `text` names; ValueError saying how to write one otherwise."""
    cleaned = text.strip().lower()
    if not _WHOLE.match(cleaned):
        raise ValueError(f"'{text}' is not a duration; write {_EXAMPLES}")
    length = sum((int(count) * _UNITS[unit] for count, unit in _PART.findall(cleaned)), timedelta())
    if length <= timedelta(0):
        raise ValueError(f"'{text}' is no time at all; write a duration longer than zero, like 1h")
    return length


def check_duration(value: object, *, longest: timedelta) -> str:
    """A flow field's duration, checked: text (a bare number has no unit), > 0 and ≤ `longest`."""
    if isinstance(value, int | float):  # bool is an int too
        raise ValueError(f"{value} has no unit; write {_EXAMPLES}")
    if not isinstance(value, str):
        raise ValueError(f"write a duration: {_EXAMPLES}")
    if parse_duration(value) > longest:
        raise ValueError(f"'{value}' is too long; at most {describe_duration(longest)}")
    return value.strip().lower()


def describe_duration(length: timedelta) -> str:
    """'14 days', '1 day', '36 hours', '90 minutes': the largest unit that divides it."""
    minutes = int(length.total_seconds() // 60)
    for unit, size in (("day", 24 * 60), ("hour", 60)):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
