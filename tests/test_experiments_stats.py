"""Experiment statistics match hand-computed values, and the winner rule picks what it promises."""

from __future__ import annotations

from typing import Any

import pytest

from bot.experiments.model import Experiment
from bot.experiments.stats import (
    Outcome,
    Rate,
    as_json,
    results,
    two_proportion_p,
    wilson,
)

# --- Wilson score interval: centre ± half, with
#   denominator = 1 + z²/n,  centre = (p + z²/2n) / denominator,
#   half = z / denominator · √(p(1−p)/n + z²/4n²),  z = 1.959963984540054, z² = 3.841458820694125


def test_wilson_for_20_of_100() -> None:
    # p = 0.2, n = 100: denominator = 1.0384145882069413
    # centre = (0.2 + 0.0192072941034706) / 1.0384145882069413 = 0.2110980494620957
    # half = 1.8874580603922149 · √(0.0016 + 0.0000960364705174) = 1.8874580603922149 · 0.0411829633527913
    #      = 0.0777311161310632
    # interval = (0.2110980 − 0.0777311, 0.2110980 + 0.0777311) = (0.1333669, 0.2888292)
    assert wilson(20, 100) == pytest.approx((0.1333669, 0.2888292), abs=1e-6)


def test_wilson_at_0_and_100_percent_is_not_zero_width() -> None:
    # 0/50: denominator = 1.0768291764138824, centre = 0.0384145882069413 / 1.0768291764138824 = 0.0356738,
    # half = 1.8201252598552700 · √(0 + 0.0003841458820694) = 1.82012526 · 0.0195996398 = 0.0356738
    # -> (0, 0.0713476)
    assert wilson(0, 50) == pytest.approx((0.0, 0.0713476), abs=1e-6)
    # 10/10: denominator = 1.3841458820694126, centre = 1.1920729410347063 / 1.3841458820694126 = 0.8612336,
    # half = 1.4160096922802283 · √(0 + 0.0096036470517353) = 1.41600969 · 0.09799820 = 0.1387664
    # -> (0.7224672, 1)
    assert wilson(10, 10) == pytest.approx((0.7224672, 1.0), abs=1e-6)
    assert wilson(0, 100)[0] == 0.0 and wilson(10, 10)[1] == 1.0  # exactly, not off by rounding


def test_wilson_without_conversations_is_0_0() -> None:
    assert wilson(0, 0) == (0.0, 0.0)


def test_counts_must_fit_the_total() -> None:
    with pytest.raises(ValueError, match="0 <= count <= total"):
        wilson(5, 4)
    with pytest.raises(ValueError, match="0 <= count <= total"):
        two_proportion_p(-1, 10, 3, 10)


# --- pooled two-proportion z-test: pooled = (c1 + c2)/(n1 + n2), se = √(pooled(1−pooled)(1/n1 + 1/n2)),
#   z = (c1/n1 − c2/n2)/se, p = erfc(|z|/√2) = 2(1 − Φ(|z|))


def test_two_proportion_p_for_30_of_100_vs_45_of_100() -> None:
    # pooled = 75/200 = 0.375; se = √(0.375 · 0.625 · 0.02) = √0.0046875 = 0.0684653
    # z = (0.30 − 0.45) / 0.0684653 = −2.1908902; p = 2(1 − Φ(2.1908902)) = 2 · 0.0142299 = 0.0284597
    assert two_proportion_p(30, 100, 45, 100) == pytest.approx(0.0284597, abs=1e-6)
    assert two_proportion_p(45, 100, 30, 100) == pytest.approx(0.0284597, abs=1e-6)  # two-sided


def test_two_proportion_p_for_43_of_200_vs_64_of_200() -> None:
    # pooled = 107/400 = 0.2675; se = √(0.2675 · 0.7325 · 0.01) = √0.0019594375 = 0.0442655
    # z = (0.215 − 0.32) / 0.0442655 = −2.3720486; p = 2(1 − Φ(2.3720486)) = 0.0176898
    assert two_proportion_p(43, 200, 64, 200) == pytest.approx(0.0176898, abs=1e-6)


def test_two_proportion_p_of_equal_rates_is_1() -> None:
    assert two_proportion_p(30, 100, 15, 50) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("c1", "n1", "c2", "n2"),
    [(0, 0, 3, 10), (3, 10, 0, 0), (0, 40, 0, 60), (40, 40, 60, 60)],
    ids=["no-conversations-left", "no-conversations-right", "all-0%", "all-100%"],
)
def test_two_proportion_p_is_none_without_variance(c1: int, n1: int, c2: int, n2: int) -> None:
    assert two_proportion_p(c1, n1, c2, n2) is None


# --- results


