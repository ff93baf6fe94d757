"""How the variants of an experiment are doing, and whether one of them has won.

Each conversation of the experiment gives one `Outcome`: which variant it saw, and whether it
completed the questions, was qualified, was handed off to an agent. Per variant and per metric we
report the rate with its 95% Wilson score interval and, for the variants other than the control,
the p-value of a two-sided pooled two-proportion z-test against the control.

The winner, on the experiment's own metric (higher is better for all three):

1. Every variant needs at least `min_conversations` conversations; until then there is no winner.
   A variant switched off (weight 0) before reaching that is left out of the comparison.
2. Each non-control variant is compared with the control. With k variants that is k - 1 tests,
   so a difference counts as significant only at p < alpha / (k - 1) (Bonferroni): otherwise, with
   many variants, one would look better than the control by chance alone.
3. If some variant's rate is above the control's, only the best one by rate can win, and it wins
   when it is significantly better than the control. Variants are not tested against each other,
   so two variants tied for the best rate give no winner.
4. Otherwise (the control is at least level with every variant) the control wins when it is
   significantly better than each of the other variants.
5. Otherwise there is no winner yet; the verdict quotes the p-value that fell short.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.experiments.model import METRICS, Experiment, Metric, Variant

Z95 = 1.959963984540054  # the standard normal quantile at 0.975: a two-sided 95% interval


@dataclass(frozen=True)
class Rate:
    count: int
    total: int
    rate: float
    low: float  # 95% Wilson score interval
    high: float
    p_value: float | None  # against the control; None for the control or without variance


@dataclass(frozen=True)
class Outcome:
    """One conversation of the experiment."""

    variant: str
    completed: bool
    qualified: bool
    handed_off: bool


@dataclass(frozen=True)
class VariantResult:
    id: str
    control: bool
    weight: int
    text: str | None  # None: the flow's own text
    conversations: int
    completed: Rate
    qualified: Rate
    handed_off: Rate

    def on(self, metric: Metric) -> Rate:
        rate: Rate = getattr(self, metric)
        return rate


@dataclass(frozen=True)
class ExperimentResult:
    id: str
    target: str
    metric: Metric
    variants: list[VariantResult]  # in the experiment's order; the first is the control
    winner: str | None
    verdict: str  # one plain sentence for the admin page


def wilson(count: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `count` successes in `total` tries; (0, 0) without tries.

    Unlike the plain p ± z·se interval it stays inside [0, 1] and is not zero-width at 0% or 100%,
    which matters for the small counts an experiment starts with.
    """
    _check_counts(count, total)
    if total == 0:
        return 0.0, 0.0
    p = count / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # At 0% and 100% the end is exactly 0 or 1 (centre = half); computed, it is off by rounding noise.
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == total else min(1.0, centre + half)
    return low, high


