"""The attribution report: conversions and their value, credited to sources or campaigns.

A conversion counts in the range when its time (`Lead.conversion.at`, outcome converted) is at
or after `start` and before `end`. Each one's credit (1 conversion, and its value) is shared
among its lead's touchpoints by the chosen model (bot/attribution/models.py); a conversion with
no touchpoint at or before it goes to the row "(no touchpoint)", so the rows always add up to
the conversions in the range. Values are summed as numbers, whatever their currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pymongo import ASCENDING

from bot.attribution.models import MODELS, attribute
from bot.attribution.touchpoints import Touchpoint, touchpoints_of_leads
from bot.models import Lead
from bot.store import Store

Grouping = Literal["source", "campaign"]
GROUPINGS: Final[tuple[Grouping, ...]] = ("source", "campaign")
NO_TOUCHPOINT: Final = "(no touchpoint)"
NO_CAMPAIGN: Final = "(no campaign)"
MAX_HALF_LIFE_DAYS: Final = 3650.0


@dataclass(frozen=True)
class AttributionRow:
    key: str  # a source or a campaign
    conversions: float  # the credited share of conversions
    value: float  # the credited share of their value


async def ensure_indexes(store: Store) -> None:
    await store.leads.create_index([("conversion.at", ASCENDING)], name="by_conversion_time", sparse=True)


async def converted_leads(store: Store, start: datetime | None, end: datetime | None) -> list[Lead]:
    """Leads whose conversion (outcome converted) falls in [start, end), oldest first."""
    when: dict[str, Any] = {}
    if start is not None:
        when["$gte"] = start
    if end is not None:
        when["$lt"] = end
    query: dict[str, Any] = {"conversion.outcome": "converted"}
    if when:
        query["conversion.at"] = when
    cursor = store.leads.find(query).sort("conversion.at", ASCENDING)
    return [Lead.model_validate({**doc, "id": doc["_id"]}) async for doc in cursor]


def qualified_at(lead: Lead) -> datetime | None:
    """When the lead first became qualified (W-shaped's opportunity creation), if ever."""
    return next((c.at for c in lead.status_history if c.status == "qualified"), None)


def _key(touchpoint: Touchpoint, by: Grouping) -> str:
    return touchpoint.source if by == "source" else touchpoint.campaign or NO_CAMPAIGN


def _rows(totals: dict[str, list[float]]) -> list[AttributionRow]:
    rows = [AttributionRow(key, conversions, value) for key, (conversions, value) in totals.items()]
    return sorted(rows, key=lambda r: (-r.conversions, -r.value, r.key))


def tally(
    leads: Iterable[Lead],
    touchpoints: dict[str, list[Touchpoint]],
    *,
    model: str,
    by: Grouping,
    half_life: timedelta,
) -> list[AttributionRow]:
    """Credit every lead's conversion to its touchpoints' keys (pure; see the module docstring)."""
    totals: dict[str, list[float]] = {}
    for lead in leads:
        conversion = lead.conversion
        assert conversion is not None and conversion.outcome == "converted"
        value = conversion.value or 0.0
        credits = attribute(
            model,
            touchpoints.get(lead.id, []),
            lambda t: t.at,
            converted_at=conversion.at,
            contact_given_at=lead.contact_given_at,
            qualified_at=qualified_at(lead),
            half_life=half_life,
        )
        shares = [(_key(t, by), share) for t, share in credits] or [(NO_TOUCHPOINT, 1.0)]
        for key, share in shares:
            row = totals.setdefault(key, [0.0, 0.0])
            row[0] += share
            row[1] += share * value
    return _rows(totals)


async def attribution_table(
    store: Store,
    *,
    model: str,
    start: datetime | None,
    end: datetime | None,
    by: Literal["source", "campaign"],
    half_life_days: float = 7.0,
) -> list[AttributionRow]:
    """Conversions in [start, end) and their value, credited by `model` to each source or
    campaign, most conversions first. ValueError for an unknown model or grouping, or a
    half-life out of (0, 3650] days."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    if not 0 < half_life_days <= MAX_HALF_LIFE_DAYS:
        raise ValueError(f"half_life_days must be a number > 0 and ≤ {MAX_HALF_LIFE_DAYS:g}")
    leads = await converted_leads(store, start, end)
    touchpoints = await touchpoints_of_leads(store, leads)
    return tally(leads, touchpoints, model=model, by=by, half_life=timedelta(days=half_life_days))
