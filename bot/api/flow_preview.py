"""`POST /api/flows/{id}/preview`: a test chat on a flow that stores nothing.

The preview runs the same qualifier graph as real conversations, but its state travels with
the request instead of living in the store: no conversation, no lead, nothing in the inbox,
and any process can answer the next turn. The state is only trusted as far as its shape;
a state the graph cannot use gets a 422 asking to restart the preview.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from aiohttp import web

from bot import keys
from bot.api.admins import admin_user
from bot.api.body import json_object
from bot.api.errors import ApiError
from bot.experiments.assign import apply
from bot.flowfile import parse_document, problems
from bot.flows import Flow
from bot.scoring import score_lead

log = logging.getLogger(__name__)


async def _flow(request: web.Request, given: Any) -> Flow | web.Response:
    """The flow to preview: the one sent, else the saved draft when valid, else the live version."""
    flow_id = request.match_info["id"]
    versions = request.config_dict[keys.FLOWS].versions
    if given is None:
        draft = (await versions.record(flow_id)).get("draft")
        given = draft if draft is not None and not problems(draft) else None
    if given is None:
        live = await versions.live(flow_id)
        if live is None:
            raise ApiError(404, f"flow {flow_id} has no valid draft or published version to preview")
        return live
    found = problems(given)
    if found:
        return web.json_response(
            {
                "error": "invalid",
                "message": f"the flow has {len(found)} problem(s); fix them to preview it",
                "problems": [p.as_json() for p in found],
            },
            status=422,
        )
    return parse_document(given)


def _state(raw: Any) -> dict[str, Any]:
    shapes = {"memory": dict, "slots": dict, "details": dict, "skipped": list}
    if not isinstance(raw, dict) or any(not isinstance(raw.get(k), t) for k, t in shapes.items()):
        raise ApiError(422, "state must be the state the last preview answer gave; or null to start over")
    return raw


def _variants(flow: Flow, raw: Any) -> dict[str, str]:
    """The variants to show: those asked for, the control of every other experiment."""
    if raw is not None and (not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values())):
        raise ApiError(422, 'variants maps experiment ids to variant ids, like {"short-greeting": "b"}')
    chosen = dict(raw or {})
    experiments = {e.id: e for e in flow.experiments}
    for experiment_id, variant_id in chosen.items():
        experiment = experiments.get(experiment_id)
        if experiment is None:
            raise ApiError(422, f"the flow has no experiment {experiment_id!r}")
        if experiment.variant(variant_id) is None:
            raise ApiError(422, f"experiment {experiment_id!r} has no variant {variant_id!r}")
    return {e.id: chosen.get(e.id) or e.control.id for e in flow.experiments}


async def preview(request: web.Request) -> web.StreamResponse:
    admin_user(request, "preview flows")
    body = await json_object(request, '{"flow": {…}, "state": null, "text": null}')
    found = await _flow(request, body.get("flow"))
    if isinstance(found, web.Response):
        return found
    variants = _variants(found, body.get("variants"))
    flow = apply(found, variants)
    text = body.get("text")
    max_chars = request.config_dict[keys.SETTINGS].max_message_chars
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > max_chars):
        raise ApiError(422, f"text must be a non-empty string of at most {max_chars} characters")
    qualifier = request.config_dict[keys.QUALIFIER]
    messages: list[dict[str, Any]] = []
    if body.get("state") is None:
        opening, expects, memory = qualifier.opening(flow, slots={}, skipped=[])
        messages.append({"text": opening, "expects": expects.model_dump() if expects else None})
        state: dict[str, Any] = {"memory": dict(memory), "slots": {}, "details": {}, "skipped": []}
    else:
        state = _state(body["state"])
    decision, reason = "ask", None
    if text is not None:
        try:
            turn = await qualifier.turn(
                flow,
                text=text,
                memory=state["memory"],  # shape checked by _state
                slots=state["slots"],
                details=state["details"],
                skipped=state["skipped"],
                now=request.config_dict[keys.CLOCK](),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            log.info("preview state not usable", exc_info=True)
            raise ApiError(
                422, "the preview state is not usable with this flow; restart the preview"
            ) from None
        if turn.reply:
            messages.append(
                {"text": turn.reply, "expects": turn.expects.model_dump() if turn.expects else None}
            )
        state = {
            "memory": dict(turn.memory),
            "slots": turn.slots,
            "details": turn.details,
            "skipped": turn.skipped,
        }
        decision, reason = turn.decision, turn.handoff_reason
    score = score_lead(state["slots"], flow)
    return web.json_response(
        {
            "messages": messages,
            "state": state,
            "slots": state["slots"],
            "skipped": state["skipped"],
            "score": {
                "score": score.score,
                "grade": score.grade,
                "temperature": score.temperature,
                "qualified": score.qualified,
                "reasons": list(score.reasons),
            },
            "decision": decision,
            "handoff_reason": reason,
            "variants": variants,
        },
        dumps=partial(json.dumps, default=str),
    )
