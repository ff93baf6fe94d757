"""Routing: which team a handed-off conversation goes to, a pure function of the lead and the flow.

The first rule of the flow's `routing` that the lead matches names the team; otherwise the
default team. Every route carries its reasons ("score ≥ 80 → team enterprise") so agents and
admins can see why a conversation landed where it did.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bot.comparison import describe, satisfies
from bot.flows import Condition, Flow


@dataclass(frozen=True)
class Route:
    team: str
    reasons: tuple[str, ...]


def condition_holds(condition: Condition, lead_slots: Mapping[str, Any], score: int) -> bool:
    actual = score if condition.slot is None else lead_slots.get(condition.slot)
    return satisfies(actual, condition.op, condition.value)


def route(
    lead_slots: Mapping[str, Any],
    score: int,
    flow: Flow,
    known_teams: Collection[str] | None = None,
) -> Route:
    """The lead's team and why.

    `known_teams` are the teams that have agents; when given, a rule naming a team without
    agents sends the conversation to the default team instead of a queue nobody watches.
    """
    default = flow.routing.default_team
    for rule in flow.routing.rules:
        when = rule.when
        if not condition_holds(when, lead_slots, score):
            continue
        matched = f"{describe(when.subject, when.op, when.value)} → team {rule.team}"
        if known_teams is not None and rule.team not in known_teams and rule.team != default:
            return Route(default, (matched, f"team {rule.team} has no agents → default team {default}"))
        return Route(rule.team, (matched,))
    return Route(default, (f"default team {default}",))
