"""extract(): reading one visitor message against a flow, with the real default flow."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.flows import Flow, load_flow, parse_flow
from bot.qualifier.extract import Extraction, Fact, extract

TODAY = date(2025, 1, 15)
FLOW = load_flow(Path(__file__).resolve().parent.parent / "flows" / "default.yaml")


def read(text: str, expecting: str | None = None, last: str | None = None, flow: Flow = FLOW) -> Extraction:
    return extract(text, flow, expecting=expecting, last_answered=last, today=TODAY)


def values(x: Extraction) -> dict[str, Any]:
    return {name: fact.value for name, fact in x.facts.items()}


# --------------------------------------------------------------- bare answers


@pytest.mark.parametrize(
    ("text", "expecting", "value"),
    [
        ("fifty", "team_size", 50),
        ("40", "team_size", 40),
        ("about 40", "team_size", 40),
        ("a dozen", "team_size", 12),
        ("just me", "team_size", 1),
        ("fifty", "budget_monthly", 50),
        ("5k", "budget_monthly", 5000),
        ("ten grand", "budget_monthly", 10_000),
        ("30k a year", "budget_monthly", 2500),
        ("ASAP", "timeline", "immediate"),
        ("Within 3 months", "timeline", "short"),
        ("Within 6 months", "timeline", "medium"),
        ("Later", "timeline", "long"),
        ("3 months", "timeline", "short"),
        ("March", "timeline", "short"),
        ("now", "timeline", "immediate"),
        ("2", "timeline", "short"),  # quick reply by position
        ("the first one", "timeline", "immediate"),
        ("Yes, it's my call", "decision_maker", True),
        ("No, someone else decides", "decision_maker", False),
        ("yes", "decision_maker", True),
        ("nope", "decision_maker", False),
        ("I'm the CTO", "decision_maker", True),
        ("my boss", "decision_maker", False),
        ("The CEO", "decision_maker", False),
        ("the second one", "decision_maker", False),
        ("Stark Industries", "company", "Stark Industries"),
        ("Sure! It's Stark Industries.", "company", "Stark Industries"),
        ("acme inc", "company", "acme inc"),
        ("Jane", "name", "Jane"),
        ("Sure! It's Jane Doe", "name", "Jane Doe"),
        ("jane doe", "name", "Jane Doe"),
        ("jane@acme.com", "email", "jane@acme.com"),
        ("Sure, it's Jane.Doe@Acme.com!", "email", "jane.doe@acme.com"),
        ("jane at acme dot com", "email", "jane@acme.com"),
        ("(415) 555-0100", "phone", "+14155550100"),
        ("it's 415.555.0100", "phone", "+14155550100"),
        ("We keep losing leads in spreadsheets", "need", "We keep losing leads in spreadsheets"),
    ],
)
def test_bare_answer_fills_the_expected_slot(text: str, expecting: str, value: Any) -> None:
    x = read(text, expecting)
    assert values(x) == {expecting: value}
    assert x.understood and not x.skip and not x.invalid


@pytest.mark.parametrize(
    ("text", "expecting"),
    [
        ("fifty", None),
        ("fifty", "company"),
        ("Stark Industries", None),
        ("Jane", None),
        ("yes", None),
        ("5k", None),
        ("March", None),
        ("now", "name"),
    ],
)
def test_bare_answer_goes_nowhere_else(text: str, expecting: str | None) -> None:
    x = read(text, expecting)
    assert not set(x.facts) - {expecting}
    if text in ("fifty", "5k") and expecting is None:
        assert x.facts == {}


def test_bare_number_goes_to_the_asked_slot_only() -> None:
    assert values(read("fifty", "team_size")) == {"team_size": 50}
    assert values(read("fifty", "budget_monthly")) == {"budget_monthly": 50}


def test_fact_carries_detail() -> None:
    fact = read("2-3k", "budget_monthly").facts["budget_monthly"]
    assert fact == Fact(
        2000, {"low": 2000, "high": 3000, "currency": "USD", "period": "month", "raw": "2-3k"}
    )


def test_team_range_detail() -> None:
    fact = read("10-20 people").facts["team_size"]
    assert (fact.value, fact.detail["low"], fact.detail["high"]) == (10, 10, 20)


# ---------------------------------------------------------- unprompted pickup


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [
        ("you can reach me at jane@acme.com", "email", "jane@acme.com"),
        ("call me on (415) 555-0100 tomorrow", "phone", "+14155550100"),
        ("my number is +44 20 7946 0958", "phone", "+442079460958"),
        ("we have a budget of $10k/month", "budget_monthly", 10_000),
        ("budget is around 2-3k", "budget_monthly", 2000),
        ("we can spend 60k a year", "budget_monthly", 5000),
        ("our budget is 5000", "budget_monthly", 5000),
        ("£500 a week", "budget_monthly", 2167),
        ("we have ten grand to spend", "budget_monthly", 10_000),
        ("we're 40 people", "team_size", 40),
        ("a team of fifty", "team_size", 50),
        ("we have 25 engineers", "team_size", 25),
        ("about 300 employees", "team_size", 300),
        ("we need 12 seats", "team_size", 12),
        ("our headcount is 80", "team_size", 80),
        ("we're a 15-person team", "team_size", 15),
        ("twenty-five developers", "team_size", 25),
        ("we need it ASAP", "timeline", "immediate"),
        ("we'd like to start next month", "timeline", "short"),
        ("hoping to launch in about 4 months", "timeline", "medium"),
        ("we're just browsing", "timeline", "long"),
        ("no rush on our side", "timeline", "long"),
        ("ideally by the end of the year", "timeline", "long"),
        ("it's my call", "decision_maker", True),
        ("my boss decides", "decision_maker", False),
        ("I'd have to check with my manager", "decision_maker", False),
        ("I'm the CTO, it's my call", "decision_maker", True),
        ("my name is Jane Doe", "name", "Jane Doe"),
        ("I'm Jane", "name", "Jane"),
        ("i'm jane", "name", "Jane"),
        ("this is Tom", "name", "Tom"),
        ("call me Jo", "name", "Jo"),
        ("Jane Doe here", "name", "Jane Doe"),
        ("I work at Acme Corp", "company", "Acme Corp"),
        ("I work for Stark Industries.", "company", "Stark Industries"),
        ("I'm with Globex", "company", "Globex"),
        ("our company is called Initech", "company", "Initech"),
        ("We're Hooli", "company", "Hooli"),
        ("I'm the VP of Sales at Hooli", "company", "Hooli"),
        ("we need a better CRM for our sales team", "need", "we need a better CRM for our sales team"),
        ("We're looking for a chatbot.", "need", "We're looking for a chatbot"),
        ("we want to stop churn", "need", "we want to stop churn"),
    ],
)
def test_unprompted_pickup(text: str, slot: str, value: Any) -> None:
    for expecting in (None, "need" if slot != "need" else "company"):
        x = read(text, expecting)
        assert x.facts[slot].value == value, (expecting, values(x))


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("I'm the CTO", "name"),
        ("I'm interested in your pricing", "name"),
        ("I'm looking for a CRM", "name"),
        ("this is urgent", "name"),
        ("I'm based in Berlin", "name"),
        ("this is Acme Corp", "name"),
        ("I'm Sales Manager at Acme", "name"),
        ("I'm from Berlin", "company"),
        ("I'm the founder", "decision_maker"),  # a role alone is not a decision
        ("we're growing fast", "company"),
        ("we're a small agency", "company"),
        ("we're 40 people", "company"),
        ("we have 3 offices", "team_size"),
        ("We've been using Excel for 2 years", "timeline"),
        ("we may switch tools", "timeline"),
        ("5 people in 3 months", "budget_monthly"),
        ("we need it next month", "need"),
        ("we need approval from the board", "need"),
        ("I need to talk to a human", "need"),
        ("we have 1500 employees", "phone"),
        ("budget 2500000 dollars", "phone"),
    ],
)
def test_no_pickup_without_a_clear_cue(text: str, absent: str) -> None:
    assert absent not in read(text).facts


def test_phone_digits_are_not_a_team_size_or_budget() -> None:
    x = read("4155550100", "team_size")
    assert values(x) == {"phone": "+14155550100"}
    assert x.invalid == {}


def test_team_size_is_not_a_budget() -> None:
    assert values(read("around 50 people", "budget_monthly")) == {"team_size": 50}


# ---------------------------------------------------------- several slots at once


def test_multi_slot_message_from_the_brief() -> None:
    x = read("I'm Jane from Acme, we're 40 people and need it next month")
    assert values(x) == {"name": "Jane", "company": "Acme", "team_size": 40, "timeline": "short"}
    assert x.facts["timeline"].detail == {"days": 45, "raw": "next month"}


@pytest.mark.parametrize(
    ("text", "expecting", "expected"),
    [
        (
            "Hi, this is Tom Baker with Initech. We have about 120 employees and a budget of $10k/month.",
            None,
            {"name": "Tom Baker", "company": "Initech", "team_size": 120, "budget_monthly": 10_000},
        ),
        (
            "we have about 15 people, budget maybe 2k per month, need it asap, I'm the owner so it's my call",
            "team_size",
            {"team_size": 15, "budget_monthly": 2000, "timeline": "immediate", "decision_maker": True},
        ),
        (
            "Jane Doe, jane@acme.com, (415) 555-0100",
            "name",
            {"name": "Jane Doe", "email": "jane@acme.com", "phone": "+14155550100"},
        ),
        ("Jane from Acme", "name", {"name": "Jane", "company": "Acme"}),
        ("Acme, I'm Jane", "company", {"company": "Acme", "name": "Jane"}),
        ("my name is jane doe and i work at acme", None, {"name": "Jane Doe", "company": "acme"}),
        ("I am Jane Doe, the CTO at Acme Corp", None, {"name": "Jane Doe", "company": "Acme Corp"}),
        ("Jane Doe here, CTO of Acme", None, {"name": "Jane Doe", "company": "Acme"}),
        ("5k, and we're 40 people", "budget_monthly", {"budget_monthly": 5000, "team_size": 40}),
        ("fifty, budget is 10k", "team_size", {"team_size": 50, "budget_monthly": 10_000}),
        (
            "We need a CRM. I'm Jane, my email is jane@acme.com",
            None,
            {"need": "We need a CRM", "name": "Jane", "email": "jane@acme.com"},
        ),
        (
            "we want to automate lead qualification, my email is jane@acme.com and I'm the CEO",
            None,
            {"need": "we want to automate lead qualification", "email": "jane@acme.com"},
        ),
        ("we spend $500 on tools per month for 20 users", None, {"budget_monthly": 500, "team_size": 20}),
        (
            "I'm the VP of Sales at Hooli, it's my call",
            "decision_maker",
            {"decision_maker": True, "company": "Hooli"},
        ),
    ],
)
def test_multi_slot(text: str, expecting: str | None, expected: dict[str, Any]) -> None:
    assert values(read(text, expecting)) == expected


def test_role_is_kept_in_the_detail() -> None:
    fact = read("I'm the CTO, it's my call").facts["decision_maker"]
    assert fact == Fact(True, {"role": "CTO"})


def test_shared_decision_detail() -> None:
    assert read("we decide as a team").facts["decision_maker"] == Fact(False, {"shared": True})


# ------------------------------------------------------------------------ skip


@pytest.mark.parametrize(
    ("text", "expecting"),
    [
        ("skip", "budget_monthly"),
        ("Skip!", "phone"),
        ("pass", "name"),
        ("next", "need"),
        ("next question", "team_size"),
        ("I'd rather not say", "budget_monthly"),
        ("rather not", "phone"),
        ("prefer not to say", "company"),
        ("no comment", "team_size"),
        ("none of your business", "company"),
        ("don't know", "team_size"),
        ("I don't know yet", "budget_monthly"),
        ("not sure", "timeline"),  # an unknown timeline stays unknown, it is not "long"
        ("not sure", "decision_maker"),
        ("no idea", "budget_monthly"),
        ("idk", "team_size"),
        ("n/a", "company"),
        ("no", "phone"),
        ("no thanks", "phone"),
        ("nope", "email"),
        ("I'd rather not", "email"),
    ],
)
def test_skip(text: str, expecting: str) -> None:
    x = read(text, expecting)
    assert x.skip and x.facts == {} and x.invalid == {}
    assert x.understood


@pytest.mark.parametrize(
    ("text", "expecting", "value"),
    [
        ("not sure, maybe 40", "team_size", 40),
        ("don't know, around 5k?", "budget_monthly", 5000),
        ("not sure, maybe next year", "timeline", "long"),
        ("no", "decision_maker", False),
        ("next week", "timeline", "immediate"),
    ],
)
def test_a_value_beats_a_hedge(text: str, expecting: str, value: Any) -> None:
    x = read(text, expecting)
    assert not x.skip
    assert x.facts[expecting].value == value


def test_skip_only_concerns_the_expected_slot() -> None:
    assert not read("skip").skip


# ----------------------------------------------------------------- corrections


@pytest.mark.parametrize(
    ("text", "expecting", "last", "slot", "value"),
    [
        ("sorry, my email is actually jane@acme.com", "phone", "email", "email", "jane@acme.com"),
        ("correction: my email is bob@acme.io", None, "email", "email", "bob@acme.io"),
        ("Actually, we're 60 people", "budget_monthly", "team_size", "team_size", 60),
        ("sorry, I meant 40", "budget_monthly", "team_size", "team_size", 40),
        ("I meant 5k", "name", "budget_monthly", "budget_monthly", 5000),
        ("wait, it's 50", "budget_monthly", "team_size", "team_size", 50),
        ("actually it's Acme Corp", "team_size", "company", "company", "Acme Corp"),
        ("oops, jane@acme.com", "phone", "email", "email", "jane@acme.com"),
        ("make that 45", None, "team_size", "team_size", 45),
        ("actually, it's my boss who decides", "email", "decision_maker", "decision_maker", False),
    ],
)
def test_correction(text: str, expecting: str | None, last: str, slot: str, value: Any) -> None:
    x = read(text, expecting, last)
    assert x.correction
    assert x.facts[slot].value == value
    assert set(x.facts) == {slot}


def test_correction_is_not_forced_into_a_free_text_slot() -> None:
    """'actually later' answers the timeline question; it is not a company called "later"."""
    x = read("actually later", "timeline", "company")
    assert values(x) == {"timeline": "long"}


def test_correction_goes_to_a_free_text_slot_when_the_question_does_not_take_it() -> None:
    assert values(read("I meant Acme Corp", "timeline", "company")) == {"company": "Acme Corp"}


def test_cueless_correction_needs_a_parse_for_the_last_slot() -> None:
    """'I meant Acme' cannot be a team size, so it answers the question asked instead."""
    x = read("I meant Acme", "company", "team_size")
    assert values(x) == {"company": "Acme"}
    assert x.correction


def test_sorry_alone_answers_the_question_asked() -> None:
    x = read("sorry, 5000", "budget_monthly", "team_size")
    assert values(x) == {"budget_monthly": 5000}


@pytest.mark.parametrize("text", ["sorry?", "sorry, I don't know", "actually no idea"])
def test_cue_without_a_value_is_no_correction(text: str) -> None:
    assert not read(text, "team_size", "company").correction


def test_plain_answer_is_no_correction() -> None:
    assert not read("40", "team_size", "company").correction


# --------------------------------------------------------------------- intents


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "STOPALL",
        "UNSUBSCRIBE",
        "unsubscribe me",
        "Unsubscribe me please",
        "CANCEL",
        "END",
        "QUIT",
        "stop messaging me",
        "Stop texting me!",
        "please stop emailing me",
        "opt out",
        "don't contact me again",
    ],
)
def test_opt_out(text: str) -> None:
    x = read(text, "team_size")
    assert x.intents == frozenset({"opt_out"})
    assert x.facts == {} and x.invalid == {} and not x.skip
    assert x.understood


@pytest.mark.parametrize(
    "text",
    [
        "we want to stop churn",
        "we cancelled our old CRM",
        "stop the madness of spreadsheets",
        "the end of the year",
        "I had to quit using Excel",
        "unsubscribing customers is our problem",
    ],
)
def test_not_opt_out(text: str) -> None:
    assert "opt_out" not in read(text).intents


@pytest.mark.parametrize("text", ["START", "start", "UNSTOP", "YES", "yes!"])
def test_opt_in(text: str) -> None:
    assert "opt_in" in read(text).intents


def test_start_is_only_a_keyword() -> None:
    assert read("START", "need").facts == {}


def test_yes_is_both_opt_in_and_an_answer() -> None:
    x = read("YES", "decision_maker")
    assert x.intents == frozenset({"opt_in"})
    assert values(x) == {"decision_maker": True}


@pytest.mark.parametrize("text", ["let's start with the pricing", "yes we need it next month"])
def test_not_opt_in(text: str) -> None:
    assert "opt_in" not in read(text).intents


@pytest.mark.parametrize("text", ["HELP", "help", "Help!"])
def test_help(text: str) -> None:
    x = read(text, "need")
    assert x.intents == frozenset({"help"}) and x.facts == {}


def test_help_inside_a_sentence_is_not_the_keyword() -> None:
    assert "help" not in read("help me choose a plan").intents


@pytest.mark.parametrize(
    "text",
    [
        "talk to a human",
        "I want to talk to a person",
        "can I talk to someone?",
        "let me speak to an agent",
        "can I speak with sales",
        "I'd like to chat with a rep",
        "connect me to a representative",
        "real person please",
        "is there a real human here?",
        "representative",
        "operator!",
        "Agent please",
        "get me a human",
        "I need to talk to someone from your sales team",
        "human",
    ],
)
def test_handoff(text: str) -> None:
    assert "handoff" in read(text).intents


@pytest.mark.parametrize(
    "text",
    [
        "I'm a sales representative",
        "we are a tour operator",
        "I don't want to talk to a human, just tell me the price",
        "our agents handle 200 tickets a day",
        "we need a human-friendly UI",
        "we want to talk to our customers more",
    ],
)
def test_not_handoff(text: str) -> None:
    assert "handoff" not in read(text).intents


def test_handoff_with_facts() -> None:
    x = read("I'm Jane from Acme, can I talk to a human?", "need")
    assert x.intents == frozenset({"handoff"})
    assert values(x) == {"name": "Jane", "company": "Acme"}


def test_an_asked_need_takes_the_whole_message() -> None:
    text = "We need to automate our lead follow-ups, ideally next month"
    x = read(text, "need")
    assert x.facts["need"].value == text
    assert x.facts["timeline"].value == "short"


def test_other_values_alone_are_not_a_need() -> None:
    x = read("Hi, I'm Jane from Acme. We're 40 people and want to start next week, jane@acme.io", "need")
    assert values(x) == {"name": "Jane", "company": "Acme", "team_size": 40, "timeline": "immediate",
                         "email": "jane@acme.io"}  # fmt: skip


def test_just_looking_is_a_need_and_a_timeline() -> None:
    x = read("Just looking around", "need")
    assert values(x) == {"need": "Just looking around", "timeline": "long"}


def test_handoff_is_not_a_need() -> None:
    x = read("I need to talk to a human", "need")
    assert x.facts == {} and x.invalid == {} and x.understood


# --------------------------------------------------------------------- invalid


@pytest.mark.parametrize(
    ("text", "expecting", "reason"),
    [
        ("jane@", "email", "email_no_domain"),
        ("jane@acme", "email", "email_no_domain"),
        ("it's jane@acme, thanks", "email", "email_no_domain"),
        ("jane@@acme.com", "email", "email_invalid"),
        ("Jane", "email", "email_missing"),
        ("my email? why?", "email", "email_missing"),
        ("555-0100", "phone", "phone_invalid"),
        ("12345", "phone", "phone_invalid"),
        ("call me maybe", "phone", "phone_missing"),
        ("lots", "team_size", "not_a_number"),
        ("depends", "budget_monthly", "not_a_number"),
        ("0", "team_size", "number_out_of_range"),
        ("-5", "team_size", "number_out_of_range"),
        ("20000000", "team_size", "number_out_of_range"),
        ("Jane2", "name", "name_invalid"),
    ],
)
def test_invalid(text: str, expecting: str, reason: str) -> None:
    x = read(text, expecting)
    assert x.invalid == {expecting: reason}
    assert expecting not in x.facts


def test_unprompted_broken_email_is_reported() -> None:
    x = read("I'm Jane, jane@acme", "name")
    assert x.invalid == {"email": "email_no_domain"}
    assert values(x) == {"name": "Jane"}


def test_answering_another_question_is_not_invalid() -> None:
    x = read("we're 40 people", "email")
    assert values(x) == {"team_size": 40}
    assert x.invalid == {}


def test_skip_is_not_invalid() -> None:
    x = read("I'd rather not say", "email")
    assert x.skip and x.invalid == {}


# ------------------------------------------------------------------ understood


@pytest.mark.parametrize(
    ("text", "expecting", "understood"),
    [
        ("hello", None, False),
        ("ok", "company", False),
        ("What does it cost?", None, False),
        ("I'm interested in your product", "name", False),
        ("hmm", "timeline", False),
        ("what do you offer?", "need", False),
        ("40", "team_size", True),
        ("skip", "company", True),
        ("STOP", None, True),
        ("talk to a human", None, True),
    ],
)
def test_understood(text: str, expecting: str | None, understood: bool) -> None:
    assert read(text, expecting).understood is understood


def test_empty_message() -> None:
    x = read("   ", "team_size")
    assert not x.understood and x.invalid == {}


# ------------------------------------------------------------- other flows


def _flow(slots: list[dict[str, Any]], **extra: Any) -> Flow:
    return parse_flow({"id": "t", "name": "t", "texts": {"greeting": "hi"}, "slots": slots, **extra})


TWO_COUNTS = _flow(
    [
        {"name": "seats", "type": "integer", "question": "How many seats?"},
        {"name": "sites", "type": "integer", "question": "How many sites?"},
        {"name": "email", "type": "email", "question": "Email?"},
    ]
)


def test_a_type_used_twice_is_only_filled_when_asked() -> None:
    assert values(read("we're 40 people", None, flow=TWO_COUNTS)) == {}
    assert values(read("we're 40 people", "sites", flow=TWO_COUNTS)) == {"sites": 40}
    assert values(read("40 people, jane@acme.com", "seats", flow=TWO_COUNTS)) == {
        "seats": 40,
        "email": "jane@acme.com",
    }


def test_region_and_currency_come_from_the_flow() -> None:
    flow = _flow(
        [
            {"name": "budget", "type": "money", "question": "Budget?"},
            {"name": "phone", "type": "phone", "question": "Phone?"},
        ],
        region="GB",
        currency="EUR",
    )
    x = read("budget is 3000, call 020 7946 0958", None, flow=flow)
    assert values(x) == {"budget": 3000, "phone": "+442079460958"}
    assert x.facts["budget"].detail["currency"] == "EUR"
    assert x.facts["phone"].detail["domestic"] is True


def test_boolean_and_choice_slots() -> None:
    flow = _flow(
        [
            {"name": "has_crm", "type": "boolean", "question": "Do you use a CRM today?"},
            {
                "name": "plan",
                "type": "choice",
                "question": "Which plan?",
                "choices": ["Starter", "Growth", "Scale"],
            },
        ]
    )
    assert values(read("nope", "has_crm", flow=flow)) == {"has_crm": False}
    assert values(read("yes we do", "has_crm", flow=flow)) == {"has_crm": True}
    assert values(read("growth", "plan", flow=flow)) == {"plan": "Growth"}
    assert values(read("the last one", "plan", flow=flow)) == {"plan": "Scale"}
    assert values(read("yes", None, flow=flow)) == {}  # yes/no only answers the question asked


def test_today_is_injectable() -> None:
    late = extract("by the end of the year", FLOW, expecting="timeline", today=date(2025, 12, 1))
    early = extract("by the end of the year", FLOW, expecting="timeline", today=date(2025, 1, 2))
    assert (late.facts["timeline"].value, early.facts["timeline"].value) == ("immediate", "long")


def test_unknown_expecting_is_ignored() -> None:
    assert values(read("fifty", "no_such_slot")) == {}
