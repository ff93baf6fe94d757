"""One owner at a time: claim, reply, note, release, transfer and close through the API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.flows import Flow
from bot.qualifier.graph import Qualifier, Turn
from bot.qualifier.state import Memory
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.agents import make_agent
from tests.support.visitor import Visitor


async def _post(client: TestClient[Any, Any], path: str, headers: dict[str, str], body: Any = None) -> Any:
    response = await client.post(path, json=body, headers=headers)
    return response.status, await response.json()


async def _handed_off(client: TestClient[Any, Any]) -> Visitor:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("We need a CRM")
    await v.say("Initech")
    await v.say("can I talk to a person?")
    return v


async def test_claim_reply_and_note(client: TestClient[Any, Any]) -> None:
    dana, dana_auth = await make_agent(client.app, "dana@example.com", name="Dana")
    _, fox_auth = await make_agent(client.app, "fox@example.com", name="Fox")
    v = await _handed_off(client)
    base = f"/api/conversations/{v.conversation_id}"

    status, claimed = await _post(client, f"{base}/claim", dana_auth)
    assert status == 200 and claimed["mode"] == "human" and claimed["agent_id"] == dana.id
    joined = await v.next_frame("message")
    assert joined["from"] == "system" and joined["text"] == "Dana joined the conversation."
    assert (await _post(client, f"{base}/claim", dana_auth))[0] == 200  # claiming twice is harmless
    status, refused = await _post(client, f"{base}/claim", fox_auth)
    assert status == 409 and refused["error"] == "conflict"

    status, sent = await _post(client, f"{base}/reply", dana_auth, {"text": "Hi, I'm Dana. How can I help?"})
    assert status == 201 and sent["from"] == "agent" and sent["author"] == "Dana"
    shown = await v.next_frame("message")
    assert (shown["from"], shown["author"], shown["text"]) == (
        "agent",
        "Dana",
        "Hi, I'm Dana. How can I help?",
    )
    assert (await _post(client, f"{base}/reply", fox_auth, {"text": "me too"}))[0] == 409
    assert (await _post(client, f"{base}/reply", dana_auth, {"text": "  "}))[0] == 422
    assert (await _post(client, f"{base}/reply", dana_auth, {"text": "x" * 4001}))[0] == 422
    assert (await _post(client, f"{base}/reply", dana_auth, ["not", "an", "object"]))[0] == 400

    status, note = await _post(client, f"{base}/note", fox_auth, {"text": "Big account, be nice"})
    assert status == 201 and note["private"] is True
    # the visitor's next frame is the bot-free reply to their own message, never the note
    await v.send("thanks!")
    await v.next_frame("ack")
    await settle(client.app)
    conv = await api_get(client, base)
    assert [m["text"] for m in conv["messages"] if m["private"]] == ["Big account, be nice"]
    assert not [f for f in v.frames if f.get("text") == "Big account, be nice"]
    assert conv["messages"][-1]["from"] == "visitor"  # the bot stays quiet while Dana owns it


async def test_anonymous_callers_are_refused(client: TestClient[Any, Any]) -> None:
    v = await _handed_off(client)
    response = await client.post(f"/api/conversations/{v.conversation_id}/claim")
    assert response.status == 401


class GatedQualifier(Qualifier):
    """Holds every bot turn until the test opens the gate, to stage the owner race."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def turn(self, flow: Flow, *, text: str, memory: Memory, **kwargs: Any) -> Turn:
        self.entered.set()
        await self.gate.wait()
        return await super().turn(flow, text=text, memory=memory, **kwargs)


