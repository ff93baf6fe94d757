"""Flow changes in words: what an admin reads after saving, publishing or comparing two versions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.flowdiff import describe_changes
from bot.flows import Flow, load_flow, parse_flow

DEFAULT = Path(__file__).resolve().parent.parent / "flows" / "default.yaml"
SID_A = "HX" + "a" * 32
SID_B = "HX" + "b" * 32
OFFICE_WEEK = {
    "timezone": "America/New_York",
    "week": {
        "mon": ["09:00", "17:30"],
        "tue": ["09:00", "17:30"],
        "wed": ["09:00", "17:30"],
        "thu": ["09:00", "17:30"],
        "fri": ["09:00", "16:00"],
    },
}
GREETING_TEST = {
    "id": "short-greeting",
    "target": "texts.greeting",
    "variants": [{"id": "a"}, {"id": "b", "text": "Hey! Two minutes and you're through."}],
}

Change = Callable[[dict[str, Any]], Any]


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT.read_text())
    return data


def _flow(*changes: Change) -> Flow:
    """The default flow with `changes` applied to its YAML data, in order."""
    data = copy.deepcopy(_data())
    for change in changes:
        change(data)
    return parse_flow(data)


def _changes(*changes: Change, base: tuple[Change, ...] = ()) -> list[str]:
    """What an admin reads when the flow (`base` applied to the default) gets `changes`."""
    return describe_changes(_flow(*base), _flow(*base, *changes))


def _slot(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["slots"] if s["name"] == name)
    return found


def _rule(data: dict[str, Any], slot: str, points: int) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in data["scoring"]["rules"] if r["slot"] == slot and r["points"] == points
    )
    return found


def _rule_added(rule: dict[str, Any]) -> Change:
    return lambda d: d["scoring"]["rules"].append(rule)


def _with_hours(data: dict[str, Any]) -> None:
    data["business_hours"] = copy.deepcopy(OFFICE_WEEK)


def _move_slot(name: str, to: int) -> Change:
    def change(data: dict[str, Any]) -> None:
        slot = _slot(data, name)
        data["slots"].remove(slot)
        data["slots"].insert(to, slot)

    return change


def _remove_slot(name: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        data["slots"].remove(_slot(data, name))
        data["scoring"]["rules"] = [r for r in data["scoring"]["rules"] if r["slot"] != name]

    return change


# --- the product issue's wording -------------------------------------------------------------------


def test_a_reworded_question_is_named_with_backticks() -> None:
    def reword(data: dict[str, Any]) -> None:
        _slot(data, "budget_monthly")["question"] = "What's your budget?"

    assert _changes(reword) == ["question `budget_monthly`: wording changed"]


def test_new_points_on_the_same_condition_read_as_a_change_of_points() -> None:
    assert _changes(lambda d: _rule(d, "budget_monthly", 30).update(points=25)) == [
        "rule budget_monthly ≥ 5000: +30 → +25"
    ]


def test_the_same_flow_has_no_changes_and_the_version_is_ignored() -> None:
    assert describe_changes(load_flow(DEFAULT), load_flow(DEFAULT)) == []
    assert _changes(lambda d: d.update(version=7)) == []


def test_a_flow_without_an_earlier_version_is_new() -> None:
    assert describe_changes(None, load_flow(DEFAULT)) == ["new flow"]


# --- every section ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d.update(name="Enterprise qualification"),
            ['name "B2B qualification" → "Enterprise qualification"'],
        ),
        (lambda d: d.update(region="GB"), ["region US → GB"]),
        (lambda d: d.update(currency="EUR"), ["currency USD → EUR"]),
        (lambda d: d["texts"].update(greeting="Hello!"), ["text `greeting` changed"]),
        # A text left out falls back to its default wording: a change the visitor sees.
        (lambda d: d["texts"].pop("handoff_requested"), []),
        (lambda d: d["texts"].pop("unqualified"), ["text `unqualified` changed"]),
        (lambda d: d["texts"].update(after_hours="Back {when}."), ["text `after_hours` changed"]),
    ],
)
def test_the_flow_s_own_fields_and_texts(change: Change, expected: list[str]) -> None:
    assert _changes(change) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: _slot(d, "team_size").update(type="money"),
            ["question `team_size`: type integer → money"],
        ),
        (lambda d: _slot(d, "phone").update(reask="Again?"), ["question `phone`: reask changed"]),
        (lambda d: _slot(d, "phone").pop("reask"), ["question `phone`: reask removed"]),
        (lambda d: _slot(d, "need").update(reask="Say more?"), ["question `need`: reask added"]),
        (lambda d: _slot(d, "need").update(ack="Noted."), ["question `need`: ack changed"]),
        (lambda d: _slot(d, "phone").update(ack="Thanks."), ["question `phone`: ack added"]),
        (lambda d: _slot(d, "need").pop("ack"), ["question `need`: ack removed"]),
        (
            lambda d: _slot(d, "budget_monthly").update(label="budget"),
            ['question `budget_monthly`: label "monthly budget" → "budget"'],
        ),
        (lambda d: _slot(d, "company").update(label="firm"), ['question `company`: label none → "firm"']),
        (lambda d: _slot(d, "phone").update(required=True), ["question `phone`: optional → required"]),
        (lambda d: _slot(d, "email").update(required=False), ["question `email`: required → optional"]),
        (
            lambda d: _slot(d, "team_size").update(input="text"),
            ["question `team_size`: input default → text"],
        ),
        (
            lambda d: _slot(d, "timeline").update(choices=["ASAP", "Within 3 months", "Within 6 months"]),
            ['question `timeline`: choice "Later" removed'],
        ),
        (
            lambda d: _slot(d, "timeline").update(choices=["ASAP", "This year", "Next year", "Later"]),
            [
                'question `timeline`: choices "This year", "Next year" added',
                'question `timeline`: choices "Within 3 months", "Within 6 months" removed',
            ],
        ),
        (
            lambda d: _slot(d, "timeline").update(
                choices=["Later", "ASAP", "Within 3 months", "Within 6 months"]
            ),
            ["question `timeline`: choices reordered"],
        ),
    ],
)
def test_each_field_of_a_question(change: Change, expected: list[str]) -> None:
    assert _changes(change) == expected


def test_several_fields_of_one_question_read_in_the_slot_s_field_order() -> None:
    def change(data: dict[str, Any]) -> None:
        _slot(data, "phone").update(ack="Thanks!", required=True, question="Your phone?")

    assert _changes(change) == [
        "question `phone`: wording changed",
        "question `phone`: optional → required",
        "question `phone`: ack added",
    ]


# --- questions added, removed and moved ------------------------------------------------------------


def test_swapping_two_questions_reads_as_a_reorder_of_just_those() -> None:
    assert _changes(_move_slot("need", 1)) == ["questions reordered: need, company, … → company, need, …"]


def test_a_reorder_inside_the_list_cuts_both_ends_short() -> None:
    def change(data: dict[str, Any]) -> None:
        slots = data["slots"]
        slots[2], slots[3] = slots[3], slots[2]
        slots[4], slots[5] = slots[5], slots[4]

    assert _changes(change) == [
        "questions reordered: …, team_size, budget_monthly, timeline, decision_maker, …"
        " → …, budget_monthly, team_size, decision_maker, timeline, …"
    ]


def test_one_question_moved_names_its_old_and_new_place() -> None:
    assert _changes(_move_slot("phone", 0)) == ["question `phone` moved from 9 to 1"]
    assert _changes(_move_slot("need", 4)) == ["question `need` moved from 1 to 5"]


def test_an_added_question_says_where_and_shifts_nothing_else() -> None:
    industry = {"name": "industry", "type": "text", "question": "Which industry are you in?"}
    assert _changes(lambda d: d["slots"].insert(2, industry)) == ["question `industry` added at 3"]


def test_a_removed_question_goes_with_its_rules() -> None:
    assert _changes(_remove_slot("phone")) == [
        "question `phone` removed",
        "rule phone given removed (was +5)",
    ]


def test_a_question_moved_among_added_and_removed_ones_uses_each_version_s_places() -> None:
    industry = {"name": "industry", "type": "text", "question": "Which industry are you in?"}
    assert _changes(
        _remove_slot("need"), _move_slot("phone", 0), lambda d: d["slots"].insert(1, industry)
    ) == [
        "question `industry` added at 2",
        "question `need` removed",
        "question `phone` moved from 9 to 1",
    ]


# --- scoring ---------------------------------------------------------------------------------------


def test_rules_added_and_removed_are_matched_by_their_condition() -> None:
    def change(data: dict[str, Any]) -> None:
        rules = data["scoring"]["rules"]
        rules.remove(_rule(data, "timeline", 5))
        rules.append({"slot": "team_size", "op": "gte", "value": 500, "points": 30})
        rules.append({"slot": "company", "op": "known", "points": -10})
        _rule(data, "budget_monthly", 15).update(value=[2000, 4999])

    assert _changes(change) == [
        "rule budget_monthly 2000–4999 added: +15",
        "rule team_size ≥ 500 added: +30",
        "rule company given added: −10",
        "rule budget_monthly 1000–4999 removed (was +15)",
        "rule timeline = medium removed (was +5)",
    ]


def test_rule_order_and_how_a_number_is_written_are_not_changes() -> None:
    def change(data: dict[str, Any]) -> None:
        data["scoring"]["rules"].reverse()
        _rule(data, "budget_monthly", 30).update(value=5000.0)

    assert _changes(change) == []


def test_two_rules_on_one_condition_pair_up_in_order() -> None:
    twice = _rule_added({"slot": "email", "op": "known", "points": 5})
    assert _changes(lambda d: d["scoring"]["rules"][-1].update(points=8), base=(twice,)) == [
        "rule email given: +5 → +8"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["scoring"].update(qualified_at=65), ["qualified at 70 → 65"]),
        (
            lambda d: d["scoring"].update(temperature={"hot": 85, "warm": 40}),
            [
                "temperature hot at 80 → 85",
                "temperature warm at 50 → 40",
            ],
        ),
        (
            lambda d: d["scoring"].update(grades={"A": 90, "B": 60, "C": 30}),
            [
                "grade A at 80 → 90",
                "grade C at 40 → 30",
            ],
        ),
    ],
)
def test_thresholds_bands_and_grades(change: Change, expected: list[str]) -> None:
    assert _changes(change) == expected


# --- hand-off and routing --------------------------------------------------------------------------


def test_hand_off_settings() -> None:
    def base(data: dict[str, Any]) -> None:
        data["handoff"]["phrases"] = ["pricing", "demo"]

    def change(data: dict[str, Any]) -> None:
        data["handoff"] = {
            "max_not_understood": 2,
            "phrases": ["demo", "quote", "call me"],
            "score_at_least": 90,
        }

    assert _changes(change, base=(base,)) == [
        "hand-off after 3 → 2 turns not understood",
        'hand-off phrases "quote", "call me" added',
        'hand-off phrase "pricing" removed',
        "early hand-off at score none → 90",
    ]
    assert _changes(lambda d: d["handoff"].update(score_at_least=85), base=(change,)) == [
        "early hand-off at score 90 → 85"
    ]


def _route(team: str, **when: Any) -> Change:
    return lambda d: d["routing"]["rules"].append({"when": when, "team": team})


def test_routes_added_removed_and_sent_elsewhere() -> None:
    base = _route("emea", slot="company", eq="Acme")

    def change(data: dict[str, Any]) -> None:
        data["routing"]["default_team"] = "support"
        data["routing"]["rules"][0]["team"] = "key-accounts"
        data["routing"]["rules"].pop(1)
        data["routing"]["rules"].append(
            {"when": {"slot": "timeline", "in": ["immediate", "short"]}, "team": "fast"}
        )

    assert _changes(change, base=(base,)) == [
        "default team sales → support",
        "route score ≥ 80: team enterprise → key-accounts",
        "route timeline in immediate, short → fast added",
        "route company = Acme → emea removed",
    ]


def test_the_order_of_routes_matters_because_the_first_match_wins() -> None:
    base = (_route("emea", slot="company", eq="Acme"), _route("mid", score={"between": [50, 79]}))
    assert _changes(lambda d: d["routing"]["rules"].reverse(), base=base) == [
        "routes reordered: score ≥ 80, company = Acme, score 50–79 → score 50–79, company = Acme, score ≥ 80"
    ]
    assert _changes(lambda d: d["routing"]["rules"].insert(0, d["routing"]["rules"].pop()), base=base) == [
        "route score 50–79 moved from 3 to 1"
    ]


def test_routes_whose_conditions_read_alike_still_read_as_reordered() -> None:
    # "5" and 5 are different answers that print alike; swapping them changes where leads go.
    base = (_route("a", slot="company", eq="5"), _route("b", slot="company", eq=5))
    assert _changes(lambda d: d["routing"]["rules"].append(d["routing"]["rules"].pop(1)), base=base) == [
        "routes reordered: score ≥ 80, company = 5, company = 5 → score ≥ 80, company = 5, company = 5"
    ]


# --- business hours and WhatsApp -------------------------------------------------------------------


def test_business_hours_added_and_removed() -> None:
    assert _changes(_with_hours) == [
        "business hours added: America/New_York, mon–thu 09:00–17:30, fri 09:00–16:00"
    ]
    assert _changes(lambda d: d.pop("business_hours"), base=(_with_hours,)) == [
        "business hours removed: always open"
    ]


def test_business_hours_time_zone_and_each_day() -> None:
    def change(data: dict[str, Any]) -> None:
        hours = data["business_hours"]
        hours["timezone"] = "Europe/Berlin"
        hours["week"]["mon"] = ["10:00", "18:00"]
        hours["week"].pop("fri")
        hours["week"]["sat"] = ["10:00", "14:00"]

    assert _changes(change, base=(_with_hours,)) == [
        "business hours time zone America/New_York → Europe/Berlin",
        "business hours mon 09:00–17:30 → 10:00–18:00",
        "business hours fri 09:00–16:00 → closed",
        "business hours sat closed → 10:00–14:00",
    ]


def test_whatsapp_template_and_variables() -> None:
    def whatsapp(sid: str, **variables: str) -> Change:
        return lambda d: d.update(whatsapp={"template_sid": sid, "variables": variables})

    assert _changes(whatsapp(SID_A, **{"1": "{name|there}"})) == [
        f"WhatsApp template {SID_A} added",
        'WhatsApp variable 1 added: "{name|there}"',
    ]
    base = whatsapp(SID_A, **{"1": "{name|there}", "2": "{company}"})
    assert _changes(whatsapp(SID_B, **{"1": "{name}", "10": "{email}"}), base=(base,)) == [
        f"WhatsApp template {SID_A} → {SID_B}",
        'WhatsApp variable 1: "{name|there}" → "{name}"',
        "WhatsApp variable 2 removed",
        'WhatsApp variable 10 added: "{email}"',
    ]
    assert _changes(lambda d: d.pop("whatsapp"), base=(base,)) == [
        f"WhatsApp template {SID_A} removed",
        "WhatsApp variable 1 removed",
        "WhatsApp variable 2 removed",
    ]


# --- consent ---------------------------------------------------------------------------------------

CONSENT = {"text": "We keep this chat to answer you: https://example.com/privacy"}


def _with_consent(**consent: Any) -> Change:
    return lambda d: d.update(consent={**CONSENT, **consent})


def test_a_consent_step_added_and_removed() -> None:
    assert _changes(_with_consent()) == ["consent step added"]
    assert _changes(_with_consent(required=True)) == ["consent step added (required before writing)"]
    assert _changes(lambda d: d.pop("consent"), base=(_with_consent(),)) == ["consent step removed"]


def test_the_consent_text_requirement_and_button() -> None:
    reworded = _with_consent(text="We keep this chat for a year: https://example.com/privacy", required=True)
    assert _changes(reworded, base=(_with_consent(),)) == [
        "consent text changed",
        "consent optional → required before writing",
    ]
    assert _changes(_with_consent(button="I agree"), base=(_with_consent(required=True),)) == [
        "consent required before writing → optional",
        "consent button changed",
    ]
    # The default button written out is the same consent step.
    assert _changes(_with_consent(button="Accept"), base=(_with_consent(),)) == []


# --- experiments -----------------------------------------------------------------------------------


def _with_experiment(data: dict[str, Any]) -> None:
    data["experiments"] = [copy.deepcopy(GREETING_TEST)]


def test_experiments_added_and_removed() -> None:
    assert _changes(_with_experiment) == ["experiment `short-greeting` added: texts.greeting, 2 variants"]
    assert _changes(lambda d: d.pop("experiments"), base=(_with_experiment,)) == [
        "experiment `short-greeting` removed"
    ]


def test_an_experiment_s_target_metric_and_variants() -> None:
    def change(data: dict[str, Any]) -> None:
        test = data["experiments"][0]
        test.update(target="slots.need.question", metric="completed")
        test["variants"] = [
            {"id": "a", "weight": 3},
            {"id": "b", "text": "Hi! Quick questions, then the team."},
            {"id": "c", "weight": 2, "text": "Hello."},
        ]

    assert _changes(change, base=(_with_experiment,)) == [
        "experiment `short-greeting`: target texts.greeting → slots.need.question",
        "experiment `short-greeting`: metric qualified → completed",
        "experiment `short-greeting`: variant `a`: weight 1 → 3",
        "experiment `short-greeting`: variant `b`: text changed",
        "experiment `short-greeting`: variant `c` added (weight 2)",
    ]


def test_a_new_first_variant_is_a_new_control() -> None:
    assert _changes(lambda d: d["experiments"][0]["variants"].reverse(), base=(_with_experiment,)) == [
        "experiment `short-greeting`: control `a` → `b`"
    ]

    def third_variant(data: dict[str, Any]) -> None:
        data["experiments"][0]["variants"].append({"id": "c", "text": "Hello."})

    def swap_last_two(data: dict[str, Any]) -> None:
        variants = data["experiments"][0]["variants"]
        variants[1], variants[2] = variants[2], variants[1]

    assert _changes(swap_last_two, base=(_with_experiment, third_variant)) == [
        "experiment `short-greeting`: variants reordered"
    ]


# --- the whole list --------------------------------------------------------------------------------


def test_lines_follow_the_flow_s_section_order() -> None:
    assert _changes(
        _with_experiment,
        _with_hours,
        _route("fast", slot="timeline", eq="immediate"),
        lambda d: d["handoff"].update(max_not_understood=4),
        lambda d: d["scoring"].update(qualified_at=60),
        lambda d: _slot(d, "need").update(question="What brings you here?"),
        lambda d: d["texts"].update(thanks="Cheers!"),
        lambda d: d.update(name="Inbound"),
    ) == [
        'name "B2B qualification" → "Inbound"',
        "text `thanks` changed",
        "question `need`: wording changed",
        "qualified at 70 → 60",
        "hand-off after 3 → 4 turns not understood",
        "route timeline = immediate → fast added",
        "business hours added: America/New_York, mon–thu 09:00–17:30, fri 09:00–16:00",
        "experiment `short-greeting` added: texts.greeting, 2 variants",
    ]


def test_long_strings_are_cut_short_but_otherwise_kept_as_written() -> None:
    long_name = "<b>Inbound</b> " + "x" * 80
    [line] = _changes(lambda d: d.update(name=long_name))
    assert line == f'name "B2B qualification" → "{long_name[:59]}…"'
