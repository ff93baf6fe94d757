"""Lead scoring: a pure function of the lead's slot values and the flow's rules.

Every point carries its reason ("budget_monthly ≥ 5000: +30") so an agent can see
why a lead scored what it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.comparison import satisfies
from bot.flows import Flow, Rule, Scoring


@dataclass(frozen=True)
class Score:
    score: int
    grade: str
    temperature: str
    qualified: bool
    reasons: tuple[str, ...]


def rule_matches(rule: Rule, slots: Mapping[str, Any]) -> bool:
    return satisfies(slots.get(rule.slot), rule.op, rule.value)


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
