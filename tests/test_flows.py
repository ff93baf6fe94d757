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
