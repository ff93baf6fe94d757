"""The flows API: drafts, validation, publish, pinning, rollback, diff, export/import, bindings, audit."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH, api_get, settle
from tests.conftest import api_call as call
from tests.support.agents import make_agent
from tests.support.visitor import Visitor

NEW_GREETING = "Hello from version two!"
NEW_COMPANY_QUESTION = "Which organisation do you work for?"


async def live_body(client: TestClient[Any, Any]) -> dict[str, Any]:
    flow = await api_get(client, "/api/flows/default")
    return copy.deepcopy(flow["live"])


def with_new_texts(body: dict[str, Any]) -> dict[str, Any]:
    body["texts"]["greeting"] = NEW_GREETING
    body["slots"][1]["question"] = NEW_COMPANY_QUESTION
    return body


async def test_the_flow_files_seed_version_one(client: TestClient[Any, Any]) -> None:
    flows = await api_get(client, "/api/flows")
    assert [(f["id"], f["live_version"], f["draft"]) for f in flows["flows"]] == [("default", 1, False)]
    versions = await api_get(client, "/api/flows/default/versions")
    assert [(v["version"], v["source"]) for v in versions["versions"]] == [(1, "seed")]


async def test_publishing_affects_new_conversations_only(client: TestClient[Any, Any]) -> None:
    before = await Visitor.connect(client)
    old_greeting = (await before.greeting())["text"]
    assert NEW_GREETING not in old_greeting

    saved = await call(client, "PUT", "/api/flows/default/draft", with_new_texts(await live_body(client)))
    assert saved["valid"] and saved["problems"] == []
    assert "text `greeting` changed" in saved["changes"]
    assert "question `company`: wording changed" in saved["changes"]
    published = await call(client, "POST", "/api/flows/default/publish", {"note": "warmer"})
    assert published["version"] == 2

    after = await Visitor.connect(client)
    assert (await after.greeting())["text"].startswith(NEW_GREETING)
    # The conversation started before keeps version 1: the old wording of the next question.
    reply = await before.say("We need a better way to qualify leads")
    assert "Which company are you with?" in reply["text"]
    reply = await after.say("We need a better way to qualify leads")
    assert NEW_COMPANY_QUESTION in reply["text"]
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{before.conversation_id}")
    assert conv["flow"] == {"id": "default", "version": 1}
    await before.close()
    await after.close()


async def test_an_invalid_draft_is_kept_but_cannot_be_published(client: TestClient[Any, Any]) -> None:
    body = await live_body(client)
    body["scoring"]["rules"].append({"slot": "budget", "op": "gte", "value": 1, "points": 5})
    body["scoring"]["rules"][0]["op"] = "between"  # needs [low, high]
    saved = await call(client, "PUT", "/api/flows/default/draft", body)
    assert not saved["valid"]
    paths = {p["path"] for p in saved["problems"]}
    assert "scoring.rules.0" in paths or "scoring.rules.0.value" in paths
    refused = await call(client, "POST", "/api/flows/default/publish", status=422)
    assert refused["error"] == "invalid" and refused["problems"]
    flow = await api_get(client, "/api/flows/default")
    assert flow["live_version"] == 1 and flow["draft"] == body and flow["draft_problems"]


async def test_validate_names_the_broken_rule(client: TestClient[Any, Any]) -> None:
    body = await live_body(client)
    body["scoring"]["rules"].append({"slot": "budget", "op": "gte", "value": 1, "points": 5})
    answer = await call(client, "POST", "/api/flows/validate", body)
    assert answer == {
        "valid": False,
        "problems": [{"path": "scoring.rules.10.slot", "message": "unknown slot 'budget'"}],
    }
    body = await live_body(client)
    body["scoring"]["rules"][0]["points"] = 500
    answer = await call(client, "POST", "/api/flows/validate", body)
    assert [p["path"] for p in answer["problems"]] == ["scoring.rules.0.points"]
    assert (await call(client, "POST", "/api/flows/validate", await live_body(client)))["valid"] is True


async def test_rollback_publishes_a_copy_and_keeps_history(client: TestClient[Any, Any]) -> None:
    await call(client, "PUT", "/api/flows/default/draft", with_new_texts(await live_body(client)))
    await call(client, "POST", "/api/flows/default/publish")
    rolled = await call(client, "POST", "/api/flows/default/rollback", {"version": 1})
    assert rolled["version"] == 3
    assert "text `greeting` changed" in rolled["changes"]
    versions = await api_get(client, "/api/flows/default/versions")
    assert [(v["version"], v["source"]) for v in versions["versions"]] == [
        (3, "rollback"),
        (2, "publish"),
        (1, "seed"),
    ]
    v1 = await api_get(client, "/api/flows/default/versions/1")
    v3 = await api_get(client, "/api/flows/default/versions/3")
    assert {**v1["body"], "version": 3} == v3["body"]
    visitor = await Visitor.connect(client)
    assert not (await visitor.greeting())["text"].startswith(NEW_GREETING)
    await visitor.close()
    assert (await api_get(client, "/api/flows/default/diff?from=1&to=3"))["changes"] == []
    changes = (await api_get(client, "/api/flows/default/diff?from=1&to=2"))["changes"]
    assert "question `company`: wording changed" in changes
    await call(client, "POST", "/api/flows/default/rollback", {"version": 9}, status=404)
    await call(client, "POST", "/api/flows/default/rollback", {}, status=422)


async def test_export_import_round_trips_exactly(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/flows/default/export", headers=AUTH)
    assert response.status == 200 and response.content_type == "text/yaml"
    exported = await response.text()
    imported = await call(client, "POST", "/api/flows/import", None, headers=AUTH) if False else None
    del imported
    response = await client.post("/api/flows/import", data=exported.encode(), headers=AUTH)
    answer = await response.json()
    assert response.status == 200, answer
    assert answer == {"id": "default", "valid": True, "problems": [], "changes": []}
    draft = await (await client.get("/api/flows/default/export?version=draft", headers=AUTH)).text()
    assert draft == exported
    # A new flow comes in as a draft and goes live when published.
    document = yaml.safe_load(exported)
    document.update(id="partners", name="Partner programme")
    response = await client.post("/api/flows/import", data=yaml.safe_dump(document).encode(), headers=AUTH)
    assert (await response.json())["id"] == "partners"
    await call(client, "POST", "/api/flows/partners/publish")
    exported_partners = await (await client.get("/api/flows/partners/export", headers=AUTH)).text()
    assert yaml.safe_load(exported_partners) == document


async def test_import_refuses_what_is_not_a_flow(client: TestClient[Any, Any]) -> None:
    for data, fragment in [
        (b"id: [unclosed", "not valid YAML"),
        (b"- a list", "needs an id"),
        (b"id: Not An Id!", "lower-case"),
        (b"\xff\xfe", "UTF-8"),
    ]:
        response = await client.post("/api/flows/import", data=data, headers=AUTH)
        answer = await response.json()
        assert response.status == 422 and fragment in answer["message"], answer


async def test_a_channel_bound_flow_starts_its_conversations(client: TestClient[Any, Any]) -> None:
    exported = await (await client.get("/api/flows/default/export", headers=AUTH)).text()
    document = yaml.safe_load(exported)
    document.update(id="partners", name="Partners")
    document["texts"]["greeting"] = "Welcome, partner!"
    await client.post("/api/flows/import", data=yaml.safe_dump(document).encode(), headers=AUTH)
    await call(client, "POST", "/api/flows/partners/publish")
    bound = await call(client, "PUT", "/api/flows/partners/channels", {"channels": ["web"]})
    assert bound == {"channels": ["web"]}
    visitor = await Visitor.connect(client)
    assert (await visitor.greeting())["text"].startswith("Welcome, partner!")
    await visitor.close()
    # Binding the channel to another flow moves it there.
    await call(client, "PUT", "/api/flows/default/channels", {"channels": ["web", "sms"]})
    flows = {f["id"]: f["channels"] for f in (await api_get(client, "/api/flows"))["flows"]}
    assert flows == {"default": ["web", "sms"], "partners": []}
    await call(client, "PUT", "/api/flows/default/channels", {"channels": ["fax"]}, status=422)


async def test_a_widget_embed_picks_its_flow(client: TestClient[Any, Any]) -> None:
    exported = await (await client.get("/api/flows/default/export", headers=AUTH)).text()
    document = yaml.safe_load(exported)
    document.update(id="events")
    document["texts"]["greeting"] = "Hi from the events page!"
    await client.post("/api/flows/import", data=yaml.safe_dump(document).encode(), headers=AUTH)
    ws = await client.ws_connect("/ws/chat?flow=events")
    visitor = Visitor(ws)
    visitor.hello = await visitor.next_frame("hello")
    # Not published yet: the default flow.
    assert not (await visitor.greeting())["text"].startswith("Hi from the events page!")
    await visitor.close()
    await call(client, "POST", "/api/flows/events/publish")
    ws = await client.ws_connect("/ws/chat?flow=events")
    visitor = Visitor(ws)
    visitor.hello = await visitor.next_frame("hello")
    assert (await visitor.greeting())["text"].startswith("Hi from the events page!")
    await visitor.close()


async def test_every_change_is_in_the_audit_log(client: TestClient[Any, Any]) -> None:
    _, ada = await make_agent(client.app, "ada@example.com", role="admin", name="Ada")
    await call(
        client, "PUT", "/api/flows/default/draft", with_new_texts(await live_body(client)), headers=ada
    )
    await call(client, "POST", "/api/flows/default/publish", headers=ada)
    await call(client, "POST", "/api/flows/default/rollback", {"version": 1}, headers=ada)
    log = await api_get(client, "/api/audit?flow=default")
    assert [(e["action"], e["actor"], e["version"]) for e in log["items"]] == [
        ("rollback", "ada@example.com", 3),
        ("publish", "ada@example.com", 2),
        ("draft.save", "ada@example.com", None),
        ("seed", "seed", 1),
    ]
    assert "text `greeting` changed" in log["items"][1]["changes"]


async def test_agents_and_strangers_are_refused(client: TestClient[Any, Any]) -> None:
    _, agent = await make_agent(client.app, "sam@example.com")
    body = await live_body(client)
    for method, path, payload in [
        ("GET", "/api/flows", None),
        ("GET", "/api/flows/default", None),
        ("PUT", "/api/flows/default/draft", body),
        ("POST", "/api/flows/default/publish", None),
        ("POST", "/api/flows/default/rollback", {"version": 1}),
        ("GET", "/api/flows/default/versions", None),
        ("GET", "/api/flows/default/experiments", None),
        ("POST", "/api/flows/default/preview", {}),
        ("GET", "/api/audit", None),
    ]:
        refused = await call(client, method, path, payload, status=403, headers=agent)
        assert "only admins" in refused["message"]
        await call(client, method, path, payload, status=401, headers={"Authorization": "Bearer nope"})


async def test_unknown_flows_and_versions_are_404(client: TestClient[Any, Any]) -> None:
    await call(client, "GET", "/api/flows/nope", status=404)
    await call(client, "GET", "/api/flows/default/versions/7", status=404)
    await call(client, "POST", "/api/flows/default/publish", status=422)  # no draft
    await call(client, "DELETE", "/api/flows/default/draft", status=404)
    await call(client, "GET", "/api/flows/default/diff?from=1", status=400)
    body = await live_body(client)
    body["id"] = "other"
    await call(client, "PUT", "/api/flows/default/draft", body, status=422)