def two_proportion_p(c1: int, n1: int, c2: int, n2: int) -> float | None:
    """Two-sided p-value that c1/n1 and c2/n2 differ (pooled z-test); None when it cannot be told.

    None when either side has no tries, or when the pooled rate is 0 or 1: all-or-nothing on both
    sides gives no variance to test against.
    """
    _check_counts(c1, n1)
    _check_counts(c2, n2)
    if n1 == 0 or n2 == 0:
        return None
    pooled = (c1 + c2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (c1 / n1 - c2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _check_counts(count: int, total: int) -> None:
    if not 0 <= count <= total:
        raise ValueError(f"need 0 <= count <= total; got {count} of {total}")


def _rate(count: int, total: int, control: tuple[int, int] | None) -> Rate:
    low, high = wilson(count, total)
    p_value = None if control is None else two_proportion_p(count, total, *control)
    return Rate(count, total, count / total if total else 0.0, low, high, p_value)


def results(
    experiment: Experiment,
    outcomes: Iterable[Outcome],
    *,
    alpha: float = 0.05,
    min_conversations: int = 30,
) -> ExperimentResult:
    """Rates per variant and the winner by the rule in the module docstring."""
    tallies = _tally(experiment, outcomes)
    control = tallies[experiment.control.id]
    variants = [
        _variant_result(v, tallies[v.id], None if v is experiment.control else control)
        for v in experiment.variants
    ]
    winner, verdict = _judge(variants, experiment.metric, alpha, min_conversations)
    return ExperimentResult(experiment.id, experiment.target, experiment.metric, variants, winner, verdict)


_Tally = tuple[int, dict[Metric, int]]  # (conversations, {metric: how many of them})


def _variant_result(variant: Variant, tally: _Tally, control: _Tally | None) -> VariantResult:
    """The variant's rates; p-values against `control`, None when this is the control."""
    conversations, counts = tally
    rates: dict[Metric, Rate] = {}
    for metric in METRICS:
        against = None if control is None else (control[1][metric], control[0])
        rates[metric] = _rate(counts[metric], conversations, against)
    return VariantResult(
        id=variant.id,
        control=control is None,
        weight=variant.weight,
        text=variant.text,
        conversations=conversations,
        completed=rates["completed"],
        qualified=rates["qualified"],
        handed_off=rates["handed_off"],
    )


def _tally(experiment: Experiment, outcomes: Iterable[Outcome]) -> dict[str, _Tally]:
    """{variant id: (conversations, {metric: count})}; outcomes of other variants are dropped."""
    conversations = {v.id: 0 for v in experiment.variants}
    counts: dict[str, dict[Metric, int]] = {v.id: dict.fromkeys(METRICS, 0) for v in experiment.variants}
    for outcome in outcomes:
        if outcome.variant not in conversations:
            continue  # e.g. a variant removed from the flow since
        conversations[outcome.variant] += 1
        for metric in METRICS:
            counts[outcome.variant][metric] += bool(getattr(outcome, metric))
    return {v: (conversations[v], counts[v]) for v in conversations}


_MORE = {
    "completed": "gets more visitors through the questions than",
    "qualified": "qualifies more visitors than",
    "handed_off": "hands more visitors to an agent than",
}


def _judge(
    variants: list[VariantResult], metric: Metric, alpha: float, min_conversations: int
) -> tuple[str | None, str]:
    """(winner, verdict) on `metric`; variants[0] is the control."""
    # A variant switched off (weight 0) before it had enough data would otherwise hold the
    # verdict back forever: it gets no more conversations, so it is left out instead.
    variants = [
        v for i, v in enumerate(variants) if i == 0 or v.weight > 0 or v.conversations >= min_conversations
    ]
    short = [v for v in variants if v.conversations < min_conversations]
    if short:
        have = ", ".join(f"{v.id} has {v.conversations}" for v in short)
        return None, f"Not enough data yet: each variant needs {min_conversations} conversations ({have})."
    control, others = variants[0], variants[1:]
    if not others:
        return None, f"No comparison: only {control.id} is still running."
    threshold = alpha / len(others)  # Bonferroni over the k - 1 comparisons with the control
    best_rate = max(v.on(metric).rate for v in others)
    if best_rate > control.on(metric).rate:
        best = [v for v in others if v.on(metric).rate == best_rate]
        if len(best) > 1:
            names = " and ".join(v.id for v in best)
            return None, f"No clear winner yet: {names} do equally well ({_percent(best_rate)} each)."
        challenger, losers = best[0], [control]
    else:
        # The control is at least level with every variant: it wins only by beating each one.
        challenger, losers = control, others
    # The comparisons that decide; each one's p-value sits on its non-control side.
    deciding = others if challenger is control else [challenger]
    level = next((v for v in deciding if v.on(metric).p_value is None), None)
    if level is not None:
        # No variance: both sides at 0% or both at 100%.
        share = _percent(level.on(metric).rate)
        return None, f"No clear winner yet: {level.id} is level with {control.id} ({share} each)."
    worst = max(v.on(metric).p_value or 0.0 for v in deciding)
    if worst < threshold:
        return challenger.id, _win(challenger, losers, metric, worst)
    return None, _no_winner(worst, len(variants), alpha, threshold)


def _win(winner: VariantResult, losers: list[VariantResult], metric: Metric, worst_p: float) -> str:
    rate = _percent(winner.on(metric).rate)
    if len(losers) == 1:
        other = _percent(losers[0].on(metric).rate)
        return f"{winner.id} {_MORE[metric]} {losers[0].id} ({rate} vs {other}, {_p(worst_p)})."
    names = " and ".join(v.id for v in losers) if len(losers) == 2 else "every other variant"
    runner_up = _percent(max(v.on(metric).rate for v in losers))
    return f"{winner.id} {_MORE[metric]} {names} ({rate} vs at most {runner_up}, {_p(worst_p, '≤')})."


def _no_winner(p: float, k: int, alpha: float, threshold: float) -> str:
    if k > 2 and p < alpha:
        # Say why a p below the usual 0.05 is not enough, or the admin page reads as a bug.
        return f"No clear winner yet ({_p(p)}; with {k} variants it takes p < {threshold:.2g})."
    return f"No clear winner yet ({_p(p)})."


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _p(p: float, relation: str = "=") -> str:
    return "p < 0.001" if p < 0.001 else f"p {relation} {p:.2g}"


def as_json(result: ExperimentResult) -> dict[str, Any]:
    """The result as the admin API returns it: rates to 4 decimals, p-values to 4 significant digits."""
    return {
        "id": result.id,
        "target": result.target,
        "metric": result.metric,
        "winner": result.winner,
        "verdict": result.verdict,
        "variants": [
            {
                "id": v.id,
                "control": v.control,
                "weight": v.weight,
                "text": v.text,
                "conversations": v.conversations,
                **{metric: _rate_json(v.on(metric)) for metric in METRICS},
            }
            for v in result.variants
        ],
    }


def _rate_json(rate: Rate) -> dict[str, Any]:
    return {
        "count": rate.count,
        "rate": round(rate.rate, 4),
        "low": round(rate.low, 4),
        "high": round(rate.high, 4),
        "p_value": None if rate.p_value is None else float(f"{rate.p_value:.4g}"),
    }
