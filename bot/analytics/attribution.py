"""The attribution table by model: every model of bot/attribution side by side, per source or
campaign, for the conversions recorded in the window (their conversion time, not the
conversations': the channel and flow filters do not apply; docs/attribution.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bot.analytics.window import Window
from bot.attribution.models import MODELS
from bot.attribution.report import Grouping, attribution_table
from bot.store import Store

MODEL_LABELS: Final = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "u_shaped": "U-shaped",
    "w_shaped": "W-shaped",
}


@dataclass(frozen=True)
class AttributedKey:
    key: str  # a source or a campaign
    conversions: dict[str, float] = field(default_factory=dict)  # per model
    value: dict[str, float] = field(default_factory=dict)  # per model


@dataclass(frozen=True)
class Attribution:
    by: Grouping
    models: list[str]
    rows: list[AttributedKey]


def label(model: str) -> str:
    return MODEL_LABELS.get(model, model.replace("_", " ").capitalize())


async def attribution(store: Store, window: Window, by: Grouping) -> Attribution:
    """One row per key any model credits, ordered by the first model's conversions."""
    models = list(MODELS)
    rows: dict[str, AttributedKey] = {}
    for model in models:
        for row in await attribution_table(store, model=model, start=window.start, end=window.end, by=by):
            entry = rows.setdefault(row.key, AttributedKey(row.key))
            entry.conversions[model] = row.conversions
            entry.value[model] = row.value
    ordered = sorted(
        rows.values(),
        key=lambda r: (*(-r.conversions.get(m, 0.0) for m in models), r.key),
    )
    return Attribution(by=by, models=models, rows=ordered)
