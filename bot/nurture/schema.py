"""A flow's `nurture` section (follow-ups to silent leads) and `decay` section (score decay).

Both are off when the flow leaves them out. Durations are written as text ("1h", "3d"), kept as
written so an exported flow reads like the file it came from. The checks that need the rest of
the flow (slot names, business hours) are in `cross_check`, which `Flow` calls.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.nurture.duration import check_duration, describe_duration, parse_duration
from bot.whatsapp_template import WhatsApp, placeholder_problem, slots_named

# When a step applies: the lead stopped answering the bot's questions, or the bot closed the
# conversation because the lead did not qualify.
Situation = Literal["mid_qualification", "unqualified"]
SITUATIONS: tuple[Situation, ...] = ("mid_qualification", "unqualified")

LONGEST_STEP = timedelta(days=90)
LONGEST_DECAY = timedelta(days=365)
# Twilio's longest SMS/WhatsApp body; longer texts are refused there.
LONGEST_TEXT = 1600
_TIME_OF_DAY = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}'; use an IANA name like Europe/Berlin") from None
    return value


def minutes_of(time_of_day: str) -> int:
    """'21:30' -> 1290."""
    hours, minutes = time_of_day.split(":")
    return int(hours) * 60 + int(minutes)


class QuietHours(_Strict):
    """No follow-up goes between `start` and `end` (local time; may run past midnight)."""

    start: str
    end: str
    timezone: str | None = None  # None: the flow's business-hours time zone

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 21:00 as the number 1260 (base 60).
            raise ValueError('write times in quotes, like "21:00"; YAML reads 21:00 as a number')
        if isinstance(value, str) and not _TIME_OF_DAY.match(value):
            raise ValueError(f"'{value}' is not a time of day like 21:00 (00:00 to 23:59)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_timezone(value)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}; quiet hours need a span of time")
        return self


class FollowUpStep(_Strict):
    after: str  # counted from when the lead went silent, e.g. "1h", "1d", "3d"
    text: str = Field(min_length=1, max_length=LONGEST_TEXT)
    # Sent instead of the text on WhatsApp once its 24-hour window is closed; without one the
    # step is skipped there (WhatsApp refuses free text then).
    whatsapp: WhatsApp | None = None
    when: tuple[Situation, ...] = ("mid_qualification",)

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        return check_duration(value, longest=LONGEST_STEP)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("write the text of the follow-up")
        problem = placeholder_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("when")
    @classmethod
    def _some_situation(cls, value: tuple[Situation, ...]) -> tuple[Situation, ...]:
        if not value:
            raise ValueError("name when the step applies: mid_qualification, unqualified or both")
        if len(set(value)) != len(value):
            raise ValueError("a situation is listed twice")
        return value

    @property
    def delay(self) -> timedelta:
        return parse_duration(self.after)

    @property
    def slots_used(self) -> set[str]:
        return slots_named(self.text) | (self.whatsapp.slots_used if self.whatsapp else set())


class Nurture(_Strict):
    steps: tuple[FollowUpStep, ...] = Field(min_length=1, max_length=20)
    quiet_hours: QuietHours | None = None
    # Send only while the team is open (the flow's business_hours); a step due outside waits.
    business_hours_only: bool = False

    def step_indexes(self, situation: Situation) -> list[int]:
        """Positions in `steps` of the steps for `situation`, in the order they run."""
        return [i for i, step in enumerate(self.steps) if situation in step.when]

    def first_step(self, situation: Situation) -> int | None:
        indexes = self.step_indexes(situation)
        return indexes[0] if indexes else None

    def step_after(self, index: int, situation: Situation) -> int | None:
        later = [i for i in self.step_indexes(situation) if i > index]
        return later[0] if later else None


class Decay(_Strict):
    """A silent lead loses `points` after `after` without a reply, then again every `every`,
    never below `floor`."""

    after: str  # e.g. "14d"
    every: str  # e.g. "7d"
    points: int = Field(ge=1, le=100)
    floor: int = Field(default=0, ge=0, le=100)

    @field_validator("after", "every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        return check_duration(value, longest=LONGEST_DECAY)

    def silence_before(self, round_number: int) -> timedelta:
        """How long the lead has been silent when loss number `round_number` (1, 2 …) is due."""
        return parse_duration(self.after) + (round_number - 1) * parse_duration(self.every)


def cross_check(
    nurture: Nurture | None, slot_names: Collection[str], business_hours_zone: str | None
) -> str | None:
    """'path: why' for the first thing in `nurture` the rest of the flow contradicts; None if fine."""
    if nurture is None:
        return None
    for i, step in enumerate(nurture.steps):
        unknown = sorted(step.slots_used - set(slot_names))
        if unknown:
            where = "text" if slots_named(step.text) - set(slot_names) else "whatsapp.variables"
            return f"nurture.steps.{i}.{where}: unknown slot {', '.join(map(repr, unknown))}"
    for situation in SITUATIONS:
        indexes = nurture.step_indexes(situation)
        for earlier, later in itertools.pairwise(indexes):
            before, after = nurture.steps[earlier], nurture.steps[later]
            if after.delay <= before.delay:
                return (
                    f"nurture.steps.{later}.after: {after.after} must come after step {earlier}'s "
                    f"{before.after} ({situation.replace('_', '-')} steps run in order, "
                    "each counted from when the lead went silent)"
                )
    if nurture.business_hours_only and business_hours_zone is None:
        return (
            "nurture.business_hours_only: the flow has no business_hours to keep to; "
            "add them or turn this off"
        )
    quiet = nurture.quiet_hours
    if quiet is not None and quiet.timezone is None and business_hours_zone is None:
        return (
            "nurture.quiet_hours.timezone: give a time zone, like America/New_York "
            "(the flow has no business_hours to take it from)"
        )
    return None


def describe_decay(decay: Decay) -> str:
    """'−10 after 14 days without a reply, then every 7 days, down to 20'."""
    return (
        f"−{decay.points} after {describe_duration(parse_duration(decay.after))} without a reply, "
        f"then every {describe_duration(parse_duration(decay.every))}, down to {decay.floor}"
    )
