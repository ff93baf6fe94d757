"""The qualification graph, compiled once and run per turn with the conversation's flow.

The conversation's memory and the lead come from the store and go back to it after
the turn (`Store.save_turn`), so the graph needs no checkpointer: any process can run
the next turn of any conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from bot.flows import Flow
from bot.models import Expects, HandoffReason
from bot.qualifier import compose, nodes
from bot.qualifier.llm_turn import LlmTurn
from bot.qualifier.state import Decision, Memory, TurnContext, TurnState

QualifierGraph = CompiledStateGraph[TurnState, TurnContext, TurnState, TurnState]


def build_graph() -> QualifierGraph:
    graph = StateGraph(TurnState, context_schema=TurnContext)
    graph.add_node("understand", nodes.understand)
    graph.add_node("update_lead", nodes.update_lead)
    graph.add_node("score", nodes.score)
    graph.add_node("decide", nodes.decide)
    graph.add_node("compose", nodes.compose_reply)
    graph.add_edge(START, "understand")
    graph.add_edge("understand", "update_lead")
    graph.add_edge("update_lead", "score")
    graph.add_edge("score", "decide")
    graph.add_edge("decide", "compose")
    graph.add_edge("compose", END)
    return graph.compile(name="qualifier")


@dataclass(frozen=True)
class Turn:
    """What one visitor message led to."""

    decision: Decision
    handoff_reason: HandoffReason | None
    reply: str | None
    expects: Expects | None
    memory: Memory
    slots: dict[str, Any]
    details: dict[str, Any]
    skipped: list[str]
    filled: list[str]
    score: dict[str, Any]


class Qualifier:
    def __init__(self, graph: QualifierGraph | None = None) -> None:
        self.graph = graph or build_graph()

    async def turn(
        self,
        flow: Flow,
        *,
        text: str,
        memory: Memory,
        slots: dict[str, Any],
        details: dict[str, Any],
        skipped: list[str],
        now: datetime | None = None,
        llm: LlmTurn | None = None,
    ) -> Turn:
        state: TurnState = {
            "text": text,
            "memory": memory,
            "slots": slots,
            "details": details,
            "skipped": skipped,
        }
        context = TurnContext(flow=flow, now=now or datetime.now(UTC), llm=llm)
        out = cast(TurnState, await self.graph.ainvoke(state, context=context))
        expects = out.get("expects")
        return Turn(
            decision=out["decision"],
            handoff_reason=cast(HandoffReason | None, out.get("handoff_reason")),
            reply=out.get("reply"),
            expects=Expects.model_validate(expects) if expects else None,
            memory=out["memory"],
            slots=out.get("slots", slots),
            details=out.get("details", details),
            skipped=out.get("skipped", skipped),
            filled=out.get("filled", []),
            score=out["score"],
        )

    @staticmethod
    def silent_opening() -> Memory:
        """For a conversation the lead started (SMS, email …): greet in the first reply instead."""
        return {"asked": None, "greet": True}

    @staticmethod
    def opening(
        flow: Flow, *, slots: dict[str, Any], skipped: list[str]
    ) -> tuple[str, Expects | None, Memory]:
        """The greeting of a new conversation and the memory it leaves."""
        text, slot = compose.opening(flow, slots, skipped)
        expects = Expects.model_validate(compose.expects_for(slot)) if slot else None
        return text, expects, {"asked": slot.name if slot else None}
