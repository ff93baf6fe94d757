"""`/api/flows`: versions, drafts, publish, rollback, diff, export/import, bindings (admins only).

The contract is docs/api.md ("Flows"); the data rules are in bot/flow_versions.py.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot import keys
from bot.api.admins import actor, admin_user
from bot.api.body import json_object
from bot.api.errors import ApiError
from bot.api.flow_preview import preview
from bot.audit import KINDS, MAX_PAGE
from bot.auth.users import User
from bot.experiments.assign import promote as promote_variant
from bot.experiments.model import Experiment
from bot.experiments.outcomes import outcomes
from bot.experiments.stats import as_json, results
from bot.flow_versions import DraftInvalid, FlowVersions, Published, live_of, version_json
from bot.flowdiff import describe_changes
from bot.flowfile import export_yaml, parse_document, problems, read_yaml, to_yaml
from bot.flows import Flow, FlowError, Texts

# Importing a flow file: generous for a flow, far below anything that strains the server.
MAX_FLOW_BYTES = 256 * 1024


def _admin(request: web.Request) -> User:
    return admin_user(request, "manage flows")


def _versions(request: web.Request) -> FlowVersions:
    return request.config_dict[keys.FLOWS].versions


def _published(published: Published) -> web.Response:
    return web.json_response({"version": published.version, "changes": published.changes})


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def _version_number(raw: Any, name: str = "version") -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ApiError(422, f"{name} must be a version number")
    try:
        number = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a version number or 'draft'") from None
    if number < 1:
        raise ApiError(400, f"{name} must be 1 or more")
    return number


async def list_flows(request: web.Request) -> web.Response:
    _admin(request)
    items = []
    for record in await _versions(request).records():
        draft = record.get("draft")
        items.append(
            {
                "id": record["_id"],
                "name": record.get("name"),
                "live_version": live_of(record),
                "draft": draft is not None,
                "draft_valid": draft is not None and not problems(draft),
                "updated_by": record.get("updated_by"),
                "updated_at": _iso(record.get("updated_at")),
                "channels": record.get("channels", []),
            }
        )
    return web.json_response({"flows": items})


async def get_flow(request: web.Request) -> web.Response:
    _admin(request)
    flow_id = request.match_info["id"]
    versions = _versions(request)
    record = await versions.record(flow_id)
    live_version = live_of(record)
    live = None if live_version is None else (await versions.version(flow_id, live_version))["body"]
    draft = record.get("draft")
    return web.json_response(
        {
            "id": flow_id,
            "live_version": live_version,
            "live": live,
            "draft": draft,
            "draft_problems": [p.as_json() for p in problems(draft)] if draft is not None else [],
            "draft_updated_by": record.get("draft_updated_by") if draft is not None else None,
            "draft_updated_at": _iso(record.get("draft_updated_at")) if draft is not None else None,
            "channels": record.get("channels", []),
            "text_defaults": {
                name: None if field.is_required() else field.default
                for name, field in Texts.model_fields.items()
            },
        }
    )


async def validate(request: web.Request) -> web.Response:
    _admin(request)
    body = await json_object(request, '{"id": …, "name": …, "texts": …, "slots": …}')
    found = problems(body)
    return web.json_response({"valid": not found, "problems": [p.as_json() for p in found]})


async def save_draft(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, "a flow body")
    found, changes = await _versions(request).save_draft(request.match_info["id"], body, actor=actor(user))
    return web.json_response(
        {"valid": not found, "problems": [p.as_json() for p in found], "changes": changes}
    )


async def discard_draft(request: web.Request) -> web.Response:
    user = _admin(request)
    await _versions(request).discard_draft(request.match_info["id"], actor=actor(user))
    return web.json_response({"discarded": True})


async def publish(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, '{"note": "why"}')
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise ApiError(422, "note must be a string of at most 500 characters")
    try:
        published = await _versions(request).publish_draft(
            request.match_info["id"], actor=actor(user), note=note or None
        )
    except DraftInvalid as exc:
        return web.json_response(
            {"error": "invalid", "message": exc.message, "problems": [p.as_json() for p in exc.problems]},
            status=422,
        )
    return _published(published)


async def rollback(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, '{"version": 2}')
    if "version" not in body:
        raise ApiError(422, 'give the version to roll back to, like {"version": 2}')
    number = _version_number(body["version"])
    return _published(await _versions(request).rollback(request.match_info["id"], number, actor=actor(user)))


async def list_versions(request: web.Request) -> web.Response:
    _admin(request)
    flow_id = request.match_info["id"]
    versions = _versions(request)
    await versions.record(flow_id)
    return web.json_response({"versions": [version_json(doc) for doc in await versions.versions(flow_id)]})


async def get_version(request: web.Request) -> web.Response:
    _admin(request)
    number = _version_number(request.match_info["version"])
    doc = await _versions(request).version(request.match_info["id"], number)
    return web.json_response(version_json(doc, with_body=True))


async def _flow_at(versions: FlowVersions, flow_id: str, which: str) -> Flow:
    """A version by number, `live`, or `draft` (which must be valid to compare or export)."""
    if which == "draft":
        draft = (await versions.record(flow_id)).get("draft")
        if draft is None:
            raise ApiError(404, f"flow {flow_id} has no draft")
        try:
            return parse_document(draft, f"the draft of {flow_id}")
        except FlowError as exc:
            raise ApiError(422, str(exc)) from None
    if which == "live":
        live = await versions.live(flow_id)
        if live is None:
            raise ApiError(404, f"flow {flow_id} has no published version")
        return live
    return await versions.flow(flow_id, _version_number(which))


async def diff(request: web.Request) -> web.Response:
    _admin(request)
    flow_id = request.match_info["id"]
    versions = _versions(request)
    if "from" not in request.query or "to" not in request.query:
        raise ApiError(400, "give from= and to=, each a version number or 'draft'")
    old = await _flow_at(versions, flow_id, request.query["from"])
    new = await _flow_at(versions, flow_id, request.query["to"])
    return web.json_response({"changes": describe_changes(old, new)})


async def export(request: web.Request) -> web.Response:
    _admin(request)
    flow_id = request.match_info["id"]
    which = request.query.get("version", "live")
    versions = _versions(request)
    if which == "draft":
        # The draft as the admin left it, problems and all: an export is how work is kept.
        draft = (await versions.record(flow_id)).get("draft")
        if draft is None:
            raise ApiError(404, f"flow {flow_id} has no draft")
        text, name = to_yaml(draft), f"{flow_id}-draft.yaml"
    else:
        flow = await _flow_at(versions, flow_id, which)
        text, name = export_yaml(flow), f"{flow_id}-v{flow.version}.yaml"
    return web.Response(
        text=text,
        content_type="text/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def import_flow(request: web.Request) -> web.Response:
    user = _admin(request)
    raw = await request.content.read(MAX_FLOW_BYTES + 1)
    if len(raw) > MAX_FLOW_BYTES:
        raise ApiError(413, f"a flow file is at most {MAX_FLOW_BYTES // 1024} KiB")
    try:
        document = read_yaml(raw.decode("utf-8"), "the file")
    except UnicodeDecodeError:
        raise ApiError(422, "the file is not UTF-8 text") from None
    except FlowError as exc:
        raise ApiError(422, str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise ApiError(422, "the file is not a flow: it needs an id at the top level")
    flow_id = document["id"]
    if _bad_id(flow_id):
        raise ApiError(422, f"id {flow_id!r}: lower-case letters, digits, - and _, at most 41 characters")
    found, changes = await _versions(request).save_draft(
        flow_id, document, actor=actor(user), action="import"
    )
    return web.json_response(
        {"id": flow_id, "valid": not found, "problems": [p.as_json() for p in found], "changes": changes}
    )


def _bad_id(flow_id: str) -> bool:
    return any(p.path == "id" for p in problems({"id": flow_id}))


async def bind_channels(request: web.Request) -> web.Response:
    user = _admin(request)
    body = await json_object(request, '{"channels": ["sms"]}')
    bound = await _versions(request).bind(request.match_info["id"], body.get("channels"), actor=actor(user))
    return web.json_response({"channels": bound})


async def experiments(request: web.Request) -> web.Response:
    _admin(request)
    flow_id = request.match_info["id"]
    versions = _versions(request)
    flows = request.config_dict[keys.FLOWS]
    store = request.config_dict[keys.STORE]
    live = await versions.live(flow_id)
    live_ids = {e.id for e in live.experiments} if live is not None else set()
    # Every experiment any version declared, as the newest version declares it.
    declared: dict[str, Experiment] = {}
    for doc in await versions.versions(flow_id):
        for experiment in (await versions.flow(flow_id, doc["version"])).experiments:
            declared.setdefault(experiment.id, experiment)
    items = []
    for experiment_id, experiment in declared.items():
        found = await outcomes(store, flows, flow_id, experiment)
        if experiment_id not in live_ids and not found:
            continue
        items.append({**as_json(results(experiment, found)), "live": experiment_id in live_ids})
    return web.json_response({"experiments": items})


async def promote(request: web.Request) -> web.Response:
    user = _admin(request)
    flow_id, experiment_id = request.match_info["id"], request.match_info["experiment"]
    body = await json_object(request, '{"variant": "b"}')
    variant = body.get("variant")
    if not isinstance(variant, str):
        raise ApiError(422, 'give the variant to promote, like {"variant": "b"}')
    versions = _versions(request)
    live = await versions.live(flow_id)
    if live is None:
        raise ApiError(404, f"flow {flow_id} has no published version")
    try:
        promoted = promote_variant(live, experiment_id, variant)
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "no such experiment or variant") from None
    except ValidationError as exc:  # the variant's text does not fit where it goes
        raise ApiError(422, f"variant {variant} cannot be promoted: {exc.errors()[0]['msg']}") from None
    note = f"promoted variant {variant} of experiment {experiment_id}"
    return _published(
        await versions.publish(flow_id, promoted, actor=actor(user), source="promote", note=note)
    )


async def audit_log(request: web.Request) -> web.Response:
    _admin(request)
    try:
        limit = int(request.query.get("limit", "50"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise ApiError(400, "limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ApiError(400, f"limit must be between 1 and {MAX_PAGE}, offset 0 or more")
    flow_id = request.query.get("flow") or None
    kind = request.query.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(KINDS)}")
    entries = await request.config_dict[keys.AUDIT].entries(
        flow_id=flow_id, kind=kind, limit=limit, offset=offset
    )
    return web.json_response({"items": entries, "limit": limit, "offset": offset})


def flow_routes() -> list[web.RouteDef]:
    """Relative to the /api application."""
    return [
        web.get("/flows", list_flows),
        web.post("/flows/validate", validate),
        web.post("/flows/import", import_flow),
        web.get("/flows/{id}", get_flow),
        web.put("/flows/{id}/draft", save_draft),
        web.delete("/flows/{id}/draft", discard_draft),
        web.post("/flows/{id}/publish", publish),
        web.post("/flows/{id}/rollback", rollback),
        web.get("/flows/{id}/versions", list_versions),
        web.get("/flows/{id}/versions/{version}", get_version),
        web.get("/flows/{id}/diff", diff),
        web.get("/flows/{id}/export", export),
        web.put("/flows/{id}/channels", bind_channels),
        web.post("/flows/{id}/preview", preview),
        web.get("/flows/{id}/experiments", experiments),
        web.post("/flows/{id}/experiments/{experiment}/promote", promote),
        web.get("/audit", audit_log),
    ]
