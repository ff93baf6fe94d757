"""Business hours follow the team's local clock, through daylight saving changes and midnight."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.flows import BusinessHours
from bot.hours import describe_opening, is_open, next_opening

BERLIN = ZoneInfo("Europe/Berlin")
WORKDAY = ("09:00", "17:30")
OFFICE = BusinessHours.model_validate(
    {"timezone": "Europe/Berlin", "week": {day: WORKDAY for day in ("mon", "tue", "wed", "thu", "fri")}}
)


def hours(week: dict[str, Any], timezone: str = "Europe/Berlin") -> BusinessHours:
    return BusinessHours.model_validate({"timezone": timezone, "week": week})


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (berlin(2025, 1, 6, 8, 59), False),  # Monday
        (berlin(2025, 1, 6, 9, 0), True),
        (berlin(2025, 1, 6, 17, 29), True),
        (berlin(2025, 1, 6, 17, 30), False),  # closing time is already closed
        (berlin(2025, 1, 11, 12, 0), False),  # Saturday: left out of the week, so closed
        (utc(2025, 1, 6, 8, 0), True),  # 09:00 in Berlin, given in UTC
    ],
)
def test_open_within_the_days_hours_in_local_time(moment: datetime, open_: bool) -> None:
    assert is_open(OFFICE, moment) is open_


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        # winter (CET, UTC+1): 09:00 local is 08:00 UTC
        (utc(2025, 3, 28, 7, 30), False),
        (utc(2025, 3, 28, 8, 0), True),
        # the Monday after the spring change (CEST, UTC+2): 09:00 local is 07:00 UTC
        (utc(2025, 3, 31, 6, 59), False),
        (utc(2025, 3, 31, 7, 0), True),
        (utc(2025, 3, 31, 15, 30), False),  # 17:30 CEST
        # the Monday after the autumn change: back to 08:00 UTC
        (utc(2025, 10, 27, 7, 30), False),
        (utc(2025, 10, 27, 8, 0), True),
    ],
)
def test_hours_stay_local_across_daylight_saving_changes(moment: datetime, open_: bool) -> None:
    assert is_open(OFFICE, moment) is open_


def test_next_opening_over_a_weekend_with_a_clock_change_is_09_00_local() -> None:
    friday_evening = berlin(2025, 3, 28, 18, 0)
    # 72 hours later would be 08:00 UTC = 10:00 CEST; the office opens at 09:00 CEST
    assert next_opening(OFFICE, friday_evening) == utc(2025, 3, 31, 7, 0)
    assert describe_opening(OFFICE, friday_evening) == "Monday at 09:00 (Europe/Berlin)"


def test_next_opening_in_another_time_zone_with_its_own_change_date() -> None:
    new_york = hours({"mon": ["09:00", "17:00"]}, "America/New_York")
    # the US springs forward on 9 March 2025, Europe three weeks later
    assert next_opening(new_york, utc(2025, 3, 7, 23, 0)) == utc(2025, 3, 10, 13, 0)
    assert next_opening(new_york, utc(2025, 3, 3, 23, 0)) == utc(2025, 3, 10, 13, 0)
    assert next_opening(new_york, utc(2025, 2, 28, 23, 0)) == utc(2025, 3, 3, 14, 0)


def test_hours_through_midnight_are_written_as_two_days() -> None:
    nights = hours({"sat": ["22:00", "24:00"], "sun": ["00:00", "06:00"]})
    assert not is_open(nights, berlin(2025, 1, 11, 21, 59))
    assert is_open(nights, berlin(2025, 1, 11, 23, 59))
    assert is_open(nights, berlin(2025, 1, 12, 0, 0))
    assert is_open(nights, berlin(2025, 1, 12, 5, 59))
    assert not is_open(nights, berlin(2025, 1, 12, 6, 0))
    assert next_opening(nights, berlin(2025, 1, 12, 7, 0)) == berlin(2025, 1, 18, 22, 0)
    assert describe_opening(nights, berlin(2025, 1, 12, 7, 0)) == "Saturday at 22:00 (Europe/Berlin)"


def test_an_opening_time_the_clock_skips_opens_when_the_clock_jumps() -> None:
    # 30 March 2025: Berlin clocks go from 02:00 straight to 03:00 (01:00 UTC)
    early = hours({"sun": ["02:30", "05:00"]})
    assert not is_open(early, utc(2025, 3, 30, 0, 59))
    assert is_open(early, utc(2025, 3, 30, 1, 0))
    assert next_opening(early, utc(2025, 3, 29, 12, 0)) == utc(2025, 3, 30, 1, 0)


def test_a_repeated_hour_does_not_close_and_reopen() -> None:
    # 26 October 2025: Berlin clocks go from 03:00 back to 02:00 (at 01:00 UTC)
    early = hours({"sun": ["02:30", "04:00"]})
    assert not is_open(early, utc(2025, 10, 26, 0, 29))
    assert is_open(early, utc(2025, 10, 26, 0, 30))  # 02:30 CEST, the first time
    assert is_open(early, utc(2025, 10, 26, 1, 15))  # 02:15 CET, the clock read it before
    assert is_open(early, utc(2025, 10, 26, 2, 59))  # 03:59 CET
    assert not is_open(early, utc(2025, 10, 26, 3, 0))


def test_a_day_the_time_zone_skipped_is_not_an_opening() -> None:
    # Samoa moved across the date line: in Apia, Thursday 29 December 2011 was followed by Saturday
    samoa = hours({"fri": ["09:00", "17:00"], "sat": ["09:00", "17:00"]}, "Pacific/Apia")
    thursday_evening = utc(2011, 12, 30, 4, 0)  # 18:00 on the 29th, UTC−10
    assert next_opening(samoa, thursday_evening) == utc(2011, 12, 30, 19, 0)  # Saturday 09:00, UTC+14
    assert describe_opening(samoa, thursday_evening) == "Saturday at 09:00 (Pacific/Apia)"


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (berlin(2025, 1, 6, 7, 0), "today at 09:00 (Europe/Berlin)"),
        (berlin(2025, 1, 6, 18, 0), "tomorrow at 09:00 (Europe/Berlin)"),
        (berlin(2025, 1, 6, 23, 59), "tomorrow at 09:00 (Europe/Berlin)"),
        (berlin(2025, 1, 7, 0, 0), "today at 09:00 (Europe/Berlin)"),  # past midnight it is today
        (berlin(2025, 1, 10, 18, 0), "Monday at 09:00 (Europe/Berlin)"),
        (berlin(2025, 1, 11, 12, 0), "Monday at 09:00 (Europe/Berlin)"),
        (berlin(2025, 1, 6, 12, 0), "now"),
    ],
)
def test_describe_opening_for_the_visitor(moment: datetime, said: str) -> None:
    assert describe_opening(OFFICE, moment) == said


def test_the_same_weekday_a_week_on_is_next_weekday() -> None:
    mondays = hours({"mon": list(WORKDAY)})
    assert describe_opening(mondays, berlin(2025, 1, 6, 18, 0)) == "next Monday at 09:00 (Europe/Berlin)"
    assert next_opening(mondays, berlin(2025, 1, 6, 18, 0)) == berlin(2025, 1, 13, 9, 0)


def test_without_business_hours_the_team_is_always_open() -> None:
    assert is_open(None, utc(2025, 1, 11, 3, 0))
    assert next_opening(None, utc(2025, 1, 11, 3, 0)) is None
    assert describe_opening(None, utc(2025, 1, 11, 3, 0)) == "now"


def test_next_opening_is_none_while_open_and_returned_in_utc() -> None:
    assert next_opening(OFFICE, berlin(2025, 1, 6, 10, 0)) is None
    opening = next_opening(OFFICE, berlin(2025, 1, 6, 18, 0))
    assert opening is not None and opening.tzinfo == UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(OFFICE, datetime(2025, 1, 6, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(None, datetime(2025, 1, 6, 10, 0))