async def test_a_bot_turn_running_when_an_agent_claims_sends_nothing(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    qualifier = GatedQualifier()
    client = await aiohttp_client(create_app(make_settings(tmp_path), qualifier=qualifier))
    _, auth = await make_agent(client.app, "dana@example.com", name="Dana")
    v = await Visitor.connect(client)
    await v.greeting()
    await v.send("We need a CRM")
    await v.next_frame("ack")
    async with asyncio.timeout(10):
        await qualifier.entered.wait()  # the bot is thinking …
    status, _ = await _post(
        client, f"/api/conversations/{v.conversation_id}/claim", auth
    )  # … Dana takes over
    assert status == 200
    qualifier.gate.set()
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert [m["from"] for m in conv["messages"]] == ["bot", "visitor", "system"]
    assert conv["mode"] == "human"


async def test_release_hands_back_to_a_bot_that_never_re_asks(client: TestClient[Any, Any]) -> None:
    _, auth = await make_agent(client.app, "dana@example.com", name="Dana")
    v = await _handed_off(client)
    base = f"/api/conversations/{v.conversation_id}"
    await _post(client, f"{base}/claim", auth)
    status, released = await _post(client, f"{base}/release", auth)
    assert status == 200 and released["mode"] == "bot" and released["agent_id"] is None
    resumed = await v.next_frame("message", lambda f: f["from"] == "bot")
    assert resumed["expects"]["slot"] == "team_size" and "pick up where we left off" in resumed["text"]
    asked = []
    reply = await v.say("about 40")
    while reply["expects"] is not None:
        asked.append(reply["expects"]["slot"])
        reply = await v.say("jo@initech.com" if reply["expects"]["slot"] == "email" else "skip")
    assert "need" not in asked and "company" not in asked and "team_size" not in asked
    assert (await _post(client, f"{base}/release", auth))[0] == 409  # not Dana's any more


async def test_transfer_to_an_agent_or_a_team(client: TestClient[Any, Any]) -> None:
    _, dana_auth = await make_agent(client.app, "dana@example.com", name="Dana")
    fox, fox_auth = await make_agent(client.app, "fox@example.com", name="Fox", teams=["enterprise"])
    v = await _handed_off(client)
    base = f"/api/conversations/{v.conversation_id}"
    await _post(client, f"{base}/claim", dana_auth)

    status, moved = await _post(client, f"{base}/transfer", dana_auth, {"agent": "fox@example.com"})
    assert status == 200 and moved["agent_id"] == fox.id and moved["mode"] == "human"
    assert await v.next_frame("message", lambda f: f["from"] == "system" and "Fox" in f["text"])
    assert (await _post(client, f"{base}/reply", dana_auth, {"text": "still me?"}))[0] == 409
    assert (await _post(client, f"{base}/reply", fox_auth, {"text": "Fox here"}))[0] == 201

    status, queued = await _post(client, f"{base}/transfer", fox_auth, {"team": "sales"})
    assert status == 200 and queued["mode"] == "pending_human" and queued["team"] == "sales"
    assert queued["handoff_reason"] == "transferred" and queued["routing_reasons"] == [
        "transferred to team sales by Fox"
    ]
    assert (await _post(client, f"{base}/transfer", fox_auth, {"agent": "nobody@example.com"}))[0] == 422
    assert (await _post(client, f"{base}/transfer", fox_auth, {}))[0] == 422


@pytest.mark.parametrize(
    ("outcome", "value", "status"), [("converted", 12000, "converted"), ("lost", None, "lost")]
)
async def test_close_records_the_outcome_on_the_lead(
    client: TestClient[Any, Any], outcome: str, value: int | None, status: str
) -> None:
    _, auth = await make_agent(client.app, "dana@example.com", name="Dana")
    v = await _handed_off(client)
    base = f"/api/conversations/{v.conversation_id}"
    await _post(client, f"{base}/claim", auth)
    assert (await _post(client, f"{base}/close", auth, {"outcome": "won"}))[0] == 422
    assert (await _post(client, f"{base}/close", auth, {"outcome": outcome, "value": -5}))[0] == 422
    code, closed = await _post(client, f"{base}/close", auth, {"outcome": outcome, "value": value})
    assert code == 200 and closed["mode"] == "closed" and closed["outcome"] == outcome
    lead = (await api_get(client, base))["lead"]
    assert lead["status"] == status
    assert lead["status_history"][-1]["reason"].startswith(f"closed by Dana: {outcome}")
    assert "closed" in (await v.say("hello again"))["text"]  # the bot answers for the closed conversation


async def test_admins_may_act_on_conversations_they_do_not_own(client: TestClient[Any, Any]) -> None:
    _, dana_auth = await make_agent(client.app, "dana@example.com", name="Dana")
    _, boss_auth = await make_agent(client.app, "boss@example.com", name="Boss", role="admin")
    v = await _handed_off(client)
    base = f"/api/conversations/{v.conversation_id}"
    await _post(client, f"{base}/claim", dana_auth)
    assert (await _post(client, f"{base}/release", boss_auth))[0] == 200


async def test_visitors_waiting_see_their_place_in_line(client: TestClient[Any, Any]) -> None:
    first = await _handed_off(client)
    assert (await first.next_frame("queue"))["position"] == 1
    second = await _handed_off(client)
    assert (await second.next_frame("queue"))["position"] == 2
    _, auth = await make_agent(client.app, "dana@example.com", name="Dana")
    await _post(client, f"/api/conversations/{first.conversation_id}/claim", auth)
    assert (await first.next_frame("queue"))["position"] is None
    assert (await second.next_frame("queue"))["position"] == 1
