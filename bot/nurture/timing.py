"""When a follow-up may go out: never in the flow's quiet hours, and only while the team is
open when the flow keeps to business hours. A step due at a bad time moves to the next good one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.flows import BusinessHours
from bot.hours import next_opening
from bot.nurture.schema import Nurture, QuietHours, minutes_of

# Enough for two weeks of alternating "quiet" and "closed"; rules that never leave a moment
# to send (quiet hours covering every opening hour) are given up on after this many moves.
_MOVES = 32


def quiet_until(quiet: QuietHours, zone: ZoneInfo, at: datetime) -> datetime | None:
    """When the quiet hours around `at` end (UTC); None when `at` is not in them."""
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = minutes_of(quiet.start), minutes_of(quiet.end)
    if start < end:  # e.g. 12:00–14:00, within one day
        if not start <= minute < end:
            return None
        ends_on = local.date()
    else:  # e.g. 21:00–08:00, past midnight
        if end <= minute < start:
            return None
        ends_on = local.date() + timedelta(days=1 if minute >= start else 0)
    ends = _instant(zone, ends_on, end)
    # A clock change can make the local end read earlier than `at`; never move backwards.
    return ends if ends > at else at + timedelta(minutes=1)


def _instant(zone: ZoneInfo, day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)


def next_allowed(nurture: Nurture, hours: BusinessHours | None, at: datetime) -> datetime | None:
    """The first moment from `at` on when a follow-up may go; None when the rules leave none."""
    quiet = nurture.quiet_hours
    zone_name = (quiet.timezone if quiet else None) or (hours.timezone if hours else None)
    zone = ZoneInfo(zone_name) if zone_name else None
    for _ in range(_MOVES):
        moved = False
        if quiet is not None and zone is not None:
            until = quiet_until(quiet, zone, at)
            if until is not None:
                at, moved = until, True
        if nurture.business_hours_only and hours is not None:
            opening = next_opening(hours, at)
            if opening is not None:
                at, moved = opening, True
        if not moved:
            return at
    return None
