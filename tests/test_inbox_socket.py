"""The agent socket `/ws/inbox` over real websockets: sign-in, lists, offers, open conversations,
typing both ways, presence and refusals. Agents act through the API as the inbox page does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.auth.users import User
from bot.clock import ManualClock
from bot.inbox import socket as inbox_socket
from tests.conftest import ClientFactory, make_settings
from tests.support.inbox import Agent, InboxSocket, add_user, hand_off
from tests.support.visitor import Frame, Visitor

SignIn = Callable[..., Awaitable[Agent]]


@pytest.fixture
async def sign_in(client: TestClient[Any, Any]) -> AsyncIterator[SignIn]:
    """Add a user and sign them in: `await sign_in("dana@example.com", name="Dana", …)`."""
    agents: list[Agent] = []

    async def make(email: str, **details: Any) -> Agent:
        user = await add_user(client, email, **details)
        agents.append(await Agent.sign_in(client, user))
        return agents[-1]

    yield make
    for agent in agents:
        await agent.close()


def waiting_ids(frame: Frame) -> list[str]:
    return [c["id"] for c in frame["waiting"]]


async def connected(agent: Agent) -> InboxSocket:
    """A socket past its hello and first lists."""
    inbox = await agent.socket()
    await inbox.next_frame("queues")
    return inbox


# -- who may connect -------------------------------------------------------------------


async def test_only_signed_in_agents_open_the_inbox(client: TestClient[Any, Any], sign_in: SignIn) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/inbox")
    assert refused.value.status == 401
    plain = await client.get("/ws/inbox")
    assert plain.status == 401 and (await plain.json())["error"] == "unauthorized"
    page = await client.get("/inbox", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/login?next=/inbox"

    dana = await sign_in("dana@example.com", name="Dana Scully")
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await dana.socket(Origin="https://evil.example")
    assert foreign.value.status == 403
    own = await dana.socket(Origin=str(client.make_url("/")).rstrip("/"))
    assert own.hello["type"] == "hello"


async def test_the_inbox_page_is_locked_down(client: TestClient[Any, Any], sign_in: SignIn) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    async with dana.http.get(client.make_url("/inbox")) as page:
        html = await page.text()
        assert page.status == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert '<script src="/static/inbox.js" defer></script>' in html
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html


async def test_hello_says_who_is_signed_in_and_the_lists_follow(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully", teams=("sales",))
    inbox = await dana.socket()
    assert inbox.hello["agent"] == {
        "id": dana.user.id,
        "name": "Dana Scully",
        "email": "dana@example.com",
        "role": "agent",
        "teams": ["sales"],
        "capacity": 5,
    }
    assert inbox.hello["presence"] == "online" and inbox.hello["offers"] == []
    lists = await inbox.next_frame("queues")
    assert lists["waiting"] == [] and lists["mine"] == [] and lists["offers"] == []
    assert lists["all_open"] is None  # admins only
    assert {
        "id": dana.user.id,
        "name": "Dana Scully",
        "role": "agent",
        "teams": ["sales"],
        "presence": "online",
    } in (lists["agents"])
    assert "sales" in lists["teams"]


# -- the lists, live --------------------------------------------------------------------


async def test_a_handoff_reaches_the_agent_live_and_a_claim_moves_it(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    inbox = await connected(dana)

    visitor = await hand_off(client)
    conv_id = visitor.conversation_id
    lists = await inbox.next_frame("queues", lambda f: bool(f["waiting"]))
    [waiting] = lists["waiting"]
    assert waiting["id"] == conv_id and waiting["mode"] == "pending_human"
    assert waiting["position"] == 1 and waiting["team"] == "sales"
    assert waiting["handoff_reason"] == "requested" and waiting["reason"] == "The visitor asked for a person"
    assert waiting["lead"]["company"] == "Acme Corp" and waiting["lead"]["temperature"] == "cold"
    assert waiting["queued_at"] is not None and waiting["offer"]["agent_id"] == dana.user.id
    # Dana is online with room: the dispatcher offers it to her, and only her socket hears of it.
    offer = next(f for f in inbox.frames if f["type"] == "offer")
    assert offer["conversation_id"] == conv_id and offer["ended"] is None and offer["expires_at"]
    assert [o["conversation_id"] for o in lists["offers"]] == [conv_id]

    await dana.api("POST", f"/api/conversations/{conv_id}/claim")
    lists = await inbox.next_frame("queues", lambda f: bool(f["mine"]))
    assert lists["waiting"] == [] and lists["offers"] == []
    [mine] = lists["mine"]
    assert mine["id"] == conv_id and mine["agent"] == {"id": dana.user.id, "name": "Dana Scully"}
    joined = await visitor.next_frame("message", lambda f: f["from"] == "system")
    assert joined["text"] == "Dana Scully joined the conversation."

    await dana.api("POST", f"/api/conversations/{conv_id}/release")
    lists = await inbox.next_frame("queues", lambda f: not f["mine"])
    assert lists["waiting"] == []


async def test_an_offer_goes_only_to_its_agent_and_a_decline_passes_it_on(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully", teams=("sales",))
    eve = await sign_in("eve@example.com", name="Eve Moneypenny", teams=("dach",))
    dana_inbox, eve_inbox = await connected(dana), await connected(eve)

    conv_id = (await hand_off(client)).conversation_id
    await dana_inbox.next_frame("offer", lambda f: f["conversation_id"] == conv_id)
    lists = await eve_inbox.next_frame("queues", lambda f: conv_id in waiting_ids(f))
    assert lists["offers"] == [] and not [f for f in eve_inbox.frames if f["type"] == "offer"]

    finn = await sign_in("finn@example.com", name="Finn", teams=("sales",))
    finn_inbox = await finn.socket()
    assert finn_inbox.hello["offers"] == []  # it is Dana's for now
    await dana.api("POST", f"/api/conversations/{conv_id}/decline")
    ended = await dana_inbox.next_frame("offer", lambda f: f["ended"] is not None)
    assert ended["ended"] == "declined" and ended["conversation_id"] == conv_id
    passed_on = await finn_inbox.next_frame("offer")
    assert passed_on["conversation_id"] == conv_id and passed_on["ended"] is None
    refused = await dana.api("POST", f"/api/conversations/{conv_id}/decline", status=409)
    assert refused["error"] == "conflict"


async def test_admins_see_every_open_conversation(client: TestClient[Any, Any], sign_in: SignIn) -> None:
    ada = await sign_in("ada@example.com", name="Ada", role="admin")
    admin_inbox = await connected(ada)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say("Forecasting for our pipeline")
    lists = await admin_inbox.next_frame(
        "queues", lambda f: visitor.conversation_id in [c["id"] for c in f["all_open"]]
    )
    [with_bot] = [c for c in lists["all_open"] if c["id"] == visitor.conversation_id]
    assert with_bot["mode"] == "bot" and with_bot["agent"] is None


async def test_away_agents_get_no_offers_and_every_tab_follows(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    first_tab, second_tab = await connected(dana), await connected(dana)
    await first_tab.send({"type": "presence", "status": "away"})
    assert (await first_tab.next_frame("presence"))["status"] == "away"
    assert (await second_tab.next_frame("presence"))["status"] == "away"

    conv_id = (await hand_off(client)).conversation_id
    lists = await first_tab.next_frame("queues", lambda f: conv_id in waiting_ids(f))
    assert lists["offers"] == [] and not [f for f in first_tab.frames if f["type"] == "offer"]
    [me] = [a for a in lists["agents"] if a["id"] == dana.user.id]
    assert me["presence"] == "away"

    await second_tab.send({"type": "presence", "status": "online"})
    offer = await first_tab.next_frame("offer")
    assert offer["conversation_id"] == conv_id and offer["ended"] is None


# -- an open conversation ---------------------------------------------------------------


async def test_opening_a_conversation_sends_its_package_its_history_then_live_messages(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    visitor = await hand_off(client)
    conv_id = visitor.conversation_id
    inbox = await connected(dana)

    await inbox.send({"type": "open", "conversation_id": conv_id})
    package = (await inbox.next_frame("conversation"))["conversation"]
    assert package["id"] == conv_id and package["channel"] == "web" and package["mode"] == "pending_human"
    assert package["reason"] == "The visitor asked for a person"
    assert "Acme Corp" in package["summary"] and "better lead routing" in package["summary"]
    slots = {s["name"]: s for s in package["slots"]}
    assert slots["company"] == {"name": "company", "title": "company", "value": "Acme Corp", "skipped": False}
    assert slots["budget_monthly"]["title"] == "monthly budget" and slots["budget_monthly"]["value"] is None
    assert package["lead"]["score"] == 0 and package["lead"]["grade"] == "D"
    assert package["routing_reasons"] and package["position"] == 1
    assert package["actions"]["claim"] and package["actions"]["decline"] and not package["actions"]["reply"]
    history = [await inbox.next_frame("message") for _ in range(7)]  # greeting, 3 answers, 3 replies
    assert [m["seq"] for m in history] == list(range(1, 8))
    assert history[3]["from"] == "visitor" and history[3]["text"] == "Acme Corp"

    await dana.api("POST", f"/api/conversations/{conv_id}/claim")
    joined = await inbox.next_frame("message")
    assert joined["from"] == "system" and joined["text"] == "Dana Scully joined the conversation."
    claimed = (await inbox.next_frame("conversation", lambda f: f["conversation"]["mode"] == "human"))[
        "conversation"
    ]
    assert claimed["actions"]["reply"] and claimed["actions"]["release"] and not claimed["actions"]["claim"]

    await visitor.send("Are you there?")
    live = await inbox.next_frame("message")
    assert (
        live["from"] == "visitor" and live["text"] == "Are you there?" and live["conversation_id"] == conv_id
    )

    await dana.api(
        "POST", f"/api/conversations/{conv_id}/note", {"text": "Wants a demo next week"}, status=201
    )
    note = await inbox.next_frame("message")
    assert note["private"] is True and note["author"] == "Dana Scully" and note["from"] == "agent"
    await dana.api("POST", f"/api/conversations/{conv_id}/reply", {"text": "Yes, hi! I'm Dana."}, status=201)
    reply = await inbox.next_frame("message")
    assert reply["private"] is False and reply["text"] == "Yes, hi! I'm Dana."
    heard = await visitor.next_frame("message", lambda f: f["from"] == "agent")
    assert heard["text"] == "Yes, hi! I'm Dana." and heard["author"] == "Dana Scully"  # never the note


async def test_listed_conversations_report_activity_without_their_text(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    inbox = await connected(dana)
    visitor = await hand_off(client)
    await inbox.next_frame("queues", lambda f: visitor.conversation_id in waiting_ids(f))
    await visitor.send("Hello?")
    activity = await inbox.next_frame("activity")
    assert activity["conversation_id"] == visitor.conversation_id and activity["from"] == "visitor"
    assert "text" not in activity


# -- typing, both ways ------------------------------------------------------------------


async def test_typing_reaches_the_agent_and_the_visitor(
    client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    inbox = await connected(dana)
    visitor = await hand_off(client)
    conv_id = visitor.conversation_id
    await inbox.next_frame("queues", lambda f: conv_id in waiting_ids(f))

    await visitor.ws.send_json({"type": "typing"})
    typing = await inbox.next_frame("typing")
    assert typing == {"type": "typing", "conversation_id": conv_id, "from": "visitor", "author": None}

    await inbox.send({"type": "typing", "conversation_id": conv_id})
    refused = await inbox.next_frame("error")
    assert refused["code"] == "not_owner"  # nobody should see "Dana is typing" before she joins

    await dana.api("POST", f"/api/conversations/{conv_id}/claim")
    await inbox.send({"type": "typing", "conversation_id": conv_id})
    shown = await visitor.next_frame("typing")
    assert shown == {"type": "typing", "from": "agent", "author": "Dana Scully"}


# -- falling behind ------------------------------------------------------------------------


async def test_a_socket_that_falls_behind_catches_up_from_the_store(
    client: TestClient[Any, Any], sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_socket, "QUEUE_LIMIT", 4)  # a small queue, so a burst overflows it
    dana = await sign_in("dana@example.com", name="Dana Scully")
    visitor = await hand_off(client)
    conv_id = visitor.conversation_id
    inbox = await connected(dana)
    await inbox.send({"type": "open", "conversation_id": conv_id})
    await inbox.next_frame("conversation")
    history = [await inbox.next_frame("message") for _ in range(7)]

    # Published in one go, so nothing is written in between: the queue overflows.
    for _ in range(10):
        client.app[keys.CONVERSATIONS].typing(conv_id, "visitor")
    await dana.api("POST", f"/api/conversations/{conv_id}/note", {"text": "written meanwhile"}, status=201)

    # It resyncs (presence, lists, the open conversation) and the note arrives, once.
    await inbox.next_frame("presence")
    await inbox.next_frame("queues")
    await inbox.next_frame("conversation")
    note = await inbox.next_frame("message", lambda f: f["text"] == "written meanwhile")
    await inbox.send({"type": "presence", "status": "away"})
    await inbox.next_frame("presence", lambda f: f["status"] == "away")
    seqs = [f["seq"] for f in inbox.frames if f["type"] == "message"]
    assert seqs == [m["seq"] for m in history] + [note["seq"]]


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"no": "type"}', "unknown_type"),
        ('{"type": "open"}', "bad_frame"),
        ('{"type": "open", "conversation_id": 42}', "bad_frame"),
        ('{"type": "open", "conversation_id": ""}', "bad_frame"),
        ('{"type": "open", "conversation_id": "nope"}', "not_found"),
        ('{"type": "typing", "conversation_id": "nope"}', "not_found"),
        ('{"type": "typing"}', "bad_frame"),
        ('{"type": "presence", "status": "asleep"}', "bad_frame"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_lives(
    client: TestClient[Any, Any], sign_in: SignIn, raw: str, code: str
) -> None:
    dana = await sign_in("dana@example.com", name="Dana Scully")
    inbox = await connected(dana)
    await inbox.ws.send_str(raw)
    error = await inbox.next_frame("error")
    assert error["code"] == code and error["message"]
    await inbox.ws.send_bytes(b"\x00")
    assert (await inbox.next_frame("error"))["code"] == "bad_frame"
    await inbox.send({"type": "presence", "status": "away"})
    assert (await inbox.next_frame("presence"))["status"] == "away"


# -- the sign-in must keep holding --------------------------------------------------------


async def test_signing_out_closes_the_inbox_socket(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    clock = ManualClock()
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data"), clock=clock.now, timers=clock))
    user: User = await add_user(client, "dana@example.com", name="Dana Scully")
    dana = await Agent.sign_in(client, user)
    try:
        inbox = await connected(dana)
        clock.advance(61)  # a check while signed in keeps the socket open
        await inbox.send({"type": "presence", "status": "away"})
        assert (await inbox.next_frame("presence"))["status"] == "away"

        async with dana.http.post(client.make_url("/logout"), data={"csrf_token": dana.csrf}) as out:
            assert out.status in (200, 303)
        clock.advance(61)
        while True:
            msg = await inbox.ws.receive(timeout=10)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                break
        assert inbox.ws.close_code == 4401
    finally:
        await dana.close()
