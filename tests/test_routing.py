"""Routing is a pure function of (lead slots, score, flow): first matching rule wins, with reasons."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flows import Flow, load_flow, parse_flow
from bot.routing import Route, route

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "flows" / "default.yaml"
DEFAULT = load_flow(DEFAULT_PATH)


def flow_with(routing: dict[str, Any] | None) -> Flow:
    data = copy.deepcopy(yaml.safe_load(DEFAULT_PATH.read_text()))
    data["slots"].append({"name": "country", "type": "text", "question": "Where are you based?"})
    if routing is None:
        data.pop("routing")
    else:
        data["routing"] = routing
    return parse_flow(data, "test.yaml")


REGIONAL = flow_with(
    {
        "default_team": "inbound",
        "rules": [
            {"when": {"score": {"gte": 80}}, "team": "enterprise"},
            {"when": {"slot": "country", "eq": "DE"}, "team": "dach"},
            {"when": {"slot": "country", "in": ["AT", "CH"]}, "team": "dach"},
            {"when": {"slot": "team_size", "gte": 50}, "team": "midmarket"},
            {"when": {"slot": "timeline", "eq": "immediate"}, "team": "fast-track"},
            {"when": {"slot": "phone", "known": True}, "team": "callers"},
            {"when": {"score": {"between": [50, 79]}}, "team": "warm"},
        ],
    }
)


def test_the_default_flow_sends_high_scores_to_enterprise() -> None:
    assert route({}, 80, DEFAULT) == Route("enterprise", ("score ≥ 80 → team enterprise",))
    assert route({}, 79, DEFAULT) == Route("sales", ("default team sales",))


@pytest.mark.parametrize(
    ("slots", "score", "team", "reason"),
    [
        ({"country": "DE"}, 95, "enterprise", "score ≥ 80 → team enterprise"),  # first match wins
        ({"country": "DE"}, 10, "dach", "country = DE → team dach"),
        ({"country": "CH"}, 10, "dach", "country in AT, CH → team dach"),
        ({"country": "FR"}, 10, "inbound", "default team inbound"),
        ({"team_size": 50}, 10, "midmarket", "team_size ≥ 50 → team midmarket"),
        ({"team_size": 49}, 10, "inbound", "default team inbound"),
        ({"team_size": "lots"}, 10, "inbound", "default team inbound"),
        ({"timeline": "immediate"}, 10, "fast-track", "timeline = immediate → team fast-track"),
        ({"phone": "+14155550100"}, 10, "callers", "phone given → team callers"),
        ({"phone": None, "country": None}, 10, "inbound", "default team inbound"),  # unknown is not given
        ({}, 50, "warm", "score 50–79 → team warm"),
        ({}, 79, "warm", "score 50–79 → team warm"),
        ({"country": "AT", "team_size": 500}, 60, "dach", "country in AT, CH → team dach"),
    ],
)
def test_rules_on_slots_and_score(slots: dict[str, Any], score: int, team: str, reason: str) -> None:
    assert route(slots, score, REGIONAL) == Route(team, (reason,))


def test_a_team_without_agents_falls_back_to_the_default_team_with_the_reason() -> None:
    assert route({}, 90, DEFAULT, known_teams={"sales", "dach"}) == Route(
        "sales", ("score ≥ 80 → team enterprise", "team enterprise has no agents → default team sales")
    )
    assert route({}, 90, DEFAULT, known_teams=["enterprise"]) == Route(
        "enterprise", ("score ≥ 80 → team enterprise",)
    )
    assert route({}, 90, DEFAULT, known_teams=None).team == "enterprise"  # nobody asked about agents


def test_the_default_team_is_used_even_without_agents() -> None:
    assert route({}, 10, DEFAULT, known_teams=set()) == Route("sales", ("default team sales",))


def test_a_flow_without_routing_sends_everyone_to_sales() -> None:
    bare = flow_with(None)
    assert bare.routing.rules == ()
    assert route({"country": "DE"}, 100, bare) == Route("sales", ("default team sales",))
