"""Flow files: the default flow loads; invalid flows fail with a message naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flows import FlowError, load_flow, parse_flow

DEFAULT = Path(__file__).resolve().parent.parent / "flows" / "default.yaml"


def _default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT.read_text())
    return data


def test_the_default_flow_has_the_product_slots_in_order() -> None:
    flow = load_flow(DEFAULT)
    assert [s.name for s in flow.slots] == [
        "need",
        "company",
        "team_size",
        "budget_monthly",
        "timeline",
        "decision_maker",
        "name",
        "email",
        "phone",
    ]
    assert [s.name for s in flow.slots if s.required] == ["email"]
    assert flow.region == "US" and flow.scoring.qualified_at == 70
    assert flow.slot("email").input_hint == "email" and flow.slot("phone").input_hint == "phone"
    assert flow.slot("timeline").input_hint == "choice" and flow.slot("team_size").input_hint == "number"


def _mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_default())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["slots"][2].update(type="number"), "slots.2.type"),
        (lambda d: d["slots"][0].pop("question"), "slots.0.question"),
        (lambda d: d["slots"][0].update(name="Need!"), "slots.0.name"),
        (lambda d: d["slots"][0].update(name="score"), "reserved"),
        (lambda d: d["slots"].append(dict(d["slots"][1])), "repeated: company"),
        (
            lambda d: d["scoring"]["rules"].append({"slot": "budget", "op": "gte", "value": 1, "points": 5}),
            "unknown slot 'budget'",
        ),
        (
            lambda d: d["scoring"]["rules"].append({"slot": "company", "op": "gte", "value": 1, "points": 5}),
            "needs a numeric slot",
        ),
        (
            lambda d: d["scoring"]["rules"].append(
                {"slot": "timeline", "op": "eq", "value": "soon", "points": 5}
            ),
            "timeline is one of",
        ),
        (lambda d: d["scoring"]["rules"][1].update(value=[5000, 1000]), "scoring.rules.1"),
        (lambda d: d["scoring"]["rules"][0].update(points=500), "scoring.rules.0.points"),
        (lambda d: d["scoring"].update(qualified_at=101), "scoring.qualified_at"),
        (lambda d: d["scoring"]["temperature"].update(warm=90), "warm must not exceed hot"),
        (lambda d: d.update(region="usa"), "region"),
        (lambda d: d["texts"].pop("greeting"), "texts.greeting"),
        (lambda d: d["slots"][0].update(ack="Hi {name}"), "only placeholder an ack may use is {value}"),
        (lambda d: d.update(colour="blue"), "colour"),
        (
            lambda d: d["slots"].append({"name": "plan", "type": "choice", "question": "Which plan?"}),
            "choices",
        ),
        # routing
        (
            lambda d: d["routing"]["rules"].append({"when": {"slot": "country", "eq": "DE"}, "team": "dach"}),
            "routing.rules.1.when.slot: unknown slot 'country'",
        ),
        (
            lambda d: d["routing"]["rules"].append({"when": {"slot": "company", "gte": 5}, "team": "x"}),
            "routing.rules.1.when.gte: 'gte' needs a numeric slot",
        ),
        (
            lambda d: d["routing"]["rules"].append({"when": {"slot": "timeline", "eq": "soon"}, "team": "x"}),
            "routing.rules.1.when.eq: timeline is one of",
        ),
        (
            lambda d: d["routing"]["rules"][0]["when"]["score"].update(gte="high"),
            "routing.rules.0.when.score",
        ),
        (lambda d: d["routing"]["rules"][0]["when"]["score"].update(lt=90), "exactly one comparison"),
        (lambda d: d["routing"]["rules"][0]["when"].update(score={"known": True}), "score is compared with"),
        (lambda d: d["routing"]["rules"][0]["when"].update(slot="email"), "either score"),
        (lambda d: d["routing"]["rules"][0].update(when={"slot": "email"}), "routing.rules.0.when"),
        (lambda d: d["routing"]["rules"][0].update(when={"slot": "email", "eq": None}), "'eq' needs a value"),
        (
            lambda d: d["routing"]["rules"][0].update(when={"slot": "email", "equals": "a"}),
            "routing.rules.0.when.equals",
        ),
        (lambda d: d["routing"]["rules"][0].update(team="Big Deals"), "routing.rules.0.team"),
        (lambda d: d["routing"]["rules"][0].pop("team"), "routing.rules.0.team"),
        (lambda d: d["routing"].update(default_team=""), "routing.default_team"),
        # business hours
        (
            lambda d: d.update(
                business_hours={"timezone": "Europe/Berln", "week": {"mon": ["09:00", "17:00"]}}
            ),
            "business_hours.timezone: Value error, unknown time zone 'Europe/Berln'",
        ),
        (lambda d: d.update(business_hours={"week": {"mon": ["09:00", "17:00"]}}), "business_hours.timezone"),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"mon": ["17:00", "09:00"]}}),
            "business_hours.week.mon: Value error, opens at 17:00 but closes at 09:00",
        ),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"tue": ["09:00", "17:00:00"]}}),
            "business_hours.week.tue: Value error, '17:00:00' is not a time of day",
        ),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"wed": ["9:00", "24:30"]}}),
            "business_hours.week.wed",
        ),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"mon": ["09:00", 1050]}}),
            "write times in quotes",
        ),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"monday": ["09:00", "17:00"]}}),
            "business_hours.week.monday",
        ),
        (
            lambda d: d.update(business_hours={"timezone": "UTC", "week": {"sat": None}}),
            "business_hours.week: Value error, no day is open",
        ),
    ],
)
def test_an_invalid_flow_names_the_field(change: Any, named: str) -> None:
    with pytest.raises(FlowError) as failure:
        parse_flow(_mutated(change), "test.yaml")
    assert named in str(failure.value)
    assert str(failure.value).startswith("test.yaml: ")


def test_bad_yaml_and_missing_files_are_flow_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(FlowError, match="not valid YAML"):
        load_flow(broken)
    with pytest.raises(FlowError, match="cannot read"):
        load_flow(tmp_path / "absent.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(FlowError, match="mapping at the top level"):
        load_flow(listed)


def test_the_default_flow_routes_high_scores_to_enterprise_and_is_always_open() -> None:
    flow = load_flow(DEFAULT)
    assert flow.routing.default_team == "sales"
    [rule] = flow.routing.rules
    assert (rule.when.subject, rule.when.op, rule.when.value, rule.team) == ("score", "gte", 80, "enterprise")
    assert flow.business_hours is None


def test_business_hours_parse_from_yaml() -> None:
    data = _mutated(
        lambda d: d.update(
            business_hours=yaml.safe_load(
                'timezone: Europe/Berlin\nweek: {mon: ["09:00", "17:30"], sat: ["10:00", "24:00"], sun: null}'
            )
        )
    )
    hours = parse_flow(data).business_hours
    assert hours is not None and hours.zone.key == "Europe/Berlin"
    assert hours.week.minutes_on(0) == (540, 1050)
    assert hours.week.minutes_on(5) == (600, 1440)
    assert hours.week.minutes_on(1) is None and hours.week.minutes_on(6) is None
