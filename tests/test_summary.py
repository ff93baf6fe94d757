"""The handoff summary reads the lead as a person would."""

from __future__ import annotations

from pathlib import Path

from bot.flows import load_flow
from bot.summary import summarize

FLOW = load_flow(Path(__file__).resolve().parent.parent / "flows" / "default.yaml")


def test_a_full_lead_in_two_sentences_and_the_need() -> None:
    slots = {
        "name": "Tony Stark",
        "decision_maker": True,
        "company": "Stark Industries",
        "team_size": 50,
        "budget_monthly": 2000,
        "timeline": "short",
        "need": "automate lead follow-ups",
    }
    details = {"budget_monthly": {"low": 2000, "high": 3000, "currency": "USD", "period": "month"}}
    assert summarize(FLOW, slots, details) == (
        "Tony Stark (decision maker) at Stark Industries, 50 people. "
        "Budget $2,000–$3,000 per month, wants to start within 3 months. Needs: automate lead follow-ups."
    )


def test_partial_and_empty_leads() -> None:
    assert summarize(FLOW, {}, {}) == "Nothing captured yet."
    assert summarize(FLOW, {"decision_maker": False, "need": "a CRM"}, {}) == (
        "The visitor (not the decision maker). Needs: a CRM."
    )
