"""The qualification graph for LangGraph's Agent Server (`langgraph dev`), for bench/peers.py.

The same nodes and edges as leadbot's (`bot.qualifier.graph.build_graph`), recompiled with a
run context the Agent Server can build from JSON: a run sends `{"flow_id": "default"}` and the
nodes see what leadbot's `TurnContext` gives them (the flow, `now`, `today`, no LLM mode).
The flows are the ones shipped with the package (`flows/*.yaml`), loaded once at import.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.assets import flows_dir  # noqa: E402
from bot.flows import Flow, load_flows  # noqa: E402
from bot.qualifier.graph import build_graph  # noqa: E402

FLOWS = load_flows(list(flows_dir().glob("*.yaml")) + list(flows_dir().glob("*.yml")))


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HostedContext:
    """leadbot's `TurnContext`, with the flow named by id instead of carried as an object."""

    flow_id: str = "default"
    now: datetime = field(default_factory=_now)
    llm: ClassVar[None] = None  # offline, as leadbot runs without LEADBOT_LLM_* settings

    @property
    def flow(self) -> Flow:
        return FLOWS[self.flow_id]

    @property
    def today(self) -> date:
        return self.now.date()


_builder = build_graph().builder
_builder.context_schema = HostedContext  # type: ignore[assignment]
graph = _builder.compile(name="qualifier")
