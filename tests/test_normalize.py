"""Slot normalisers: one parser per slot type, and their display form."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.flows import Flow, Slot, load_flow, parse_flow
from bot.qualifier import words as W
from bot.qualifier.normalize import (
    Parsed,
    Rejected,
    format_value,
    match_choice,
    normalize_boolean,
    normalize_company,
    normalize_decision_maker,
    normalize_email,
    normalize_integer,
    normalize_money,
    normalize_person_name,
    normalize_phone,
    normalize_text,
    normalize_timeline,
    normalize_value,
    timeline_bucket,
)

TODAY = date(2025, 1, 15)  # a Wednesday in mid-January
FLOW = load_flow(Path(__file__).resolve().parent.parent / "flows" / "default.yaml")


def parsed(result: Any) -> Parsed:
    assert isinstance(result, Parsed), result
    return result


# ------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fifty", 50),
        ("twenty-five", 25),
        ("twenty five", 25),
        ("a dozen", 12),
        ("two dozen", 24),
        ("a couple", 2),
        ("a hundred and twenty", 120),
        ("two and a half thousand", 2500),
        ("half a million", 500_000),
        ("a million", 1_000_000),
        ("one and a half million", 1_500_000),
        ("five hundred thousand", 500_000),
        ("two million five hundred thousand", 2_500_000),
        ("a couple hundred", 200),
        ("2,500", 2500),
        ("1 200", 1200),
        ("1.500", 1500),
        ("1.234,56", 1234.56),
        ("2.5", 2.5),
        ("2,5", 2.5),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert W.parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "lots", "a", "many hundreds"])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert W.parse_number(text) is None


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("text", "value", "high", "currency", "period"),
    [
        ("$2,500", 2500, 2500, "USD", "month"),
        ("2.5k", 2500, 2500, "USD", "month"),
        ("2.5K", 2500, 2500, "USD", "month"),
        ("1 200 dollars", 1200, 1200, "USD", "month"),
        ("fifty", 50, 50, "USD", "month"),
        ("ten grand", 10_000, 10_000, "USD", "month"),
        ("two and a half thousand", 2500, 2500, "USD", "month"),
        ("a million", 1_000_000, 1_000_000, "USD", "month"),
        ("5 million a year", 416_667, 416_667, "USD", "year"),
        ("$2.5M", 2_500_000, 2_500_000, "USD", "month"),
        ("3 mil", 3_000_000, 3_000_000, "USD", "month"),
        ("60k a year", 5000, 5000, "USD", "year"),
        ("60k per year", 5000, 5000, "USD", "year"),
        ("60k annually", 5000, 5000, "USD", "year"),
        ("60k yearly", 5000, 5000, "USD", "year"),
        ("60k p.a.", 5000, 5000, "USD", "year"),
        ("60k per annum", 5000, 5000, "USD", "year"),
        ("$60k/yr", 5000, 5000, "USD", "year"),
        ("our annual budget is 120k", 10_000, 10_000, "USD", "year"),
        ("9k per quarter", 3000, 3000, "USD", "quarter"),
        ("€500 per week", 2167, 2167, "EUR", "week"),
        ("$3k/mo", 3000, 3000, "USD", "month"),
        ("3000 EUR monthly", 3000, 3000, "EUR", "month"),
        ("2-3k", 2000, 3000, "USD", "month"),
        ("$2k–$3k", 2000, 3000, "USD", "month"),
        ("$2k-$3k per month", 2000, 3000, "USD", "month"),
        ("between 200 and 250", 200, 250, "USD", "month"),
        ("2 to 3 thousand", 2000, 3000, "USD", "month"),
        ("two to three thousand", 2000, 3000, "USD", "month"),
        ("from 1000 up to 1500", 1000, 1500, "USD", "month"),
        ("500 to 3k", 500, 3000, "USD", "month"),
        ("24-36k a year", 2000, 3000, "USD", "year"),
        ("£30k per annum", 2500, 2500, "GBP", "year"),
        ("20 quid", 20, 20, "GBP", "month"),
        ("USD 4000", 4000, 4000, "USD", "month"),
        ("4000 euros", 4000, 4000, "EUR", "month"),
        ("500€", 500, 500, "EUR", "month"),
        ("€1.500", 1500, 1500, "EUR", "month"),
        ("1,000 pounds", 1000, 1000, "GBP", "month"),
        ("5000 CHF", 5000, 5000, "CHF", "month"),
        ("a couple hundred bucks", 200, 200, "USD", "month"),
        ("no budget", 0, 0, "USD", "month"),
        ("zero", 0, 0, "USD", "month"),
    ],
)
def test_money(text: str, value: int, high: int, currency: str, period: str) -> None:
    result = parsed(normalize_money(text, "USD"))
    assert result.value == value
    assert result.detail["low"] == value
    assert result.detail["high"] == high
    assert result.detail["currency"] == currency
    assert result.detail["period"] == period
    assert result.detail["raw"]


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("up to 5k", "at_most"),
        ("under $3,000", "at_most"),
        ("no more than 2000", "at_most"),
        ("at least 10k", "at_least"),
        ("over 5k", "at_least"),
        ("5k+", "at_least"),
        ("about 3k", "approx"),
        ("~3k", "approx"),
        ("roughly 3k", "approx"),
    ],
)
def test_money_qualifier_keeps_the_number(text: str, bound: str) -> None:
    """'up to X' and 'at least X' keep X as both bounds and say which bound it was."""
    result = parsed(normalize_money(text, "USD"))
    assert result.detail["low"] == result.detail["high"] == result.value
    assert result.value in (5000, 3000, 2000, 10_000)
    assert result.detail["bound"] == bound


def test_money_without_currency_uses_the_flow_currency() -> None:
    assert parsed(normalize_money("2000", "EUR")).detail["currency"] == "EUR"


@pytest.mark.parametrize(("flow_currency", "expected"), [("CAD", "CAD"), ("AUD", "AUD"), ("EUR", "USD")])
def test_dollar_sign_follows_a_dollar_flow(flow_currency: str, expected: str) -> None:
    assert parsed(normalize_money("$2000", flow_currency)).detail["currency"] == expected


def test_explicit_us_dollars_stay_usd_in_a_cad_flow() -> None:
    assert parsed(normalize_money("US$2000", "CAD")).detail["currency"] == "USD"


@pytest.mark.parametrize("raw", [5000, 5000.4, "5000"])
def test_money_accepts_proposed_numbers(raw: Any) -> None:
    result = parsed(normalize_money(raw, "USD"))
    assert result.value == 5000
    assert result.detail == {"low": 5000, "high": 5000, "currency": "USD", "period": "month", "raw": str(raw)}


@pytest.mark.parametrize("text", ["lots", "not much", "depends", ""])
def test_money_without_an_amount(text: str) -> None:
    assert normalize_money(text, "USD") is None


@pytest.mark.parametrize("raw", [-5, "5 billion per month", 10**12])
def test_money_out_of_range(raw: Any) -> None:
    assert normalize_money(raw, "USD") == Rejected("number_out_of_range")


# ------------------------------------------------------------------------- integer


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("40", 40),
        ("fifty", 50),
        ("twenty-five", 25),
        ("a dozen", 12),
        ("a couple", 2),
        ("a hundred and twenty", 120),
        ("about 40", 40),
        ("around 40", 40),
        ("~40", 40),
        ("40ish", 40),
        ("40 or so", 40),
        ("50+", 50),
        ("1,200", 1200),
        ("2k", 2000),
        ("we're 40 people", 40),
        ("about forty engineers", 40),
        ("just me", 1),
        ("it's just me", 1),
        ("solo", 1),
        ("only me", 1),
        ("myself", 1),
        ("I work alone", 1),
    ],
)
def test_integer(text: str, value: int) -> None:
    assert parsed(normalize_integer(text)).value == value


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("10-20", 10, 20), ("10 to 20", 10, 20), ("between 10 and 20", 10, 20), ("1-2k", 1000, 2000)],
)
def test_integer_range_keeps_the_low_end(text: str, low: int, high: int) -> None:
    result = parsed(normalize_integer(text))
    assert result.value == low
    assert (result.detail["low"], result.detail["high"]) == (low, high)


@pytest.mark.parametrize("raw", ["0", "-5", "zero", "20000000", "20 million", 0, -3, 10**8])
def test_integer_out_of_range(raw: Any) -> None:
    assert normalize_integer(raw) == Rejected("number_out_of_range")


@pytest.mark.parametrize("text", ["lots", "a few", "many", ""])
def test_integer_without_a_number(text: str) -> None:
    assert normalize_integer(text) is None


# ------------------------------------------------------------------------ timeline


@pytest.mark.parametrize(
    ("text", "bucket", "days"),
    [
        ("ASAP", "immediate", 0),
        ("as soon as possible", "immediate", 0),
        ("right away", "immediate", 0),
        ("immediately", "immediate", 0),
        ("now", "immediate", 0),
        ("right now", "immediate", 0),
        ("yesterday", "immediate", 0),
        ("we needed it yesterday", "immediate", 0),
        ("today", "immediate", 0),
        ("tomorrow", "immediate", 1),
        ("this week", "immediate", 7),
        ("next week", "immediate", 14),
        ("in two weeks", "immediate", 14),
        ("in 2 weeks", "immediate", 14),
        ("in a couple of weeks", "immediate", 14),
        ("in a couple weeks", "immediate", 14),
        ("in several months", "medium", 120),
        ("this month", "immediate", 16),
        ("by the end of the month", "immediate", 16),
        ("next month", "short", 45),
        ("in a month", "immediate", 30),
        ("within 6 weeks", "short", 42),
        ("in a few months", "short", 90),
        ("in about 4 months", "medium", 120),
        ("in a quarter", "short", 90),
        ("next quarter", "short", 90),
        ("in 2 quarters", "medium", 180),
        ("in two quarters", "medium", 180),
        ("3-6 months", "short", 90),
        ("half a year", "medium", 180),
        ("6 months from now", "medium", 180),
        ("within the next 30 days", "immediate", 30),
        ("over the next 8 months", "long", 240),
        ("in a year", "long", 365),
        ("this year", "long", 350),
        ("by the end of the year", "long", 350),
        ("end of year", "long", 350),
        ("in March", "short", 45),
        ("by June", "medium", 137),
        ("mid-March", "short", 59),
        ("by the end of February", "short", 44),
        ("March 20th", "short", 64),
        ("in January", "immediate", 0),
        ("in December", "long", 320),
        ("in 2026", "long", 351),
        ("Q2", "short", 76),
        ("end of Q1", "short", 75),
        ("this summer", "medium", 157),
        ("maybe next year", "long", 365),
        ("next year", "long", 365),
        ("no rush", "long", 365),
        ("no hurry", "long", 365),
        ("not urgent", "long", 365),
        ("just researching", "long", 365),
        ("just browsing", "long", 365),
        ("just looking", "long", 365),
        ("we're exploring options", "long", 365),
        ("not right now", "long", 365),
        ("eventually", "long", 365),
        ("later", "long", 365),
        ("soon", "immediate", 30),
    ],
)
def test_timeline(text: str, bucket: str, days: int) -> None:
    result = parsed(normalize_timeline(text, TODAY))
    assert (result.value, result.detail["days"]) == (bucket, days)
    assert result.detail["raw"]


@pytest.mark.parametrize(
    ("label", "bucket"),
    [("ASAP", "immediate"), ("Within 3 months", "short"), ("Within 6 months", "medium"), ("Later", "long")],
)
def test_timeline_flow_labels(label: str, bucket: str) -> None:
    assert parsed(normalize_timeline(label, TODAY)).value == bucket


@pytest.mark.parametrize(
    ("text", "today", "bucket"),
    [
        ("by the end of the year", date(2025, 11, 20), "short"),
        ("by the end of the year", date(2025, 12, 10), "immediate"),
        ("this year", date(2025, 7, 1), "long"),
        ("in March", date(2025, 2, 20), "immediate"),
        ("in March", date(2025, 4, 1), "long"),  # next March
        ("by June", date(2025, 6, 10), "immediate"),
        ("by June", date(2025, 4, 15), "short"),
        ("next year", date(2025, 12, 20), "long"),  # "next year" is the long horizon even in December
    ],
)
def test_timeline_is_relative_to_today(text: str, today: date, bucket: str) -> None:
    assert parsed(normalize_timeline(text, today)).value == bucket


@pytest.mark.parametrize("bucket", ["immediate", "short", "medium", "long"])
def test_timeline_accepts_a_bucket(bucket: str) -> None:
    assert parsed(normalize_timeline(bucket, TODAY)).value == bucket


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "immediate"),
        (30, "immediate"),
        (31, "short"),
        (90, "short"),
        (91, "medium"),
        (180, "medium"),
        (181, "long"),
    ],
)
def test_timeline_bucket_bounds(days: int, bucket: str) -> None:
    assert timeline_bucket(days) == bucket


@pytest.mark.parametrize("text", ["we may need it", "2 years ago", "pizza", "we have used it for 6 months"])
def test_timeline_false_positives(text: str) -> None:
    result = normalize_timeline(text, TODAY)
    assert result is None or parsed(result).detail["raw"] not in ("may", "2 years", "6 months")


# ------------------------------------------------------------------ decision maker


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yep",
        "yeah",
        "I am",
        "that's me",
        "me",
        "it's my call",
        "It's my decision",
        "I decide",
        "I make the final decision",
        "I sign off",
        "I have the budget",
        "I own the budget",
        "I'm the decision maker",
        "no one else",
        "Yes, it's my call",
        "I'm the CTO, it's my call",
    ],
)
def test_decision_maker_yes(text: str) -> None:
    assert parsed(normalize_decision_maker(text)).value is True


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("I'm the CTO", "CTO"),
        ("I'm the CEO", "CEO"),
        ("I am the founder", "founder"),
        ("I'm the owner", "owner"),
        ("I'm the VP of Sales", "VP of Sales"),
        ("I'm head of marketing", "head of marketing"),
        ("I'm the marketing director", "marketing director"),
        ("CTO here", "CTO"),
    ],
)
def test_decision_maker_role(text: str, role: str) -> None:
    result = parsed(normalize_decision_maker(text))
    assert result.value is True
    assert result.detail["role"] == role


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "nope",
        "not me",
        "my boss decides",
        "my manager",
        "My manager has the final say",
        "I need approval",
        "I'd need sign-off from finance",
        "the board decides",
        "I'd have to check with my CFO",
        "I need to run it by my boss",
        "someone else",
        "not my call",
        "I don't have the budget",
        "I'm not the decision maker",
        "It's up to my manager",
        "No, someone else decides",
        "I'm the CEO but the board decides",
        "yes, but I need approval from my boss",
    ],
)
def test_decision_maker_no(text: str) -> None:
    result = parsed(normalize_decision_maker(text))
    assert result.value is False
    assert "shared" not in result.detail


@pytest.mark.parametrize(
    "text",
    [
        "we decide as a team",
        "it's a team decision",
        "a committee decides",
        "me and my co-founder",
        "we all decide",
    ],
)
def test_decision_maker_shared(text: str) -> None:
    result = parsed(normalize_decision_maker(text))
    assert result.value is False
    assert result.detail["shared"] is True


@pytest.mark.parametrize("raw", [True, False])
def test_decision_maker_accepts_booleans(raw: bool) -> None:
    assert normalize_decision_maker(raw) == Parsed(raw, {})


@pytest.mark.parametrize("text", ["I'm interested", "maybe", "what do you mean?"])
def test_decision_maker_unknown(text: str) -> None:
    assert normalize_decision_maker(text) is None


# ------------------------------------------------------------------------- boolean


@pytest.mark.parametrize(
    ("text", "value"),
    [("yes", True), ("Yep!", True), ("sure", True), ("of course", True), ("y", True), ("we do", True),
     ("no", False), ("Nope", False), ("not really", False), ("n", False), ("we don't", False)],
)  # fmt: skip
def test_boolean(text: str, value: bool) -> None:
    assert normalize_boolean(text) == Parsed(value, {})


@pytest.mark.parametrize("text", ["maybe", "dunno", "nothing"])
def test_boolean_unknown(text: str) -> None:
    assert normalize_boolean(text) is None


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("jane@acme.com", "jane@acme.com"),
        ("Jane.Doe@ACME.com", "jane.doe@acme.com"),
        ("  jane+leads@acme.co.uk. ", "jane+leads@acme.co.uk"),
        ("mailto:bob@example.org", "bob@example.org"),
        ("<bob@acme.io>", "bob@acme.io"),
    ],
)
def test_email_valid(text: str, value: str) -> None:
    assert normalize_email(text) == Parsed(value, {})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("jane@", "email_no_domain"),
        ("jane@acme", "email_no_domain"),
        ("jane@acme.", "email_no_domain"),
        ("jane@@acme.com", "email_invalid"),
        ("jane@acme..com", "email_invalid"),
        ("@acme.com", "email_invalid"),
        ("jane@-acme.com", "email_invalid"),
    ],
)
def test_email_invalid(text: str, reason: str) -> None:
    assert normalize_email(text) == Rejected(reason)


def test_email_needs_an_at_sign() -> None:
    assert normalize_email("jane.acme.com") is None


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("text", "e164", "national", "region"),
    [
        ("(415) 555-0100", "+14155550100", "(415) 555-0100", "US"),
        ("415.555.0100", "+14155550100", "(415) 555-0100", "US"),
        ("415-555-0100", "+14155550100", "(415) 555-0100", "US"),
        ("4155550100", "+14155550100", "(415) 555-0100", "US"),
        ("+1 212 555 0199", "+12125550199", "(212) 555-0199", "US"),
        ("+44 20 7946 0958", "+442079460958", "020 7946 0958", "GB"),
        ("0044 20 7946 0958", "+442079460958", "020 7946 0958", "GB"),
        ("+49 30 901820", "+4930901820", "030 901820", "DE"),
    ],
)
def test_phone_valid(text: str, e164: str, national: str, region: str) -> None:
    result = parsed(normalize_phone(text, "US"))
    assert result.value == e164
    assert result.detail["national"] == national
    assert result.detail["region"] == region
    assert result.detail["domestic"] is (region == "US")


def test_phone_uses_the_default_region() -> None:
    result = parsed(normalize_phone("020 7946 0958", "GB"))
    assert result.value == "+442079460958"
    assert result.detail["domestic"] is True


@pytest.mark.parametrize("text", ["555-0100", "12345", "123", "000 000 0000"])
def test_phone_invalid(text: str) -> None:
    assert normalize_phone(text, "US") == Rejected("phone_invalid")


def test_phone_without_digits() -> None:
    assert normalize_phone("call me maybe", "US") is None


# ---------------------------------------------------------------- names, companies


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Jane", "Jane"),
        ("jane", "Jane"),
        ("Jane Doe", "Jane Doe"),
        ("jane doe", "Jane Doe"),
        ("Sure! It's Jane Doe", "Jane Doe"),
        ("my name is jane doe", "Jane Doe"),
        ("My name is Jane.", "Jane"),
        ("I'm Jane", "Jane"),
        ("it's Jane, thanks", "Jane"),
        ("call me Jo", "Jo"),
        ("Jean-Luc Picard", "Jean-Luc Picard"),
        ("o'brien", "O'Brien"),
        ("Mary-Jane van der Berg", "Mary-Jane van der Berg"),
        ("McDonald", "McDonald"),
        ("Dr. Jane Doe", "Dr. Jane Doe"),
        ("José Álvarez", "José Álvarez"),
        ("Jane from Acme", "Jane"),
    ],
)
def test_person_name(text: str, value: str) -> None:
    assert normalize_person_name(text) == Parsed(value, {})


@pytest.mark.parametrize("text", ["Jane2", "jane@acme.com", "R2D2", "x" * 81])
def test_person_name_rejects_digits_at_and_length(text: str) -> None:
    assert normalize_person_name(text) == Rejected("name_invalid")


@pytest.mark.parametrize(
    "text", ["I'm the CTO", "I'm interested", "I'm looking for a CRM", "why do you need it?", "skip", ""]
)
def test_person_name_not_a_name(text: str) -> None:
    assert normalize_person_name(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Stark Industries", "Stark Industries"),
        ("Sure! It's Stark Industries.", "Stark Industries"),
        ("I work at Acme Corp", "Acme Corp"),
        ("I work for Initech", "Initech"),
        ("I'm with Globex", "Globex"),
        ("our company is Hooli", "Hooli"),
        ("We're Acme Inc.", "Acme Inc."),
        ("Acme, Inc.", "Acme, Inc."),
        ("Acme GmbH", "Acme GmbH"),
        ("Acme Inc. We have 40 people", "Acme Inc."),
        ("Procter & Gamble", "Procter & Gamble"),
        ("Bank of America", "Bank of America"),
        ("The Home Depot", "The Home Depot"),
        ("acme.io", "acme.io"),
        ("3M", "3M"),
        ("self-employed", "Self-employed"),
        ("I'm a freelancer", "Self-employed"),
    ],
)
def test_company(text: str, value: str) -> None:
    assert normalize_company(text) == Parsed(value, {})


def test_company_too_long() -> None:
    assert normalize_company("Acme " + "x" * 130) == Rejected("company_invalid")


@pytest.mark.parametrize("text", ["a small agency doing web design", "why?", "", "!!!"])
def test_company_not_a_name(text: str) -> None:
    assert normalize_company(text) is None


# ---------------------------------------------------------------------------- text


def test_text_is_trimmed() -> None:
    assert normalize_text("  we need   a CRM \n") == Parsed("we need a CRM", {})


def test_text_is_capped_at_500_characters_on_a_word() -> None:
    value = parsed(normalize_text("word " * 200)).value
    assert len(value) <= 500 and value.endswith("word…")


@pytest.mark.parametrize("text", ["", "   ", "!!!", "ok", "thanks"])
def test_text_without_content(text: str) -> None:
    assert normalize_text(text) is None


# -------------------------------------------------------------------------- choice

CHOICES = ("Starter", "Growth plan", "Enterprise")


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Starter", 0),
        ("starter", 0),
        ("growth", 1),
        ("Growth plan!", 1),
        ("ent", 2),
        ("the first one", 0),
        ("2", 1),
        ("option 3", 2),
        ("the last one", 2),
        ("second", 1),
        ("I'd go with enterprise", 2),
    ],
)
def test_choice(text: str, index: int) -> None:
    assert match_choice(text, CHOICES) == index


@pytest.mark.parametrize("text", ["4", "something else", "", "premium"])
def test_choice_no_match(text: str) -> None:
    assert match_choice(text, CHOICES) is None


def test_choice_ambiguous_prefix() -> None:
    assert match_choice("gr", ("Green", "Grey")) is None


# -------------------------------------------------------- dispatch (LLM proposals)


@pytest.mark.parametrize(
    ("slot", "raw", "value"),
    [
        ("budget_monthly", 4000, 4000),
        ("budget_monthly", "30k a year", 2500),
        ("team_size", 12, 12),
        ("team_size", "a dozen", 12),
        ("timeline", "short", "short"),
        ("timeline", "2", "short"),  # quick reply by position
        ("timeline", "the first one", "immediate"),
        ("decision_maker", True, True),
        ("decision_maker", "the second one", False),
        ("email", "JANE@Acme.com", "jane@acme.com"),
        ("phone", "415 555 0100", "+14155550100"),
        ("name", "jane doe", "Jane Doe"),
        ("company", "Acme Corp.", "Acme Corp."),
        ("need", "  better lead routing ", "better lead routing"),
    ],
)
def test_normalize_value(slot: str, raw: Any, value: Any) -> None:
    assert parsed(normalize_value(FLOW.slot(slot), raw, FLOW, TODAY)).value == value


def _flow(slots: list[dict[str, Any]], **extra: Any) -> Flow:
    return parse_flow({"id": "t", "name": "t", "texts": {"greeting": "hi"}, "slots": slots, **extra})


def test_normalize_value_boolean_and_choice() -> None:
    flow = _flow(
        [
            {"name": "has_crm", "type": "boolean", "question": "Do you use a CRM?"},
            {"name": "plan", "type": "choice", "question": "Which plan?", "choices": list(CHOICES)},
        ]
    )
    assert normalize_value(flow.slot("has_crm"), "nope", flow) == Parsed(False, {})
    assert normalize_value(flow.slot("plan"), "growth", flow) == Parsed("Growth plan", {})


# ------------------------------------------------------------------------- display


def _slot(type_: str, **extra: Any) -> Slot:
    return Slot(name="s", type=type_, question="?", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("type_", "value", "detail", "shown"),
    [
        (
            "money",
            2000,
            {"low": 2000, "high": 3000, "currency": "USD", "period": "month"},
            "$2,000–$3,000 per month",
        ),
        ("money", 5000, {"low": 5000, "high": 5000, "currency": "USD", "period": "year"}, "$5,000 per month"),
        ("money", 2000, {"low": 2000, "high": 2000, "currency": "EUR"}, "€2,000 per month"),
        ("money", 2000, {"low": 2000, "high": 2000, "currency": "GBP"}, "£2,000 per month"),
        ("money", 2000, {"low": 2000, "high": 2000, "currency": "CHF"}, "CHF 2,000 per month"),
        (
            "money",
            5000,
            {"low": 5000, "high": 5000, "currency": "USD", "bound": "at_most"},
            "up to $5,000 per month",
        ),
        (
            "money",
            5000,
            {"low": 5000, "high": 5000, "currency": "USD", "bound": "at_least"},
            "$5,000+ per month",
        ),
        ("integer", 40, {}, "40"),
        ("integer", 1200, {}, "1,200"),
        ("integer", 10, {"low": 10, "high": 20}, "10–20"),
        ("timeline", "immediate", {"days": 3}, "within a month"),
        ("timeline", "short", {}, "within 3 months"),
        ("timeline", "medium", {}, "within 6 months"),
        ("timeline", "long", {}, "in more than 6 months"),
        ("decision_maker", True, {}, "yes"),
        ("decision_maker", False, {}, "no"),
        ("decision_maker", False, {"shared": True}, "no (shared decision)"),
        ("boolean", True, {}, "yes"),
        ("phone", "+14155550100", {"national": "(415) 555-0100", "domestic": True}, "(415) 555-0100"),
        (
            "phone",
            "+442079460958",
            {"national": "020 7946 0958", "international": "+44 20 7946 0958", "domestic": False},
            "+44 20 7946 0958",
        ),
        ("phone", "+14155550100", {}, "+14155550100"),
        ("email", "jane@acme.com", {}, "jane@acme.com"),
        ("company", "Acme", {}, "Acme"),
        ("person_name", "Jane Doe", {}, "Jane Doe"),
        ("text", "a CRM", {}, "a CRM"),
    ],
)
def test_format_value(type_: str, value: Any, detail: dict[str, Any], shown: str) -> None:
    assert format_value(_slot(type_), value, detail) == shown


def test_format_value_of_what_the_normalisers_produce() -> None:
    money = parsed(normalize_money("2-3k", "USD"))
    assert format_value(FLOW.slot("budget_monthly"), money.value, money.detail) == "$2,000–$3,000 per month"
    phone = parsed(normalize_phone("415 555 0100", "US"))
    assert format_value(FLOW.slot("phone"), phone.value, phone.detail) == "(415) 555-0100"
    timeline = parsed(normalize_timeline("in two weeks", TODAY))
    assert format_value(FLOW.slot("timeline"), timeline.value, timeline.detail) == "within a month"
