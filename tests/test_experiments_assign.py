"""Experiment assignment is deterministic and weighted; apply and promote put variant texts in the flow."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.experiments.assign import apply, assign, promote, text_at
from bot.flows import Flow, FlowError, parse_flow

DEFAULT = Path(__file__).resolve().parent.parent / "flows" / "default.yaml"
SHORT_GREETING = "Hey! Two minutes of questions and you're through to the team."
TEAM_QUESTION = "How big is your team?"
GREETING = {
    "id": "short-greeting",
    "target": "texts.greeting",
    "variants": [{"id": "a"}, {"id": "b", "text": SHORT_GREETING}],
}
TEAM = {
    "id": "team-question",
    "target": "slots.team_size.question",
    "metric": "completed",
    "variants": [{"id": "a"}, {"id": "b", "text": TEAM_QUESTION}],
}


def _flow(*experiments: dict[str, Any], **changes: Any) -> Flow:
    data: dict[str, Any] = yaml.safe_load(DEFAULT.read_text())
    data["experiments"] = copy.deepcopy(list(experiments))
    data.update(changes)
    return parse_flow(data)


def _weighted(*weights: int) -> dict[str, Any]:
    variants = [{"id": chr(ord("a") + i), "weight": w, "text": f"Hello {i}"} for i, w in enumerate(weights)]
    variants[0].pop("text")
    return {"id": "weighted", "target": "texts.greeting", "variants": variants}


# --- assign


def test_the_same_subject_gets_the_same_variant_every_time() -> None:
    flow = _flow(GREETING, TEAM)
    first = assign(flow, "visitor-42")
    assert set(first) == {"short-greeting", "team-question"}
    assert all(assign(flow, "visitor-42") == first for _ in range(5))


def test_a_new_flow_version_keeping_the_experiment_keeps_the_assignments() -> None:
    old = _flow(GREETING, TEAM)
    new = _flow(GREETING, version=2, name="B2B qualification, reworded")
    subjects = [f"+1415555{n:04d}" for n in range(200)]
    for subject in subjects:
        assert assign(new, subject)["short-greeting"] == assign(old, subject)["short-greeting"]


def test_assignment_follows_the_documented_hash() -> None:
    # The formula is a promise: changing it would move every running visitor to another variant.
    flow = _flow(_weighted(1, 3))
    for subject in ("lead-1", "ana@example.com", "+14155550100", "v_9f8e7d"):
        digest = hashlib.sha256(f"default:weighted:{subject}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        expected = "a" if u < 0.25 else "b"
        assert assign(flow, subject) == {"weighted": expected}


def test_weights_are_respected() -> None:
    flow = _flow(_weighted(1, 3))
    picks = [assign(flow, f"visitor-{n}")["weighted"] for n in range(10_000)]
    assert abs(picks.count("a") / len(picks) - 0.25) < 0.03


def test_experiments_of_one_flow_are_assigned_independently() -> None:
    flow = _flow(GREETING, TEAM)
    same = sum(len(set(assign(flow, f"visitor-{n}").values())) == 1 for n in range(2_000))  # both a or both b
    assert 0.45 < same / 2_000 < 0.55


def test_a_known_assignment_is_kept() -> None:
    flow = _flow(GREETING)
    subject = next(
        s for s in (f"visitor-{n}" for n in range(100)) if assign(flow, s)["short-greeting"] == "a"
    )
    assert assign(flow, subject, {"short-greeting": "b"}) == {"short-greeting": "b"}


def test_known_assignments_to_gone_experiments_or_variants_are_replaced() -> None:
    flow = _flow(GREETING)
    hashed = assign(flow, "visitor-1")
    assert assign(flow, "visitor-1", {"ended-test": "b"}) == hashed
    assert assign(flow, "visitor-1", {"short-greeting": "zz"}) == hashed


def test_a_weight_0_variant_is_never_assigned_and_a_known_assignment_to_it_is_rehashed() -> None:
    flow = _flow(_weighted(1, 0, 1))
    picks = {assign(flow, f"visitor-{n}")["weighted"] for n in range(2_000)}
    assert picks == {"a", "c"}
    for n in range(50):
        subject = f"visitor-{n}"
        assert assign(flow, subject, {"weighted": "b"}) == assign(flow, subject)


def test_a_flow_without_experiments_assigns_nothing() -> None:
    assert assign(_flow(), "visitor-1", {"short-greeting": "b"}) == {}


# --- apply


def test_apply_puts_the_variant_greeting_in_place() -> None:
    flow = _flow(GREETING)
    shown = apply(flow, {"short-greeting": "b"})
    assert shown.texts.greeting == SHORT_GREETING
    assert shown.texts.thanks == flow.texts.thanks and shown.slots == flow.slots
    assert flow.texts.greeting.startswith("Hi! I'm the leadbot assistant.")  # the original is untouched


def test_apply_puts_the_variant_slot_question_in_place() -> None:
    flow = _flow(TEAM)
    shown = apply(flow, {"team-question": "b"})
    assert shown.slot("team_size").question == TEAM_QUESTION
    assert shown.slot("team_size").reask == flow.slot("team_size").reask
    assert [s for s in shown.slots if s.name != "team_size"] == [
        s for s in flow.slots if s.name != "team_size"
    ]
    assert flow.slot("team_size").question == "How many people are on your team?"


def test_apply_fills_a_slot_text_the_flow_leaves_to_the_default() -> None:
    reask = {
        "id": "need-reask",
        "target": "slots.need.reask",
        "variants": [{"id": "a"}, {"id": "b", "text": "In a few words, what should we help with?"}],
    }
    flow = _flow(reask)
    assert flow.slot("need").reask is None
    assert apply(flow, {"need-reask": "b"}).slot("need").reask == "In a few words, what should we help with?"


def test_apply_handles_several_experiments_at_once() -> None:
    shown = apply(_flow(GREETING, TEAM), {"short-greeting": "b", "team-question": "b"})
    assert shown.texts.greeting == SHORT_GREETING
    assert shown.slot("team_size").question == TEAM_QUESTION


def test_apply_returns_the_same_flow_when_nothing_changes() -> None:
    flow = _flow(GREETING, TEAM)
    assert apply(flow, {}) is flow
    assert apply(flow, {"short-greeting": "a", "team-question": "a"}) is flow  # the controls
    assert apply(flow, {"ended-test": "b", "short-greeting": "zz"}) is flow  # unknown ids


# --- promote


def test_promote_writes_the_text_and_removes_the_experiment() -> None:
    # A routing rule written with `in` checks the round trip keeps aliased and unset fields right.
    routing = {
        "default_team": "sales",
        "rules": [{"when": {"slot": "timeline", "in": ["immediate", "short"]}, "team": "fast"}],
    }
    flow = _flow(GREETING, TEAM, routing=routing)
    promoted = promote(flow, "short-greeting", "b")
    assert isinstance(promoted, Flow)
    assert promoted.texts.greeting == SHORT_GREETING
    assert [e.id for e in promoted.experiments] == ["team-question"]
    assert promoted.routing == flow.routing and promoted.slots == flow.slots
    assert Flow.model_validate(promoted.model_dump(by_alias=True, exclude_unset=True)) == promoted


def test_promoting_the_control_keeps_the_text() -> None:
    flow = _flow(TEAM)
    promoted = promote(flow, "team-question", "a")
    assert promoted.experiments == ()
    assert promoted.slot("team_size").question == flow.slot("team_size").question
    assert promoted.model_dump() == flow.model_copy(update={"experiments": ()}).model_dump()


def test_promote_names_an_unknown_experiment_or_variant() -> None:
    flow = _flow(GREETING)
    with pytest.raises(KeyError, match="flow 'default' has no experiment 'nope'"):
        promote(flow, "nope", "b")
    with pytest.raises(KeyError, match="experiment 'short-greeting' has no variant 'c'"):
        promote(flow, "short-greeting", "c")


@pytest.mark.parametrize(
    ("target", "text", "why"),
    [
        ("slots.name.ack", "Hi {first_name}!", "the only placeholder an ack may use is"),
        ("texts.greeting", "   ", "write some text"),
    ],
)
def test_a_variant_text_its_target_would_refuse_is_refused(target: str, text: str, why: str) -> None:
    experiment = {"id": "x", "target": target, "variants": [{"id": "a"}, {"id": "b", "text": text}]}
    with pytest.raises(FlowError, match=rf"experiments\.0\.variants\.1\.text: {why}"):
        _flow(experiment)


# --- text_at


def test_text_at_reads_the_target() -> None:
    flow = _flow()
    assert text_at(flow, "texts.thanks") == "Thanks!"
    assert text_at(flow, "slots.team_size.question") == "How many people are on your team?"
    assert text_at(flow, "slots.need.reask") is None  # unset: the bot's default reask applies


@pytest.mark.parametrize("target", ["texts.nope", "slots.nope.question", "slots.need.label", "greeting"])
def test_text_at_refuses_a_target_with_no_text(target: str) -> None:
    with pytest.raises(KeyError):
        text_at(_flow(), target)
