"""The qualifier's steps: understand → update lead → score → decide → compose.

Each node reads the turn state and returns only what it changes. The flow comes from
the run context, so one compiled graph serves every flow and version.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from bot.flows import Flow
from bot.hours import describe_opening, is_open
from bot.qualifier import compose
from bot.qualifier.extract import extract
from bot.qualifier.intents import mentions_any
from bot.qualifier.state import Memory, TurnContext, TurnState
from bot.scoring import score_lead


async def understand(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    memory = state.get("memory", {})
    extraction = extract(
        state["text"],
        runtime.context.flow,
        expecting=memory.get("asked"),
        last_answered=memory.get("last_answered"),
        today=runtime.context.today,
    )
    llm, flow = runtime.context.llm, runtime.context.flow
    # Whole-message keywords (STOP, START, HELP) need no model; neither does an opted-out visitor.
    keyword = {"opt_out", "opt_in", "help"} & extraction.intents
    if llm is not None and flow.llm.extract and not keyword and not memory.get("opted_out"):
        extraction = await llm.propose(
            flow, extraction, asked=memory.get("asked"), today=runtime.context.today
        )
    return {"extraction": extraction, "asked_before": memory.get("asked"), "opted_in": False}


async def update_lead(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    """Apply what was understood. Nothing is written while the visitor is opted out."""
    flow = runtime.context.flow
    memory = state.get("memory", {})
    x = state["extraction"]
    slots = dict(state.get("slots", {}))
    details = dict(state.get("details", {}))
    skipped = list(state.get("skipped", []))
    if memory.get("opted_out") or "opt_out" in x.intents:
        return {"filled": [], "invalid": None, "skipped_now": None, "refused_skip": False}
    filled = []
    for name, fact in x.facts.items():
        if slots.get(name) != fact.value or details.get(name, {}) != fact.detail:
            filled.append(name)
        slots[name] = fact.value
        if fact.detail:
            details[name] = fact.detail
        else:
            details.pop(name, None)
        if name in skipped:
            skipped.remove(name)
    asked = memory.get("asked")
    asked_missing = asked is not None and asked not in x.facts and slots.get(asked) is None
    invalid = x.invalid.get(asked) if asked_missing and asked else None
    skipped_now, refused_skip = None, False
    if asked_missing and asked and x.skip and invalid is None:
        if flow.slot(asked).required:
            refused_skip = True
        else:
            skipped.append(asked)
            skipped_now = asked
    return {
        "slots": slots,
        "details": details,
        "skipped": skipped,
        "filled": filled,
        "invalid": invalid,
        "skipped_now": skipped_now,
        "refused_skip": refused_skip,
    }


async def score(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    result = score_lead(state.get("slots", {}), runtime.context.flow)
    return {
        "score": {
            "score": result.score,
            "grade": result.grade,
            "temperature": result.temperature,
            "qualified": result.qualified,
            "reasons": list(result.reasons),
        }
    }


async def decide(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    flow = runtime.context.flow
    memory: Memory = dict(state.get("memory", {}))  # type: ignore[assignment]
    x = state["extraction"]
    asked = memory.get("asked")
    out: dict[str, Any] = {"handoff_reason": None, "next_slot": None, "greet_now": memory.pop("greet", False)}

    if memory.get("opted_out"):
        if "opt_in" not in x.intents:
            return {**out, "decision": "silent", "memory": memory}
        memory["opted_out"] = False
        out["opted_in"] = True
    elif "opt_out" in x.intents:
        memory["opted_out"], memory["asked"] = True, None
        return {**out, "decision": "opt_out", "memory": memory}
    if memory.get("closed"):
        if "handoff" in x.intents:
            memory["closed"] = False
            return _hand_off(out, memory, "requested", state, runtime.context)
        return {**out, "decision": "closed", "memory": memory}
    if "handoff" in x.intents or mentions_any(state.get("text", ""), flow.handoff.phrases):
        return _hand_off(out, memory, "requested", state, runtime.context)

    filled = state.get("filled", [])
    if filled:
        memory["last_answered"] = filled[-1]
    retry = bool(state.get("invalid") or state.get("refused_skip"))
    understood = x.understood or bool(filled)
    asked_missing = asked is not None and state.get("slots", {}).get(asked) is None
    if not understood and asked_missing and asked not in state.get("skipped", []):
        memory["not_understood"] = memory.get("not_understood", 0) + 1
        if memory["not_understood"] >= flow.handoff.max_not_understood:
            return _hand_off(out, memory, "not_understood", state, runtime.context)
        retry = True
    else:
        memory["not_understood"] = 0

    if retry and asked is not None:
        memory["reasks"] = memory.get("reasks", 0) + 1
        return {**out, "decision": "ask", "next_slot": asked, "memory": memory}
    memory["reasks"] = 0
    pending = memory.get("handoff_pending")
    if pending:  # after hours, the bot asked for a contact before handing off
        return _hand_off(out, memory, pending, state, runtime.context)
    early = flow.handoff.score_at_least
    if early is not None and not memory.get("handed_off") and state["score"]["score"] >= early:
        return _hand_off(out, memory, "qualified", state, runtime.context)
    nxt = compose.first_missing(flow, state.get("slots", {}), state.get("skipped", []))
    if nxt is None:
        memory["asked"] = None
        if memory.get("handed_off"):
            return {**out, "decision": "done", "memory": memory}
        if state["score"]["qualified"]:
            return _hand_off(out, memory, "qualified", state, runtime.context)
        memory["closed"] = True
        return {**out, "decision": "unqualified", "memory": memory}
    memory["asked"] = nxt.name
    return {**out, "decision": "ask", "next_slot": nxt.name, "memory": memory}


def _hand_off(
    out: dict[str, Any], memory: Memory, reason: str, state: TurnState, context: TurnContext
) -> dict[str, Any]:
    """Hand off now; or, when the team is away and could not reach the visitor, ask for a contact first."""
    flow = context.flow
    memory["asked"], memory["handed_off"] = None, True
    memory.pop("handoff_pending", None)
    if is_open(flow.business_hours, context.now):
        return {**out, "decision": "handoff", "handoff_reason": reason, "memory": memory}
    out = {**out, "after_hours": describe_opening(flow.business_hours, context.now)}
    slots, skipped = state.get("slots", {}), state.get("skipped", [])
    contacts = [slot for slot in flow.slots if slot.type in ("email", "phone")]
    reachable = any(slots.get(slot.name) for slot in contacts)
    unwilling = all(slot.name in skipped for slot in contacts)
    if reachable or unwilling or not contacts:
        return {**out, "decision": "handoff", "handoff_reason": reason, "memory": memory}
    ask = next(slot for slot in contacts if slot.name not in skipped)
    memory["handoff_pending"], memory["asked"], memory["handed_off"] = reason, ask.name, False
    return {**out, "decision": "ask", "next_slot": ask.name, "memory": memory}


async def compose_reply(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    reply = await _compose(state, runtime)
    if state.get("greet_now") and reply.get("reply"):
        reply["reply"] = f"{runtime.context.flow.texts.greeting}\n\n{reply['reply']}"
    llm, flow = runtime.context.llm, runtime.context.flow
    # The opt-out confirmation is said exactly as the flow words it: it is a legal notice.
    if llm is not None and flow.llm.compose and reply.get("reply") and state["decision"] != "opt_out":
        written = await llm.write(
            flow, reply["reply"], facts=state.get("slots", {}), may_answer="?" in state.get("text", "")
        )
        if written:
            reply["reply"] = written
    return reply


async def _compose(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
    flow = runtime.context.flow
    texts = flow.texts
    decision = state["decision"]
    x = state["extraction"]
    if decision == "silent":
        return {"reply": None, "expects": None}
    if decision == "opt_out":
        return {"reply": texts.opted_out, "expects": None}
    if decision == "closed":
        return {"reply": texts.closed, "expects": None}
    if decision == "unqualified":
        return {"reply": texts.unqualified, "expects": None}
    if decision == "done":
        return {"reply": compose.join([_ack(state, flow), texts.all_set]), "expects": None}
    if decision == "handoff":
        reason = state.get("handoff_reason")
        text = {
            "requested": texts.handoff_requested,
            "qualified": texts.qualified,
            "not_understood": texts.handoff_not_understood,
        }[reason or "requested"]
        if state.get("after_hours"):
            away = texts.after_hours.replace("{when}", state.get("after_hours") or "")
            text = compose.join([away, texts.after_hours_handoff])
        return {"reply": text, "expects": None}

    slot = flow.slot(state["next_slot"] or "")
    invalid = bool(state.get("invalid"))
    parts: list[str | None] = []
    if state.get("opted_in"):
        parts.append(texts.opted_in)
    if state.get("after_hours"):
        parts.append(texts.after_hours.replace("{when}", state.get("after_hours") or ""))
        parts.append(texts.callback)
    if "help" in x.intents:
        parts.append(texts.help)
    parts.append(_ack(state, flow))
    if state.get("skipped_now"):
        parts.append(texts.skipped)
    if state.get("refused_skip"):
        parts.append(texts.required)
    elif not invalid and not x.understood and not state.get("filled"):
        parts.append(texts.not_understood)
    parts.append(compose.question(slot, invalid=invalid))
    return {"reply": compose.join(parts), "expects": compose.expects_for(slot)}


def _ack(state: TurnState, flow: Flow) -> str | None:
    return compose.acknowledgement(
        flow,
        state.get("slots", {}),
        state.get("details", {}),
        filled=state.get("filled", []),
        asked=state.get("asked_before"),
        correction=state["extraction"].correction,
    )
