"""Which conversations a report is about: created in [start, end), optionally on one channel or flow.

`from` and `to` are days (`2024-05-01`, UTC; `to` includes its whole day) or instants
(`2024-05-01T09:30:00Z`; UTC when no offset is given; `to` excluded). Without them the report covers the
last 30 days, today included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from bot.admin.pages import FLOW_ID
from bot.flow_versions import CHANNEL_NAMES

DEFAULT_DAYS: Final = 30
DAY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadFilter(ValueError):
    """A filter that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Window:
    start: datetime  # included
    end: datetime  # excluded
    channel: str | None = None
    flow: str | None = None

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day with any moment in the window."""
        return (self.end - timedelta(microseconds=1)).date()

    def query(self) -> dict[str, str]:
        """The filters as query parameters that select this same window again."""
        params = {"from": _text(self.start, is_end=False), "to": _text(self.end, is_end=True)}
        if self.channel:
            params["channel"] = self.channel
        if self.flow:
            params["flow"] = self.flow
        return params

    def as_json(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "channel": self.channel,
            "flow": self.flow,
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _text(moment: datetime, *, is_end: bool) -> str:
    """A day when the bound is a midnight (the form's date fields), else the instant."""
    if moment.time() == time():
        return (moment.date() - timedelta(days=1) if is_end else moment.date()).isoformat()
    return moment.isoformat()


def _bound(raw: str, name: str, *, is_end: bool) -> datetime:
    if DAY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise BadFilter(f"{name} is not a date: {raw!r}") from None
        try:
            return _midnight(day + timedelta(days=1) if is_end else day)
        except OverflowError:  # the day after 9999-12-31
            raise _out_of_range(name, raw) from None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, not {raw!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)  # as GET /api/attribution reads it
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # an offset that moves it past year 1 or 9999
        raise _out_of_range(name, raw) from None


def _out_of_range(name: str, raw: str) -> BadFilter:
    return BadFilter(f"{name} is out of range (years 1 to 9999): {raw!r}")


def parse_window(query: Mapping[str, str], now: datetime) -> Window:
    """The window a request's query asks for; BadFilter names what is wrong with it."""
    today = now.astimezone(UTC).date()
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    end = _bound(raw_to, "to", is_end=True) if raw_to else _midnight(today + timedelta(days=1))
    try:
        start = _bound(raw_from, "from", is_end=False) if raw_from else end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:  # the default days before a `to` early in year 1
        raise _out_of_range("from", f"{DEFAULT_DAYS} days before {raw_to}") from None
    if start >= end:
        raise BadFilter("from must be before to")
    channel = query.get("channel", "").strip() or None
    if channel is not None and channel not in CHANNEL_NAMES:
        raise BadFilter(f"channel must be one of {', '.join(CHANNEL_NAMES)}")
    flow = query.get("flow", "").strip() or None
    if flow is not None and not FLOW_ID.match(flow):
        raise BadFilter("flow must be a flow id (lower-case letters, digits, '-' and '_')")
    return Window(start=start, end=end, channel=channel, flow=flow)
