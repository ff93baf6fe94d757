"""The attribution report over the store: which conversions count, how credit and value add up.

Runs on every store backend (`store` fixture). Touchpoints are written in the contract's shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.attribution.report import NO_CAMPAIGN, NO_TOUCHPOINT, AttributionRow, attribution_table
from bot.models import Conversion, Lead, StatusChange
from bot.store import Store, new_id

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


async def converted_lead(
    store: Store,
    value: float | None,
    on: float,
    *,
    outcome: str = "converted",
    contact: float | None = None,
    qualified: float | None = None,
) -> Lead:
    history = [StatusChange(status="new", at=day(-30))]
    if qualified is not None:
        history.append(StatusChange(status="qualified", at=day(qualified)))
    lead = Lead(
        id=new_id(),
        conversation_ids=[new_id()],
        status=outcome,
        status_history=history,
        conversion=Conversion(outcome=outcome, value=value, at=day(on), by="agent-1"),
        contact_given_at=day(contact) if contact is not None else None,
    )
    return await store.save_lead(lead, contacts_changed=False)


async def touch(
    store: Store,
    lead: Lead,
    on: float,
    source: str,
    campaign: str | None = None,
    *,
    lead_id: str | None = None,
) -> None:
    doc: dict[str, Any] = {
        "_id": new_id(),
        "lead_id": lead_id or lead.id,
        "conversation_id": lead.conversation_ids[0],
        "at": day(on),
        "channel": "web",
        "source": source,
        "medium": None,
        "campaign": campaign,
        "term": None,
        "content": None,
        "referrer": None,
        "landing_page": "https://example.com/",
    }
    await store.collection("touchpoints").insert_one(doc)


def rows(table: list[AttributionRow]) -> list[tuple[str, float, float]]:
    return [(r.key, pytest.approx(r.conversions), pytest.approx(r.value)) for r in table]  # type: ignore[misc]


async def test_linear_by_source_credits_conversions_and_value(store: Store) -> None:
    # A: 1000, touched by google (day 0) and the newsletter (day 5): 1/2 each → 500 each.
    a = await converted_lead(store, 1000, on=6)
    await touch(store, a, 0, "google")
    await touch(store, a, 5, "newsletter")
    # B: 300, only google: 1 → 300. A touch after its conversion (day 9) does not count.
    b = await converted_lead(store, 300, on=8)
    await touch(store, b, 7, "google")
    await touch(store, b, 9, "bing")
    # C: 200, no touchpoint at all: its own row, so the rows add up to the 3 conversions.
    await converted_lead(store, 200, on=8)
    # D: lost, never counted.
    d = await converted_lead(store, None, on=7, outcome="lost")
    await touch(store, d, 1, "facebook")

    table = await attribution_table(store, model="linear", start=None, end=None, by="source")
    # google 1/2 + 1 = 1.5 conversions, 500 + 300 = 800; (no touchpoint) 1, 200; newsletter 1/2, 500.
    assert rows(table) == [("google", 1.5, 800), (NO_TOUCHPOINT, 1.0, 200), ("newsletter", 0.5, 500)]
    assert sum(r.conversions for r in table) == pytest.approx(3)


async def test_only_conversions_in_the_range_count(store: Store) -> None:
    early = await converted_lead(store, 100, on=1)
    await touch(store, early, 0, "early")
    inside = await converted_lead(store, 200, on=5)
    await touch(store, inside, 0, "inside")
    at_end = await converted_lead(store, 400, on=10)
    await touch(store, at_end, 0, "at_end")

    # [day 2, day 10): the end is not included.
    table = await attribution_table(store, model="first_touch", start=day(2), end=day(10), by="source")
    assert rows(table) == [("inside", 1.0, 200)]
    # From day 5 on (included), no end.
    table = await attribution_table(store, model="first_touch", start=day(5), end=None, by="source")
    assert rows(table) == [("at_end", 1.0, 400), ("inside", 1.0, 200)]


async def test_by_campaign_and_touches_without_one(store: Store) -> None:
    # U-shaped over 3 touches: 40 / 20 / 40 of one conversion worth 1000.
    lead = await converted_lead(store, 1000, on=3)
    await touch(store, lead, 0, "google", "spring-sale")
    await touch(store, lead, 1, "direct")
    await touch(store, lead, 2, "newsletter", "spring-sale")
    table = await attribution_table(store, model="u_shaped", start=None, end=None, by="campaign")
    # spring-sale: 0.4 + 0.4 = 0.8 → 800; no campaign: 0.2 → 200.
    assert rows(table) == [("spring-sale", 0.8, 800), (NO_CAMPAIGN, 0.2, 200)]


async def test_time_decay_uses_the_half_life_asked_for(store: Store) -> None:
    lead = await converted_lead(store, 700, on=14)
    await touch(store, lead, 0, "old")
    await touch(store, lead, 7, "middle")
    await touch(store, lead, 14, "new")
    # Half-life 7 days, ages 14, 7, 0: shares 1/7, 2/7, 4/7 of 1 conversion and of 700.
    table = await attribution_table(store, model="time_decay", start=None, end=None, by="source")
    assert rows(table) == [("new", 4 / 7, 400), ("middle", 2 / 7, 200), ("old", 1 / 7, 100)]
    # Half-life 3.5 days: weights 2^-4 = 1/16, 2^-2 = 4/16, 1 = 16/16 → 1/21, 4/21, 16/21.
    table = await attribution_table(
        store, model="time_decay", start=None, end=None, by="source", half_life_days=3.5
    )
    assert rows(table) == [
        ("new", 16 / 21, 16 / 21 * 700),
        ("middle", 4 / 21, 400 / 3),
        ("old", 1 / 21, 100 / 3),
    ]


async def test_w_shaped_reads_contact_and_qualification_times_from_the_lead(store: Store) -> None:
    # Touches on days 0..4; email given on day 1.5 (touch 1), qualified on day 3.5 (touch 3).
    # 30 % to a, b, d; 5 % to c and e. Value 2000.
    lead = await converted_lead(store, 2000, on=5, contact=1.5, qualified=3.5)
    for on, source in enumerate("abcde"):
        await touch(store, lead, on, source)
    table = await attribution_table(store, model="w_shaped", start=None, end=None, by="source")
    assert rows(table) == [
        ("a", 0.3, 600),
        ("b", 0.3, 600),
        ("d", 0.3, 600),
        ("c", 0.05, 100),
        ("e", 0.05, 100),
    ]


async def test_a_touchpoint_is_found_through_its_conversation_as_well(store: Store) -> None:
    # Stored under a lead id that no longer exists (written while its lead was being merged):
    # its conversation is the lead's, so it is the lead's.
    lead = await converted_lead(store, 50, on=2)
    await touch(store, lead, 1, "google", lead_id="a-merged-lead")
    table = await attribution_table(store, model="last_touch", start=None, end=None, by="source")
    assert rows(table) == [("google", 1.0, 50)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "position"}, "model must be one of"),
        ({"by": "medium"}, "by must be one of"),
        ({"half_life_days": 0}, "half_life_days"),
        ({"half_life_days": float("nan")}, "half_life_days"),
    ],
)
async def test_bad_options_are_refused(store: Store, options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"model": "linear", "start": None, "end": None, "by": "source", **options}
    with pytest.raises(ValueError, match=message):
        await attribution_table(store, **arguments)
