"""Attribution models: how one conversion's credit is shared among the touches that led to it.

Every model is a pure function of a `Journey` (the touch times, oldest first, none after the
conversion) and returns one fraction per touch, summing to 1 (an empty list for no touches).
docs/attribution.md states each rule with worked examples; `attribute` builds the journey from
touchpoints in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

DEFAULT_HALF_LIFE: Final = timedelta(days=7)

# U-shaped: first and last touch 40 % each, the touches between share 20 %.
U_SHAPED_ENDS: Final = 0.4
# W-shaped: first, lead-creation and opportunity-creation touches 30 % each, the rest share 10 %.
W_SHAPED_MILESTONE: Final = 0.3


@dataclass(frozen=True)
class Journey:
    """What a model sees of one conversion.

    `touches`: the touch times, oldest first (equal times keep their given order), none after
    `converted_at`. `contact_given_at`: when the lead first gave an email or phone;
    `qualified_at`: when it first became qualified (both None when unknown; W-shaped only).
    """

    touches: tuple[datetime, ...]
    converted_at: datetime
    contact_given_at: datetime | None = None
    qualified_at: datetime | None = None


class AttributionModel(Protocol):
    def __call__(self, journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]: ...


def first_touch(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """All the credit to the oldest touch."""
    n = len(journey.touches)
    return [1.0 if i == 0 else 0.0 for i in range(n)]


def last_touch(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """All the credit to the newest touch at or before the conversion."""
    n = len(journey.touches)
    return [1.0 if i == n - 1 else 0.0 for i in range(n)]


def linear(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """Every touch the same share."""
    n = len(journey.touches)
    return [1.0 / n] * n if n else []


def time_decay(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """Weight 2^(-age / half_life), age = conversion time − touch time; shares ∝ weights."""
    if half_life <= timedelta(0):
        raise ValueError("the half-life must be positive")
    if not journey.touches:
        return []
    # Measured from the newest touch (weight 1), so very old touches cannot all round to 0;
    # the shares are the same, as normalising cancels the common factor.
    newest = max(journey.touches)
    weights = [2.0 ** (-((newest - at) / half_life)) for at in journey.touches]
    total = sum(weights)
    return [w / total for w in weights]


def _milestones(n: int, slots: Sequence[int], slot_share: float) -> list[float]:
    """Each milestone slot gives `slot_share` to its touch (a touch holding several slots gets
    the sum); touches holding none share the rest equally. With no such touch the rest has
    nowhere to go, so the slots' shares are scaled up to sum to 1."""
    credit = [0.0] * n
    for index in slots:
        credit[index] += slot_share
    held = set(slots)
    others = [i for i in range(n) if i not in held]
    rest = 1.0 - slot_share * len(slots)
    if others:
        for i in others:
            credit[i] = rest / len(others)
        return credit
    total = sum(credit)
    return [c / total for c in credit]


def u_shaped(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """40 % first, 40 % last, 20 % shared by the touches between (one touch: 100 %; two: 50/50)."""
    n = len(journey.touches)
    return _milestones(n, [0, n - 1], U_SHAPED_ENDS) if n else []


def _last_at_or_before(touches: Sequence[datetime], moment: datetime | None, default: int) -> int:
    """Index of the newest touch at or before `moment`; `default` when `moment` is unknown or
    every touch came after it."""
    if moment is None:
        return default
    found = [i for i, at in enumerate(touches) if at <= moment]
    return found[-1] if found else default


def w_shaped(journey: Journey, *, half_life: timedelta = DEFAULT_HALF_LIFE) -> list[float]:
    """30 % each to the first touch, the lead-creation touch (the last at or before the lead
    first gave an email or phone; the first touch when unknown) and the opportunity-creation
    touch (the last at or before the lead became qualified; the last touch when never), 10 %
    shared by the rest. Coinciding milestones add up on their touch (docs/attribution.md)."""
    touches = journey.touches
    n = len(touches)
    if not n:
        return []
    lead_creation = _last_at_or_before(touches, journey.contact_given_at, 0)
    if journey.qualified_at is None:
        opportunity = n - 1
    else:
        opportunity = _last_at_or_before(touches, journey.qualified_at, 0)
    return _milestones(n, [0, lead_creation, opportunity], W_SHAPED_MILESTONE)


MODELS: Final[dict[str, AttributionModel]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "time_decay": time_decay,
    "u_shaped": u_shaped,
    "w_shaped": w_shaped,
}

T = TypeVar("T")


def attribute(
    model: str,
    touches: Sequence[T],
    when: Callable[[T], datetime],
    *,
    converted_at: datetime,
    contact_given_at: datetime | None = None,
    qualified_at: datetime | None = None,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[tuple[T, float]]:
    """Each touch at or before the conversion with its share of the credit, oldest first.

    `touches` may come in any order (`when` reads a touch's time); equal times keep their
    given order. Touches after the conversion get nothing and are left out.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    kept = sorted((t for t in touches if when(t) <= converted_at), key=when)
    journey = Journey(
        touches=tuple(when(t) for t in kept),
        converted_at=converted_at,
        contact_given_at=contact_given_at,
        qualified_at=qualified_at,
    )
    return list(zip(kept, MODELS[model](journey, half_life=half_life), strict=True))
