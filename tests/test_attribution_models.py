"""Attribution models against cases worked out by hand (the arithmetic is in the comments).

Times are days after T0; `Journey` holds the touch times, oldest first, none after the conversion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.attribution.models import (
    MODELS,
    Journey,
    attribute,
    first_touch,
    last_touch,
    linear,
    time_decay,
    u_shaped,
    w_shaped,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def journey(
    *days: float, converted: float, contact: float | None = None, qualified: float | None = None
) -> Journey:
    return Journey(
        touches=tuple(day(d) for d in days),
        converted_at=day(converted),
        contact_given_at=day(contact) if contact is not None else None,
        qualified_at=day(qualified) if qualified is not None else None,
    )


def approx(values: list[float]) -> object:
    return pytest.approx(values, abs=1e-12)


# -- first and last touch --------------------------------------------------------------------


def test_first_touch_gives_everything_to_the_oldest_touch() -> None:
    assert first_touch(journey(0, 3, 9, converted=10)) == [1.0, 0.0, 0.0]


def test_last_touch_gives_everything_to_the_newest_touch() -> None:
    assert last_touch(journey(0, 3, 9, converted=10)) == [0.0, 0.0, 1.0]


def test_touches_after_the_conversion_are_ignored() -> None:
    # Touches on days 0, 5 and 12, converted on day 10: day 12 came after and gets nothing;
    # the last touch is day 5's.
    touches = [("ad", day(0)), ("newsletter", day(5)), ("after", day(12))]
    credits = attribute("last_touch", touches, lambda t: t[1], converted_at=day(10))
    assert [(name, share) for (name, _), share in credits] == [("ad", 0.0), ("newsletter", 1.0)]
    # linear over what is left: 1/2 each (not 1/3)
    credits = attribute("linear", touches, lambda t: t[1], converted_at=day(10))
    assert [share for _, share in credits] == [0.5, 0.5]


def test_a_touch_at_the_very_moment_of_the_conversion_counts() -> None:
    credits = attribute(
        "last_touch", ["early", "same"], lambda t: day(0 if t == "early" else 4), converted_at=day(4)
    )
    assert credits == [("early", 0.0), ("same", 1.0)]


def test_touches_come_in_any_order_and_equal_times_keep_their_given_order() -> None:
    # Given newest first; "b" and "c" share a time: sorted by time, b stays before c.
    times = {"a": day(1), "b": day(2), "c": day(2), "d": day(0)}
    credits = attribute("first_touch", ["a", "b", "c", "d"], times.__getitem__, converted_at=day(3))
    assert [name for name, _ in credits] == ["d", "a", "b", "c"]
    assert credits[0] == ("d", 1.0)
    last = attribute("last_touch", ["a", "b", "c", "d"], times.__getitem__, converted_at=day(3))
    assert last[-1] == ("c", 1.0)  # of the two newest (equal), the one given last


def test_no_touch_gives_no_credit() -> None:
    empty = journey(converted=1)
    for name, model in MODELS.items():
        assert model(empty) == [], name


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model 'position'"):
        attribute("position", [], lambda t: t, converted_at=day(0))


# -- linear ----------------------------------------------------------------------------------


def test_linear_shares_equally() -> None:
    # 4 touches: 1/4 each.
    assert linear(journey(0, 1, 2, 3, converted=4)) == [0.25, 0.25, 0.25, 0.25]


# -- time decay ------------------------------------------------------------------------------


def test_time_decay_halves_the_weight_every_half_life() -> None:
    # Default half-life 7 days; ages at conversion (day 14): 14, 7 and 0 days.
    # Weights 2^(-14/7) = 1/4, 2^(-7/7) = 1/2, 2^0 = 1; total 7/4.
    # Shares: (1/4)/(7/4) = 1/7, (1/2)/(7/4) = 2/7, 1/(7/4) = 4/7.
    assert time_decay(journey(0, 7, 14, converted=14)) == approx([1 / 7, 2 / 7, 4 / 7])


def test_time_decay_with_its_own_half_life() -> None:
    # Half-life 14 days, the same ages 14, 7, 0: weights 2^-1 = 0.5, 2^-0.5 ≈ 0.70711, 1;
    # total ≈ 2.20711. Shares ≈ 0.22654, 0.32037, 0.45308.
    shares = time_decay(journey(0, 7, 14, converted=14), half_life=timedelta(days=14))
    total = 0.5 + 2**-0.5 + 1
    assert shares == approx([0.5 / total, 2**-0.5 / total, 1 / total])
    assert shares == pytest.approx([0.22654, 0.32037, 0.45308], abs=1e-5)


def test_time_decay_counts_age_up_to_the_conversion_not_the_newest_touch() -> None:
    # Touches on days 0 and 1, converted on day 8, half-life 1 day: ages 8 and 7 days,
    # weights 2^-8 = 1/256 and 2^-7 = 2/256: shares 1/3 and 2/3.
    shares = time_decay(journey(0, 1, converted=8), half_life=timedelta(days=1))
    assert shares == approx([1 / 3, 2 / 3])


def test_time_decay_gives_equal_times_equal_shares() -> None:
    # Two touches on day 3 and one on day 10, converted on day 10, half-life 7: weights 1/2, 1/2, 1;
    # total 2: 1/4, 1/4, 1/2.
    assert time_decay(journey(3, 3, 10, converted=10)) == approx([0.25, 0.25, 0.5])


def test_time_decay_survives_touches_too_old_for_floating_point() -> None:
    # Ages 20000 and 10000 half-lives: 2^-20000 underflows to 0.0, but the ratio is what counts:
    # the newer touch has 2^10000 times the weight of the older, so it takes (all but) everything.
    shares = time_decay(journey(0, 10000, converted=20000), half_life=timedelta(days=1))
    assert shares == approx([0.0, 1.0])


def test_time_decay_needs_a_positive_half_life() -> None:
    with pytest.raises(ValueError, match="half-life"):
        time_decay(journey(0, converted=1), half_life=timedelta(0))


# -- U-shaped --------------------------------------------------------------------------------


def test_u_shaped_one_touch_gets_everything() -> None:
    # First and last are the same touch: 40 % + 40 %, nothing between, scaled up to 100 %.
    assert u_shaped(journey(0, converted=1)) == [1.0]


def test_u_shaped_two_touches_split_half_and_half() -> None:
    # 40 % and 40 %, no touch between to take the 20 %: scaled to 50 % each.
    assert u_shaped(journey(0, 1, converted=2)) == approx([0.5, 0.5])


def test_u_shaped_three_touches() -> None:
    # 40 % first, 40 % last, the one between takes the 20 %.
    assert u_shaped(journey(0, 1, 2, converted=3)) == approx([0.4, 0.2, 0.4])


def test_u_shaped_middle_touches_share_twenty_percent() -> None:
    # 5 touches: 40 %, then 20 % / 3 ≈ 6.67 % for each of the three between, then 40 %.
    assert u_shaped(journey(0, 1, 2, 3, 4, converted=5)) == approx([0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4])


# -- W-shaped --------------------------------------------------------------------------------


def test_w_shaped_three_distinct_milestones_and_two_other_touches() -> None:
    # Touches on days 0..4. Email given on day 1.5: the lead-creation touch is day 1's (the last
    # at or before it). Qualified on day 3.5: the opportunity touch is day 3's.
    # Milestones days 0, 1, 3 take 30 % each; days 2 and 4 share 10 %: 5 % each.
    shares = w_shaped(journey(0, 1, 2, 3, 4, converted=5, contact=1.5, qualified=3.5))
    assert shares == approx([0.3, 0.3, 0.05, 0.3, 0.05])


def test_w_shaped_coinciding_milestones_add_up() -> None:
    # Contact time unknown: lead creation is the first touch (day 0), like the first-touch slot.
    # Never qualified: the opportunity touch is the last (day 3).
    # Day 0 holds two slots: 30 % + 30 % = 60 %; day 3: 30 %; days 1 and 2 share 10 %: 5 % each.
    shares = w_shaped(journey(0, 1, 2, 3, converted=4))
    assert shares == approx([0.6, 0.05, 0.05, 0.3])


def test_w_shaped_with_only_milestone_touches_scales_them_to_the_whole() -> None:
    # Two touches, contact unknown (slot on day 0), never qualified (slot on the last, day 1):
    # day 0 holds 60 %, day 1 30 %; no other touch takes the 10 %, so both scale by 1/0.9:
    # 0.6/0.9 = 2/3 and 0.3/0.9 = 1/3.
    assert w_shaped(journey(0, 1, converted=2)) == approx([2 / 3, 1 / 3])


def test_w_shaped_three_touches_each_a_milestone() -> None:
    # Contact on day 1 (its touch), qualified on day 2 (exactly at a touch: at or before counts).
    # 30 % each, nothing else: scaled to a third each.
    assert w_shaped(journey(0, 1, 2, converted=3, contact=1, qualified=2)) == approx([1 / 3] * 3)


def test_w_shaped_one_touch_gets_everything() -> None:
    # All three slots on the only touch: 90 %, scaled to 100 %.
    assert w_shaped(journey(0, converted=1, contact=0.5, qualified=0.7)) == approx([1.0])


def test_w_shaped_milestones_before_any_touch_fall_on_the_first() -> None:
    # The lead texted first (contact and qualification before its web visits on days 2, 3, 4):
    # no touch at or before either moment, so both slots go to the first touch:
    # day 2 holds first + lead creation + opportunity = 90 %, days 3 and 4 share 10 %: 5 % each.
    shares = w_shaped(journey(2, 3, 4, converted=5, contact=1, qualified=1.5))
    assert shares == approx([0.9, 0.05, 0.05])


def test_w_shaped_opportunity_and_last_touch_together() -> None:
    # Touches on days 0, 1, 2, 3; contact on day 1 (touch 1), qualified on day 9 (after every
    # touch: the last at or before it is day 3's).
    # 30 % to days 0, 1 and 3; day 2 takes the 10 %.
    assert w_shaped(journey(0, 1, 2, 3, converted=10, contact=1, qualified=9)) == approx([0.3, 0.3, 0.1, 0.3])


# -- every model -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_model_hands_out_exactly_one_conversion(name: str, count: int) -> None:
    shares = MODELS[name](journey(*range(count), converted=count, contact=1, qualified=2))
    assert len(shares) == count
    assert all(share >= 0 for share in shares)
    assert sum(shares) == pytest.approx(1.0, abs=1e-12)