def _experiment(*variant_ids: str, metric: str = "qualified") -> Experiment:
    variants: list[dict[str, Any]] = [{"id": variant_ids[0]}]
    variants += [{"id": v, "text": f"Greeting {v}"} for v in variant_ids[1:]]
    return Experiment.model_validate(
        {"id": "short-greeting", "target": "texts.greeting", "metric": metric, "variants": variants}
    )


def _outcomes(variant: str, conversations: int, qualified: int = 0, **counts: int) -> list[Outcome]:
    """`conversations` outcomes of which the first `qualified` (`completed`, `handed_off`) were so."""
    completed, handed_off = counts.get("completed", 0), counts.get("handed_off", 0)
    return [Outcome(variant, n < completed, n < qualified, n < handed_off) for n in range(conversations)]


def test_results_report_every_variant_and_metric() -> None:
    outcomes = _outcomes("a", 100, 20, completed=60, handed_off=10) + _outcomes("b", 100, 45, completed=60)
    result = results(_experiment("a", "b"), outcomes)
    a, b = result.variants
    assert (a.id, a.control, a.weight, a.text, a.conversations) == ("a", True, 1, None, 100)
    assert (b.id, b.control, b.text, b.conversations) == ("b", False, "Greeting b", 100)
    assert (a.qualified.count, a.qualified.total, a.qualified.rate) == (20, 100, 0.2)
    assert (a.qualified.low, a.qualified.high) == pytest.approx((0.1333669, 0.2888292), abs=1e-6)  # as above
    assert b.completed.p_value == pytest.approx(1.0)  # 60/100 vs 60/100
    assert b.handed_off.count == 0 and b.handed_off.p_value is not None
    assert a.qualified.p_value is None and a.completed.p_value is None  # the control is the baseline


def test_outcomes_of_other_variants_are_ignored() -> None:
    outcomes = _outcomes("a", 3, 1) + _outcomes("gone", 50, 50) + _outcomes("b", 2)
    result = results(_experiment("a", "b"), outcomes)
    assert [v.conversations for v in result.variants] == [3, 2]


def test_a_variant_without_conversations_has_a_zero_rate() -> None:
    b = results(_experiment("a", "b"), _outcomes("a", 10, 4)).variants[1]
    assert b.qualified == Rate(0, 0, 0.0, 0.0, 0.0, None)


def test_no_winner_without_enough_data() -> None:
    result = results(_experiment("a", "b"), _outcomes("a", 40, 30) + _outcomes("b", 12, 0))
    assert result.winner is None
    assert result.verdict == "Not enough data yet: each variant needs 30 conversations (b has 12)."
    result = results(_experiment("a", "b", "c"), _outcomes("b", 5), min_conversations=10)
    assert (
        result.verdict
        == "Not enough data yet: each variant needs 10 conversations (a has 0, b has 5, c has 0)."
    )


def test_a_clearly_better_variant_wins() -> None:
    # 43/200 = 21.5% vs 64/200 = 32.0%: p = 0.0176898 (computed above) < 0.05
    result = results(_experiment("a", "b"), _outcomes("a", 200, 43) + _outcomes("b", 200, 64))
    assert result.winner == "b"
    assert result.verdict == "b qualifies more visitors than a (32.0% vs 21.5%, p = 0.018)."


def test_a_clearly_better_control_wins() -> None:
    # 45/100 vs 30/100: p = 0.0284597 < 0.05
    result = results(_experiment("a", "b"), _outcomes("a", 100, 45) + _outcomes("b", 100, 30))
    assert result.winner == "a"
    assert result.verdict == "a qualifies more visitors than b (45.0% vs 30.0%, p = 0.028)."


def test_no_winner_when_the_difference_may_be_chance() -> None:
    # 30/100 vs 33/100: pooled = 0.315, se = √(0.315 · 0.685 · 0.02) = 0.0656925,
    # z = −0.03 / 0.0656925 = −0.4566734, p = 2(1 − Φ(0.4566734)) = 0.6479058
    result = results(_experiment("a", "b"), _outcomes("a", 100, 30) + _outcomes("b", 100, 33))
    assert result.winner is None
    assert result.variants[1].qualified.p_value == pytest.approx(0.6479058, abs=1e-6)
    assert result.verdict == "No clear winner yet (p = 0.65)."


def test_bonferroni_makes_a_borderline_p_not_enough_with_3_variants() -> None:
    # b: 45/100 vs the control's 30/100, p = 0.0284597: below 0.05, but with 3 variants
    # each of the 2 comparisons needs p < 0.05 / 2 = 0.025.
    two = results(_experiment("a", "b"), _outcomes("a", 100, 30) + _outcomes("b", 100, 45))
    assert two.winner == "b"
    three = results(
        _experiment("a", "b", "c"),
        _outcomes("a", 100, 30) + _outcomes("b", 100, 45) + _outcomes("c", 100, 30),
    )
    assert three.winner is None
    assert three.verdict == "No clear winner yet (p = 0.028; with 3 variants it takes p < 0.025)."


