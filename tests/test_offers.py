"""Offers through the real inbox sockets, with time moved by hand: timeout and decline move them on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import ManualClock
from tests.conftest import ClientFactory, make_settings
from tests.support.inbox import Agent, InboxSocket, add_user, hand_off


async def _two_agents(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> tuple[TestClient[Any, Any], ManualClock, list[tuple[Agent, InboxSocket]]]:
    clock = ManualClock(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    client = await aiohttp_client(create_app(make_settings(tmp_path), clock=clock.now, timers=clock))
    agents = []
    for email, name in (("dana@example.com", "Dana"), ("fox@example.com", "Fox")):
        agent = await Agent.sign_in(client, await add_user(client, email, name=name))
        agents.append((agent, await agent.socket()))
    # Equal load and nobody offered anything yet: the tie goes to the lower agent id.
    agents.sort(key=lambda pair: pair[0].user.id)
    return client, clock, agents


def _offered(frame: dict[str, Any]) -> bool:
    return frame["ended"] is None


async def test_an_offer_not_accepted_in_time_moves_to_the_next_agent(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client, clock, [(first, first_socket), (second, second_socket)] = await _two_agents(
        aiohttp_client, tmp_path
    )
    v = await hand_off(client)
    offer = await first_socket.next_frame("offer", _offered)
    assert offer["conversation_id"] == v.conversation_id
    assert offer["expires_at"] == "2025-03-03T09:01:00+00:00"

    clock.advance(59)
    # A round trip on the second socket: every frame queued for it before the answer has arrived.
    await second_socket.send({"type": "presence", "status": "online"})
    await second_socket.next_frame("presence")
    assert not [f for f in second_socket.frames if f["type"] == "offer"]  # still the first agent's
    clock.advance(2)
    expired = await first_socket.next_frame("offer")
    assert expired["ended"] == "expired"
    moved = await second_socket.next_frame("offer", _offered)
    assert moved["conversation_id"] == v.conversation_id

    await first.api("POST", f"/api/conversations/{v.conversation_id}/decline", status=409)  # not theirs now
    await second.api("POST", f"/api/conversations/{v.conversation_id}/claim")
    joined = await v.next_frame("message", lambda f: f["from"] == "system")
    assert joined["text"] == f"{second.user.name} joined the conversation."
    for agent in (first, second):
        await agent.close()


async def test_a_declined_offer_goes_to_the_next_agent_at_once(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client, _, [(first, first_socket), (second, second_socket)] = await _two_agents(aiohttp_client, tmp_path)
    v = await hand_off(client)
    await first_socket.next_frame("offer", _offered)
    assert await first.api("POST", f"/api/conversations/{v.conversation_id}/decline") == {"declined": True}
    assert (await first_socket.next_frame("offer"))["ended"] == "declined"
    assert (await second_socket.next_frame("offer", _offered))["conversation_id"] == v.conversation_id
    for agent in (first, second):
        await agent.close()
