"""Lead scoring: a pure function of the lead's slot values and the flow's rules.

Every point carries its reason ("budget_monthly ≥ 5000: +30") so an agent can see
why a lead scored what it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.flows import Flow, Rule, Scoring


@dataclass(frozen=True)
class Score:
    score: int
    grade: str
    temperature: str
    qualified: bool
    reasons: tuple[str, ...]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rule_matches(rule: Rule, slots: Mapping[str, Any]) -> bool:
    if rule.slot not in slots or slots[rule.slot] is None:
        return False
    value = slots[rule.slot]
    if rule.op == "known":
        return True
    if rule.op == "eq":
        return bool(value == rule.value)
    if rule.op == "in":
        return bool(value in rule.value)
    if not _is_number(value):
        return False
    if rule.op == "between":
        low, high = rule.value
        return bool(low <= value <= high)
    comparisons = {
        "gte": value >= rule.value,
        "gt": value > rule.value,
        "lte": value <= rule.value,
        "lt": value < rule.value,
    }
    return bool(comparisons[rule.op])


def grade_for(score: int, scoring: Scoring) -> str:
    g = scoring.grades
    for grade, bound in (("A", g.A), ("B", g.B), ("C", g.C)):
        if score >= bound:
            return grade
    return "D"


def temperature_for(score: int, scoring: Scoring) -> str:
    if score >= scoring.temperature.hot:
        return "hot"
    if score >= scoring.temperature.warm:
        return "warm"
    return "cold"


def score_lead(slots: Mapping[str, Any], flow: Flow) -> Score:
    matched = [rule for rule in flow.scoring.rules if rule_matches(rule, slots)]
    total = max(0, min(100, sum(rule.points for rule in matched)))
    return Score(
        score=total,
        grade=grade_for(total, flow.scoring),
        temperature=temperature_for(total, flow.scoring),
        qualified=total >= flow.scoring.qualified_at,
        reasons=tuple(rule.label for rule in matched),
    )
