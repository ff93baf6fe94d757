"""Scoring is a pure function of (lead slots, flow), with a reason for every point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.flows import load_flow
from bot.scoring import score_lead

FLOW = load_flow(Path(__file__).resolve().parent.parent / "flows" / "default.yaml")


@pytest.mark.parametrize(
    ("slots", "score", "grade", "temperature", "qualified"),
    [
        ({}, 0, "D", "cold", False),
        ({"email": "a@b.co"}, 5, "D", "cold", False),
        ({"budget_monthly": 5000}, 30, "D", "cold", False),
        ({"budget_monthly": 4999}, 15, "D", "cold", False),
        ({"budget_monthly": 1000}, 15, "D", "cold", False),
        ({"budget_monthly": 999}, 0, "D", "cold", False),
        ({"timeline": "immediate"}, 25, "D", "cold", False),
        ({"timeline": "short"}, 15, "D", "cold", False),
        ({"timeline": "medium"}, 5, "D", "cold", False),
        ({"timeline": "long"}, 0, "D", "cold", False),
        ({"decision_maker": True}, 20, "D", "cold", False),
        ({"decision_maker": False}, 0, "D", "cold", False),
        ({"team_size": 50}, 15, "D", "cold", False),
        ({"team_size": 49}, 10, "D", "cold", False),
        ({"team_size": 10}, 10, "D", "cold", False),
        ({"team_size": 9}, 0, "D", "cold", False),
        ({"phone": "+14155550100"}, 5, "D", "cold", False),
        # thresholds: C ≥ 40, warm/B ≥ 50 and 60, qualified ≥ 70, A/hot ≥ 80
        ({"budget_monthly": 5000, "team_size": 10}, 40, "C", "cold", False),
        ({"budget_monthly": 5000, "decision_maker": True}, 50, "C", "warm", False),
        ({"budget_monthly": 5000, "timeline": "immediate", "email": "a@b.co"}, 60, "B", "warm", False),
        (
            {"budget_monthly": 5000, "timeline": "short", "decision_maker": True, "email": "a@b.co"},
            70,
            "B",
            "warm",
            True,
        ),
        (
            {"budget_monthly": 5000, "timeline": "immediate", "decision_maker": True, "email": "e@x.io"},
            80,
            "A",
            "hot",
            True,
        ),
        (
            {
                "budget_monthly": 9000,
                "timeline": "immediate",
                "decision_maker": True,
                "team_size": 80,
                "email": "e@x.io",
                "phone": "+14155550100",
            },
            100,
            "A",
            "hot",
            True,
        ),
    ],
)
def test_default_flow_scores(
    slots: dict[str, Any], score: int, grade: str, temperature: str, qualified: bool
) -> None:
    result = score_lead(slots, FLOW)
    assert (result.score, result.grade, result.temperature, result.qualified) == (
        score,
        grade,
        temperature,
        qualified,
    )


def test_every_point_has_a_reason() -> None:
    result = score_lead(
        {"budget_monthly": 2500, "timeline": "short", "decision_maker": True, "email": "a@b.co"}, FLOW
    )
    assert result.reasons == (
        "budget_monthly 1000–4999: +15",
        "timeline = short: +15",
        "decision_maker = yes: +20",
        "email given: +5",
    )
    assert result.score == 55


def test_unknown_and_non_numeric_values_score_nothing() -> None:
    assert score_lead({"budget_monthly": None, "team_size": "lots", "decision_maker": "yes"}, FLOW).score == 0
