"""The flow preview: a test chat on a flow that stores nothing (no conversation, no lead, nothing in
the inbox), and the admin session + CSRF rules of the flows API."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from tests.conftest import api_call as call
from tests.conftest import api_get, settle
from tests.support.agents import make_agent
from tests.support.inbox import Agent, add_user, hand_off
from tests.support.visitor import Visitor

PREVIEW = "/api/flows/default/preview"
UNSAVED_GREETING = "Hello from a flow nobody has saved yet!"
DRAFT_GREETING = "Hello from the saved draft!"
B_GREETING = "Hey! Two minutes of questions and you're through to the team."
B_COMPANY = "Which organisation do you work for?"
HANDED_OFF = "Of course — I'm bringing in a person from our team. They'll reply right here."


async def preview(client: TestClient[Any, Any], body: dict[str, Any], status: int = 200) -> Any:
    return await call(client, "POST", PREVIEW, body, status=status)


async def live_body(client: TestClient[Any, Any]) -> dict[str, Any]:
    return copy.deepcopy((await api_get(client, "/api/flows/default"))["live"])


def with_experiments(body: dict[str, Any]) -> dict[str, Any]:
    body["experiments"] = [
        {
            "id": "short-greeting",
            "target": "texts.greeting",
            "variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1, "text": B_GREETING}],
        },
        {
            "id": "company-question",
            "target": "slots.company.question",
            "variants": [{"id": "a"}, {"id": "b", "text": B_COMPANY}],
        },
    ]
    return body


async def totals(client: TestClient[Any, Any]) -> dict[str, int]:
    """How many conversations, leads, waiting conversations and flow audit entries the store holds
    (reading them through the API adds access entries, which are not the preview's doing)."""
    return {
        "conversations": len((await api_get(client, "/api/conversations?limit=200"))["items"]),
        "leads": len((await api_get(client, "/api/leads?limit=200"))["items"]),
        "waiting": len((await api_get(client, "/api/conversations?mode=pending_human&limit=200"))["items"]),
        "audit": len((await api_get(client, "/api/audit?kind=flows&limit=200"))["items"]),
    }


async def test_opening_gives_the_greeting_first_question_and_a_state(client: TestClient[Any, Any]) -> None:
    live = await live_body(client)
    opened = await preview(client, {"state": None, "text": None})
    [message] = opened["messages"]
    assert message["text"] == f"{live['texts']['greeting']}\n\n{live['slots'][0]['question']}"
    assert message["expects"] == {"slot": "need", "input": "text", "choices": []}
    assert opened["state"] == {"memory": {"asked": "need"}, "slots": {}, "details": {}, "skipped": []}
    assert opened["slots"] == {} and opened["skipped"] == []
    assert opened["decision"] == "ask" and opened["handoff_reason"] is None
    assert opened["score"] == {
        "score": 0,
        "grade": "D",
        "temperature": "cold",
        "qualified": False,
        "reasons": [],
    }
    assert opened["variants"] == {}
    # An empty body opens the chat the same way.
    assert await preview(client, {}) == opened


async def test_answers_move_the_slots_and_the_score_along(client: TestClient[Any, Any]) -> None:
    state = (await preview(client, {}))["state"]

    turn = await preview(client, {"state": state, "text": "We need better lead routing"})
    [reply] = turn["messages"]
    assert reply["text"].endswith("Which company are you with?")
    assert turn["slots"] == {"need": "We need better lead routing"} and turn["score"]["score"] == 0
    assert turn["state"]["memory"]["asked"] == "company"

    budget = await preview(client, {"state": turn["state"], "text": "ten grand a month"})
    assert budget["slots"]["budget_monthly"] == 10000
    assert budget["score"]["score"] == 30
    assert budget["score"]["reasons"] == ["budget_monthly ≥ 5000: +30"]
    assert budget["state"]["details"]["budget_monthly"]["raw"] == "ten grand a month"
    # The state travels with the request: the same state and text give the same turn again.
    assert await preview(client, {"state": turn["state"], "text": "ten grand a month"}) == budget

    team = await preview(client, {"state": budget["state"], "text": "about fifty people"})
    assert team["slots"]["team_size"] == 50
    assert team["score"]["score"] == 45
    assert team["score"]["reasons"] == ["budget_monthly ≥ 5000: +30", "team_size ≥ 50: +15"]
    assert (team["score"]["grade"], team["score"]["temperature"], team["score"]["qualified"]) == (
        "C",
        "cold",
        False,
    )

    skipped = await preview(client, {"state": team["state"], "text": "skip"})
    assert skipped["skipped"] == ["company"] and skipped["state"]["skipped"] == ["company"]
    assert skipped["messages"][0]["text"].startswith("No problem.")


async def test_an_unsaved_body_is_previewed_as_sent(client: TestClient[Any, Any]) -> None:
    body = await live_body(client)
    body["texts"]["greeting"] = UNSAVED_GREETING
    body["slots"][1]["question"] = B_COMPANY
    opened = await preview(client, {"flow": body})
    assert opened["messages"][0]["text"].startswith(UNSAVED_GREETING)
    turn = await preview(client, {"flow": body, "state": opened["state"], "text": "We need a CRM"})
    assert turn["messages"][0]["text"].endswith(B_COMPANY)
    # Nothing was saved: no draft, and without `flow` the preview is of the live version again.
    flow = await api_get(client, "/api/flows/default")
    assert flow["draft"] is None and flow["live_version"] == 1
    assert not (await preview(client, {}))["messages"][0]["text"].startswith(UNSAVED_GREETING)


async def test_the_saved_draft_is_previewed_while_it_is_valid(client: TestClient[Any, Any]) -> None:
    body = await live_body(client)
    body["texts"]["greeting"] = DRAFT_GREETING
    await call(client, "PUT", "/api/flows/default/draft", body)
    assert (await preview(client, {}))["messages"][0]["text"].startswith(DRAFT_GREETING)
    body["scoring"]["rules"][0]["slot"] = "budget"  # no such slot: the draft has a problem
    saved = await call(client, "PUT", "/api/flows/default/draft", body)
    assert not saved["valid"]
    live = await live_body(client)
    assert (await preview(client, {}))["messages"][0]["text"].startswith(live["texts"]["greeting"])


async def test_variants_pick_the_text_to_preview(client: TestClient[Any, Any]) -> None:
    body = with_experiments(await live_body(client))
    control = await preview(client, {"flow": body})
    assert control["variants"] == {"short-greeting": "a", "company-question": "a"}
    assert control["messages"][0]["text"].startswith(body["texts"]["greeting"])

    chosen = {"short-greeting": "b", "company-question": "b"}
    opened = await preview(client, {"flow": body, "variants": chosen})
    assert opened["variants"] == chosen
    assert opened["messages"][0]["text"].startswith(B_GREETING)
    turn = await preview(
        client, {"flow": body, "variants": chosen, "state": opened["state"], "text": "We need a CRM"}
    )
    assert turn["messages"][0]["text"].endswith(B_COMPANY)

    # One experiment chosen: the others show their control.
    only_company = await preview(client, {"flow": body, "variants": {"company-question": "b"}})
    assert only_company["variants"] == {"short-greeting": "a", "company-question": "b"}
    assert only_company["messages"][0]["text"].startswith(body["texts"]["greeting"])

    refused = await preview(client, {"flow": body, "variants": ["b"]}, status=422)
    assert "variants" in refused["message"]
    refused = await preview(client, {"flow": body, "variants": {"short-greeting": "zzz"}}, status=422)
    assert "has no variant 'zzz'" in refused["message"]
    refused = await preview(client, {"flow": body, "variants": {"nope": "a"}}, status=422)
    assert "no experiment 'nope'" in refused["message"]


async def test_a_preview_stores_nothing_even_when_it_hands_off(client: TestClient[Any, Any]) -> None:
    ada = await Agent.sign_in(client, await add_user(client, "ada@example.com", name="Ada", role="admin"))
    inbox = await ada.socket()
    await inbox.next_frame("queues")
    earlier = await Visitor.connect(client)  # a real conversation, so the totals are not all zero
    await earlier.greeting()
    await settle(client.app)
    before = await totals(client)
    assert (before["conversations"], before["leads"], before["waiting"]) == (1, 1, 0)

    state = (await preview(client, {}))["state"]
    state = (await preview(client, {"state": state, "text": "We need better lead routing"}))["state"]
    state = (await preview(client, {"state": state, "text": "ten grand a month"}))["state"]
    handed = await preview(client, {"state": state, "text": "I'd like to talk to a person"})
    assert (handed["decision"], handed["handoff_reason"]) == ("handoff", "requested")
    assert [m["text"] for m in handed["messages"]] == [HANDED_OFF]
    assert handed["state"]["memory"]["handed_off"] is True
    # An early-qualified preview hands off too, and is not stored either.
    qualified = await live_body(client)
    qualified["handoff"] = {"score_at_least": 30}
    early = await preview(client, {"flow": qualified, "state": state, "text": "ten grand a month"})
    assert (early["decision"], early["handoff_reason"]) == ("handoff", "qualified")

    await settle(client.app)
    assert await totals(client) == before
    # The inbox heard nothing of the preview: the first waiting list it gets holds only a real
    # handoff made after it (frames arrive in order, so a preview's would have come first).
    visitor = await hand_off(client)
    lists = await inbox.next_frame("queues", lambda f: bool(f["waiting"]))
    assert [c["id"] for c in lists["waiting"]] == [visitor.conversation_id]
    assert {f["conversation_id"] for f in inbox.frames if f["type"] == "offer"} <= {visitor.conversation_id}
    after = await totals(client)
    assert (after["conversations"], after["leads"], after["waiting"]) == (2, 2, 1)
    for socket in (visitor, earlier, inbox):
        await socket.close()
    await ada.close()


async def test_what_cannot_be_previewed_is_refused(client: TestClient[Any, Any]) -> None:
    body = await live_body(client)
    body["scoring"]["rules"].append({"slot": "budget", "op": "gte", "value": 1, "points": 5})
    invalid = await preview(client, {"flow": body}, status=422)
    assert invalid["error"] == "invalid"
    assert invalid["problems"] == [{"path": "scoring.rules.10.slot", "message": "unknown slot 'budget'"}]
    not_a_flow = await preview(client, {"flow": ["a", "list"]}, status=422)
    assert [p["path"] for p in not_a_flow["problems"]] == [""]

    good = (await preview(client, {}))["state"]
    for state in [
        "garbage",
        [],
        {},
        {"memory": {"asked": "need"}},  # slots, details and skipped missing
        {**good, "memory": "asked"},
        {**good, "slots": []},
    ]:
        refused = await preview(client, {"state": state, "text": "hello"}, status=422)
        assert "state" in refused["message"], state
    unknown_slot = {**good, "memory": {"asked": "nope"}}
    unusable = await preview(client, {"state": unknown_slot, "text": "hi"}, status=422)
    assert "restart the preview" in unusable["message"]

    longest = client.app[keys.SETTINGS].max_message_chars
    fits = await preview(client, {"state": good, "text": "x" * longest})
    assert fits["decision"] == "ask"
    for text in ["x" * (longest + 1), "   ", 42]:
        refused = await preview(client, {"state": good, "text": text}, status=422)
        assert "text must be a non-empty string" in refused["message"]
    await call(client, "POST", "/api/flows/nope/preview", {}, status=404)


async def test_agents_may_not_preview(client: TestClient[Any, Any]) -> None:
    _, agent = await make_agent(client.app, "sam@example.com")
    refused = await call(client, "POST", PREVIEW, {}, status=403, headers=agent)
    assert refused["error"] == "forbidden" and "only admins" in refused["message"]
    _, admin = await make_agent(client.app, "ada@example.com", role="admin")
    assert (await call(client, "POST", PREVIEW, {}, headers=admin))["decision"] == "ask"


# -- sessions and CSRF ------------------------------------------------------------------


async def test_an_admin_session_needs_the_csrf_token_and_an_agent_session_is_refused(
    client: TestClient[Any, Any],
) -> None:
    ada = await Agent.sign_in(client, await add_user(client, "ada@example.com", name="Ada", role="admin"))
    sam = await Agent.sign_in(client, await add_user(client, "sam@example.com", name="Sam"))
    body = await live_body(client)

    body["texts"]["greeting"] = "Sent without the CSRF token"
    async with ada.http.put(client.make_url("/api/flows/default/draft"), json=body) as response:
        refused = await response.json()
        assert response.status == 403 and refused["error"] == "csrf", refused
    async with ada.http.post(client.make_url(PREVIEW), json={}) as response:
        assert response.status == 403 and (await response.json())["error"] == "csrf"
    assert (await api_get(client, "/api/flows/default"))["draft"] is None

    body["texts"]["greeting"] = DRAFT_GREETING
    saved = await ada.api("PUT", "/api/flows/default/draft", body)
    assert saved["valid"] and "text `greeting` changed" in saved["changes"]
    opened = await ada.api("POST", PREVIEW, {})
    assert opened["messages"][0]["text"].startswith(DRAFT_GREETING)
    flow = await api_get(client, "/api/flows/default")
    assert flow["draft"] == body and flow["draft_updated_by"] == "ada@example.com"

    body["texts"]["greeting"] = "Sent by an agent"
    refused = await sam.api("PUT", "/api/flows/default/draft", body, status=403)
    assert refused["error"] == "forbidden" and "only admins" in refused["message"]
    await sam.api("POST", PREVIEW, {}, status=403)
    await sam.api("GET", "/api/flows/default", status=403)
    assert (await api_get(client, "/api/flows/default"))["draft"]["texts"]["greeting"] == DRAFT_GREETING
    await ada.close()
    await sam.close()