def test_with_3_variants_the_best_wins_when_significant_after_correction() -> None:
    # b: 30/100 vs 15/100: pooled = 0.225, se = √(0.225 · 0.775 · 0.02) = 0.0590551,
    # z = 0.15 / 0.0590551 = 2.5400025, p = 2(1 − Φ(2.5400025)) = 0.0110852 < 0.025; c (20%) is not the best.
    outcomes = _outcomes("a", 100, 15) + _outcomes("b", 100, 30) + _outcomes("c", 100, 20)
    result = results(_experiment("a", "b", "c"), outcomes)
    assert result.winner == "b"
    assert result.verdict == "b qualifies more visitors than a (30.0% vs 15.0%, p = 0.011)."


def test_variants_tied_for_the_best_rate_give_no_winner() -> None:
    outcomes = _outcomes("a", 100, 15) + _outcomes("b", 100, 30) + _outcomes("c", 100, 30)
    result = results(_experiment("a", "b", "c"), outcomes)
    assert result.winner is None
    assert result.verdict == "No clear winner yet: b and c do equally well (30.0% each)."


def test_the_control_wins_only_by_beating_every_variant() -> None:
    # a 30/100 against b 15/100: p = 0.0110852 (as above) < 0.025, against c 15/100: the same.
    beaten = _outcomes("a", 100, 30) + _outcomes("b", 100, 15) + _outcomes("c", 100, 15)
    result = results(_experiment("a", "b", "c"), beaten)
    assert result.winner == "a"
    assert result.verdict == "a qualifies more visitors than b and c (30.0% vs at most 15.0%, p ≤ 0.011)."
    # a 30/100 against c 28/100 is no significant difference: the control does not win.
    close = _outcomes("a", 100, 30) + _outcomes("b", 100, 15) + _outcomes("c", 100, 28)
    assert results(_experiment("a", "b", "c"), close).winner is None


def test_no_winner_when_nobody_converts() -> None:
    result = results(_experiment("a", "b"), _outcomes("a", 50) + _outcomes("b", 50))
    assert result.winner is None
    assert result.verdict == "No clear winner yet: b is level with a (0.0% each)."


@pytest.mark.parametrize(
    ("metric", "wording"),
    [
        ("completed", "gets more visitors through the questions than"),
        ("handed_off", "hands more visitors to an agent than"),
    ],
)
def test_the_winner_is_decided_on_the_experiments_metric(metric: str, wording: str) -> None:
    # b qualifies far more, but the experiment is decided on `metric`, where b is better by 45% vs 30%.
    counts_a = {metric: 30}
    counts_b = {metric: 45}
    outcomes = _outcomes("a", 100, 0, **counts_a) + _outcomes("b", 100, 90, **counts_b)
    result = results(_experiment("a", "b", metric=metric), outcomes, alpha=0.01)
    assert result.winner is None  # p = 0.0284597 is not below 0.01
    assert results(_experiment("a", "b", metric=metric), outcomes).verdict == (
        f"b {wording} a (45.0% vs 30.0%, p = 0.028)."
    )


def test_as_json_shape() -> None:
    result = results(_experiment("a", "b"), _outcomes("a", 100, 30) + _outcomes("b", 100, 45))
    data = as_json(result)
    assert list(data) == ["id", "target", "metric", "winner", "verdict", "variants"]
    assert (data["id"], data["target"], data["metric"], data["winner"]) == (
        "short-greeting",
        "texts.greeting",
        "qualified",
        "b",
    )
    a, b = data["variants"]
    assert list(a) == [
        "id",
        "control",
        "weight",
        "text",
        "conversations",
        "completed",
        "qualified",
        "handed_off",
    ]
    assert (a["id"], a["control"], a["weight"], a["text"], a["conversations"]) == ("a", True, 1, None, 100)
    assert a["qualified"]["p_value"] is None
    assert b["qualified"] == {"count": 45, "rate": 0.45, "low": 0.3561, "high": 0.5476, "p_value": 0.02846}
    assert b["completed"] == {"count": 0, "rate": 0.0, "low": 0.0, "high": 0.037, "p_value": None}


def test_a_variant_switched_off_early_does_not_hold_the_verdict_back() -> None:
    experiment = Experiment.model_validate(
        {
            "id": "x",
            "target": "texts.greeting",
            "variants": [{"id": "a"}, {"id": "b", "text": "B"}, {"id": "c", "text": "C", "weight": 0}],
        }
    )
    outcomes = (
        [Outcome("a", completed=False, qualified=i < 10, handed_off=False) for i in range(100)]
        + [Outcome("b", completed=False, qualified=i < 40, handed_off=False) for i in range(100)]
        + [Outcome("c", completed=False, qualified=False, handed_off=False) for _ in range(5)]
    )
    result = results(experiment, outcomes)
    assert result.winner == "b"
    assert [v.conversations for v in result.variants] == [100, 100, 5]  # still reported
