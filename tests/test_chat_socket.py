"""The websocket protocol: hello, acks, exactly-once, bad frames, origins, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.visitor import Visitor


async def test_hello_then_greeting_for_a_new_conversation(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    assert set(v.hello) == {"type", "conversation_id", "visitor_token", "last_seq"}
    greeting = await v.greeting()
    assert greeting["seq"] == v.hello["last_seq"] == 1
    assert greeting["expects"] == {"slot": "need", "input": "text", "choices": []}


async def test_a_client_id_sent_twice_is_acked_twice_and_processed_once(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.send("We need better reporting", client_id="dup-1")
    await v.send("We need better reporting", client_id="dup-1")
    first = await v.next_frame("ack")
    second = await v.next_frame("ack")
    assert first == second == {"type": "ack", "id": "dup-1", "seq": first["seq"]}
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert [m["from"] for m in conv["messages"]] == ["bot", "visitor", "bot"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "text": "no id"}', "bad_frame"),
        ('{"type": "message", "id": "m1", "text": "   "}', "bad_frame"),
        ('{"type": "resume", "after_seq": -4}', "bad_frame"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_lives_on(
    client: TestClient[Any, Any], raw: str, code: str
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_str(raw)
    error = await v.next_frame("error")
    assert error["code"] == code and error["message"]
    reply = await v.say("We need a chatbot")
    assert reply["expects"]["slot"] == "company"


async def test_text_over_the_limit_is_refused_and_nothing_is_lost(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.send("x" * 4001, client_id="long")
    error = await v.next_frame("error")
    assert error == {"type": "error", "code": "too_long", "message": error["message"], "id": "long"}
    assert "4000" in error["message"]
    await v.send("y" * 4000, client_id="max")
    assert (await v.next_frame("ack"))["id"] == "max"
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert conv["mode"] == "bot" and [m["from"] for m in conv["messages"]] == ["bot", "visitor", "bot"]


async def test_binary_frames_are_refused(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.ws.send_bytes(b"\x00\x01")
    assert (await v.next_frame("error"))["code"] == "bad_frame"


async def test_a_foreign_origin_is_refused(client: TestClient[Any, Any]) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/chat", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    own = f"http://{client.host}:{client.port}"
    v = await Visitor.connect(client, Origin=own)
    assert v.conversation_id


async def test_configured_origins_are_allowed_exactly(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, LEADBOT_ALLOWED_ORIGINS="https://shop.example, https://www.shop.example/"
    )
    client = await aiohttp_client(create_app(settings))
    for origin in ("https://shop.example", "https://www.shop.example"):
        v = await Visitor.connect(client, Origin=origin)
        await v.greeting()
    for origin in ("https://shop.example.evil.com", "http://shop.example", "https://sub.shop.example"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/ws/chat", headers={"Origin": origin})
        assert refused.value.status == 403


async def test_reconnecting_resumes_with_no_lost_and_no_duplicated_message(
    client: TestClient[Any, Any],
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("We need a chatbot")
    seen = max(f["seq"] for f in v.frames if f["type"] == "message")
    # The connection drops right after sending; the reply is produced while nobody listens.
    await v.send("Initech", client_id="while-away")
    await v.next_frame("ack")
    await v.close()
    await settle(client.app)

    back = await Visitor.connect(client, token=v.token, after_seq=seen)
    assert back.conversation_id == v.conversation_id
    missed = await back.next_frame("message")
    assert missed["from"] == "visitor" and missed["text"] == "Initech"
    reply = await back.next_frame("message")
    assert reply["from"] == "bot" and reply["expects"]["slot"] == "team_size"
    # resending the unacked-looking message with the same id changes nothing
    await back.send("Initech", client_id="while-away")
    assert (await back.next_frame("ack"))["seq"] == missed["seq"]
    # a resume frame replays from any point, in order, once
    await back.ws.send_json({"type": "resume", "after_seq": 0})
    seqs = [(await back.next_frame("message"))["seq"]]
    while seqs[-1] < reply["seq"]:
        seqs.append((await back.next_frame("message"))["seq"])
    assert seqs == list(range(1, reply["seq"] + 1))


async def test_reload_replays_the_whole_history(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("We need a chatbot")
    await v.close()
    again = await Visitor.connect(client, token=v.token)
    frames = [await again.next_frame("message") for _ in range(3)]
    assert [(f["seq"], f["from"]) for f in frames] == [(1, "bot"), (2, "visitor"), (3, "bot")]


async def test_an_unknown_token_starts_a_new_conversation(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client, token="not-a-real-token")
    assert v.token != "not-a-real-token"
    assert (await v.greeting())["seq"] == 1


async def test_a_second_tab_sees_the_visitors_message(client: TestClient[Any, Any]) -> None:
    tab1 = await Visitor.connect(client)
    await tab1.greeting()
    tab2 = await Visitor.connect(client, token=tab1.token)
    await tab2.greeting()
    await tab1.say("We need a chatbot")
    mine = await tab2.next_frame("message", lambda f: f["from"] == "visitor")
    assert mine["text"] == "We need a chatbot"
    assert (await tab2.next_frame("message"))["from"] == "bot"
    # the sender itself got an ack instead of its own message
    assert not [f for f in tab1.frames if f["type"] == "message" and f["from"] == "visitor"]


async def test_bad_after_seq_is_a_json_400(client: TestClient[Any, Any]) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/chat", params={"after_seq": "soon"})
    assert refused.value.status == 400
