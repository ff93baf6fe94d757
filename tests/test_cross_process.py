"""Several processes on one MongoDB and one Redis see each other's events live, and answer each
conversation once. Two apps in this test process stand for two `leadbot serve` processes: each
has its own bus, locks and sockets, and they share only the wire stand-in and a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.bus import MessageCreated, Resync
from bot.bus_bridge import EVENT_TYPES, decode, encode
from bot.models import Inbound
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.inbox import Agent, add_user, hand_off
from tests.support.mongo_wire import MongoWireStandIn
from tests.support.visitor import Visitor


@pytest.fixture(scope="module")
def wire() -> Any:
    with MongoWireStandIn() as server:
        yield server


@pytest.fixture
async def pair(
    aiohttp_client: ClientFactory, tmp_path: Path, wire: Any, redis_url: str
) -> AsyncIterator[tuple[TestClient[Any, Any], TestClient[Any, Any]]]:
    database = f"pair_{secrets.token_hex(4)}"
    env = {"MONGODB_URI": wire.uri, "LEADBOT_DATABASE": database, "LEADBOT_REDIS_URL": redis_url}
    a = await aiohttp_client(create_app(make_settings(tmp_path / "a", **env)))
    b = await aiohttp_client(create_app(make_settings(tmp_path / "b", **env)))
    yield a, b


async def test_a_visitor_on_one_process_and_an_agent_on_another_see_each_other_live(
    pair: tuple[TestClient[Any, Any], TestClient[Any, Any]],
) -> None:
    a, b = pair
    visitor = await Visitor.connect(a)
    await visitor.greeting()
    dana_user = await add_user(b, "dana@example.com", name="Dana", role="admin")
    dana = {"Authorization": f"Bearer {await b.app[keys.USERS].issue_api_token('dana@example.com')}"}
    agent = await Agent.sign_in(b, dana_user)
    inbox = await agent.socket()
    await inbox.next_frame("queues")
    await inbox.send({"type": "open", "conversation_id": visitor.conversation_id})
    await inbox.next_frame("conversation")

    # The visitor writes on A: the agent's inbox on B shows it.
    await visitor.say("We need better lead routing")
    seen = await inbox.next_frame("message", lambda f: f["text"] == "We need better lead routing")
    assert seen["conversation_id"] == visitor.conversation_id

    # The agent takes over and replies on B: the visitor's socket on A gets it.
    claimed = await b.post(f"/api/conversations/{visitor.conversation_id}/claim", headers=dana)
    assert claimed.status == 200, await claimed.text()
    replied = await b.post(
        f"/api/conversations/{visitor.conversation_id}/reply", json={"text": "Hi, Dana here."}, headers=dana
    )
    assert replied.status == 201, await replied.text()
    answer = await visitor.next_frame("message", lambda f: f["from"] == "agent")
    assert answer["text"] == "Hi, Dana here." and answer["author"] == "Dana"
    await inbox.close()
    await agent.close()
    await visitor.close()


async def test_each_visitor_message_is_answered_once_whichever_processes_try(
    pair: tuple[TestClient[Any, Any], TestClient[Any, Any]],
) -> None:
    a, b = pair
    conv, _ = await a.app[keys.CONVERSATIONS].start("web")
    for n in range(5):
        inbound = Inbound(
            channel="web", conversation_id=conv.id, text=f"We need help number {n}", client_id=str(n)
        )
        await a.app[keys.CONVERSATIONS].store.record_inbound(inbound)
        # Both processes are told a turn is owed, at the same moment.
        await asyncio.gather(
            a.app[keys.CONVERSATIONS].answer_owed(conv.id), b.app[keys.CONVERSATIONS].answer_owed(conv.id)
        )
    await settle(a.app)
    await settle(b.app)
    history = (await api_get(a, f"/api/conversations/{conv.id}"))["messages"]
    senders = [m["from"] for m in history]
    # The greeting, then each visitor message followed by exactly one bot reply.
    assert senders == ["bot"] + ["visitor", "bot"] * 5, senders
    assert [m["seq"] for m in history] == list(range(1, 12))


async def test_a_message_lost_between_processes_is_read_from_the_store(
    pair: tuple[TestClient[Any, Any], TestClient[Any, Any]],
) -> None:
    """A widget socket that hears of seq 5 after seq 2 reads 3 and 4 from the store."""
    a, _ = pair
    visitor = await Visitor.connect(a)
    greeting = await visitor.greeting()
    convs = a.app[keys.CONVERSATIONS]
    # Written without an event (as if written on another process whose events were lost).
    for n in range(2):
        await convs.store.record_inbound(
            Inbound(
                channel="web", conversation_id=visitor.conversation_id, text=f"lost {n}", client_id=f"l{n}"
            )
        )
    stored, _ = await convs.receive(
        Inbound(channel="web", conversation_id=visitor.conversation_id, text="heard", client_id="h")
    )
    frames = [await visitor.next_frame("message") for _ in range(3)]
    assert [f["seq"] for f in frames] == [greeting["seq"] + 1, greeting["seq"] + 2, stored.seq]
    await settle(a.app)
    await visitor.close()


def test_every_event_type_crosses_the_bridge_intact() -> None:
    from datetime import UTC, datetime

    from bot import bus
    from bot.models import Conversation, FlowRef, Lead, Message

    message = Message(
        id="m", conversation_id="c", seq=3, sender="bot", text="hi", created_at=datetime.now(UTC)
    )
    conversation = Conversation(id="c", channel="web", flow=FlowRef(id="default", version=1), lead_id="l")
    samples = [
        bus.MessageCreated(message, origin="s1"),
        bus.Typing("c", "agent", author="Dana"),
        bus.QueuePosition("c", "sales", 2),
        bus.OfferChanged("c", "u1", datetime.now(UTC), ended="expired"),
        bus.ConversationChanged(conversation, Lead(id="l")),
        bus.DeliveryChanged(message),
        bus.AttachmentsAdded(message),
        bus.ReplyDelta("c", "Hel", reset=False),
        bus.Resync("*"),
        bus.ConversationRemoved("c"),
    ]
    assert {type(e).__name__ for e in samples} == set(EVENT_TYPES)
    for event in samples:
        origin, back = decode(encode(event, "p1"))
        assert origin == "p1" and back == event


async def test_redis_going_away_loses_nothing_and_inboxes_resync_after(
    aiohttp_client: ClientFactory, tmp_path: Path, wire: Any
) -> None:
    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path)  # our own: this test stops it
    server.start()
    try:
        env = {
            "MONGODB_URI": wire.uri,
            "LEADBOT_DATABASE": f"gone_{secrets.token_hex(4)}",
            "LEADBOT_REDIS_URL": server.url,
        }
        a = await aiohttp_client(create_app(make_settings(tmp_path / "a", **env)))
        b = await aiohttp_client(create_app(make_settings(tmp_path / "b", **env)))
        resynced = asyncio.Event()
        b.app[keys.BUS].subscribe("*", lambda e: resynced.set() if isinstance(e, Resync) else None)

        server.stop()
        visitor = await Visitor.connect(a)  # works alone while Redis is gone
        await visitor.greeting()
        reply = await visitor.say("We need better lead routing")
        assert "Which company are you with?" in reply["text"]
        assert (await (await a.get("/healthz")).json())["status"] == "degraded"

        server.start()
        async with asyncio.timeout(15):
            await resynced.wait()  # B's bridge is back and told its inbox sockets to reread
        heard = asyncio.Event()
        b.app[keys.BUS].subscribe(
            visitor.conversation_id, lambda e: heard.set() if isinstance(e, MessageCreated) else None
        )
        async with asyncio.timeout(15):
            while not heard.is_set():  # A's bridge may take a moment longer to be back
                await visitor.say("Acme Corp")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(heard.wait(), 1.0)
        await visitor.close()
    finally:
        server.stop()


async def test_an_agent_on_one_process_is_offered_a_conversation_handed_off_on_another(
    pair: tuple[TestClient[Any, Any], TestClient[Any, Any]],
) -> None:
    a, b = pair
    dana_user = await add_user(b, "dana@example.com", name="Dana", role="agent")
    dana = await Agent.sign_in(b, dana_user)
    inbox = await dana.socket()
    await inbox.next_frame("queues")
    await inbox.send({"type": "presence", "status": "online"})

    visitor = await hand_off(a)  # queued by process A, where no agent is signed in
    offer = await inbox.next_frame("offer", lambda f: f["conversation_id"] == visitor.conversation_id)
    assert offer["ended"] is None
    # Dana accepts on B; the visitor on A sees her join.
    await dana.api("POST", f"/api/conversations/{visitor.conversation_id}/claim")
    await visitor.next_frame("message", lambda f: f["from"] == "system" and "Dana" in f["text"])
    await settle(a.app)
    conv = await api_get(a, f"/api/conversations/{visitor.conversation_id}")
    assert conv["mode"] == "human" and conv["agent_id"] == dana_user.id
    await inbox.close()
    await dana.close()
    await visitor.close()
