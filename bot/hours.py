"""Business hours: whether the team is open at an instant, and when it opens next.

Hours are wall-clock times in the flow's time zone, so "09:00" stays 09:00 local across daylight
saving changes. Each open day is one span of real time, from the first instant the local clock
reads the opening time to the first instant it reads the closing time. That keeps the edge cases
sane: an opening time the clock skips (spring forward) opens when the clock jumps past it, and
an hour the clock repeats (fall back) does not close and reopen the team.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.flows import BusinessHours

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A week has an open day (the flow checks); the margin covers a day a time zone skipped.
_DAYS_AHEAD = 15


def is_open(hours: BusinessHours | None, now: datetime) -> bool:
    """Whether the team is open at `now`; without business hours it always is."""
    _require_aware(now)
    if hours is None:
        return True
    span = _open_span(hours, now.astimezone(hours.zone).date())
    return span is not None and span[0] <= now < span[1]


def next_opening(hours: BusinessHours | None, now: datetime) -> datetime | None:
    """When the team opens next, in UTC; None while it is open (always, without business hours)."""
    if is_open(hours, now) or hours is None:
        return None
    today = now.astimezone(hours.zone).date()
    for offset in range(_DAYS_AHEAD):
        span = _open_span(hours, today + timedelta(days=offset))
        if span is not None and span[0] > now:
            return span[0]
    raise ValueError("these business hours never open")  # the flow's validation rules it out


def describe_opening(hours: BusinessHours | None, now: datetime) -> str:
    """When the team is back, for the visitor: 'tomorrow at 09:00 (Europe/Berlin)'; 'now' when open."""
    opening = next_opening(hours, now)
    if hours is None or opening is None:
        return "now"
    local = opening.astimezone(hours.zone)
    days = (local.date() - now.astimezone(hours.zone).date()).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = _DAY_NAMES[local.weekday()]
    else:  # the same weekday as today, a week on: a bare "Monday" would read as today
        day = f"next {_DAY_NAMES[local.weekday()]}"
    return f"{day} at {local:%H:%M} ({hours.timezone})"


def _open_span(hours: BusinessHours, day: date) -> tuple[datetime, datetime] | None:
    minutes = hours.week.minutes_on(day.weekday())
    if minutes is None:
        return None
    opens = _first_instant_reading(hours.zone, day, minutes[0])
    closes = _first_instant_reading(hours.zone, day, minutes[1])
    # empty when the clock skipped the whole span
    return (opens, closes) if opens < closes else None


def _first_instant_reading(zone: ZoneInfo, day: date, minutes: int) -> datetime:
    """The first instant (UTC) at which the local clock on `day` reads `minutes` after midnight or later."""
    day, minutes = day + timedelta(days=minutes // 1440), minutes % 1440  # 24:00 is the next 00:00
    wall = datetime.combine(day, time(minutes // 60, minutes % 60))
    # fold=0 is the earlier reading of a repeated time
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if _reading(zone, instant) == wall:
        return instant
    # The clock skips `wall`: it jumps past it at a transition between the two ways of reading
    # `wall`. Find the jump to the second; tz transitions fall on whole seconds.
    readings = (instant, wall.replace(tzinfo=zone, fold=1).astimezone(UTC))
    before, after = int(min(readings).timestamp()), int(max(readings).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _reading(zone, datetime.fromtimestamp(middle, UTC)) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _reading(zone: ZoneInfo, instant: datetime) -> datetime:
    """What the local clock shows at `instant`, as a naive datetime."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
