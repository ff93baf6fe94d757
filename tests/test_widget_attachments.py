"""Files between the visitor's widget and the agent: uploads by visitor token, signed links back."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.conftest import api_get, settle
from tests.support.agents import make_agent
from tests.support.visitor import Visitor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(text: str = "", *files: tuple[str, str, bytes], client_id: str | None = None) -> FormData:
    data = FormData(default_to_multipart=True)
    data.add_field("text", text)
    if client_id is not None:
        data.add_field("id", client_id)
    for name, kind, content in files:
        data.add_field("file", content, filename=name, content_type=kind)
    return data


async def _send(client: TestClient[Any, Any], token: str, data: FormData, **headers: str) -> tuple[int, Any]:
    response = await client.post("/ws/chat/upload", params={"token": token}, data=data, headers=headers)
    return response.status, await response.json()


async def test_a_visitor_sends_a_file_and_anyone_with_the_link_may_open_it(
    client: TestClient[Any, Any],
) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    status, ack = await _send(
        client, v.token, upload("our logo", ("logo.png", "image/png", PNG), client_id="f1")
    )
    assert status == 201 and ack["type"] == "ack" and ack["id"] == "f1"
    [shown] = ack["attachments"]
    assert (shown["name"], shown["type"], shown["size"]) == ("logo.png", "image/png", len(PNG))
    opened = await client.get(shown["url"])  # a signed link: no account needed
    assert opened.status == 200 and await opened.read() == PNG
    tampered = await client.get(shown["url"].replace("sig=", "sig=0"))
    assert tampered.status == 404

    again_status, again = await _send(
        client, v.token, upload("our logo", ("logo.png", "image/png", PNG), client_id="f1")
    )
    assert again_status == 200 and again["seq"] == ack["seq"]  # a retried upload is stored once
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    sent = [m for m in conv["messages"] if m["attachments"]]
    assert len(sent) == 1 and sent[0]["text"] == "our logo"


async def test_a_file_without_words_gets_no_bot_reply(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    status, _ = await _send(client, v.token, upload("", ("brief.pdf", "application/pdf", b"%PDF-1.4 tiny")))
    assert status == 201
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert [m["from"] for m in conv["messages"]] == ["bot", "visitor"]
    assert conv["mode"] == "bot"
    reply = await v.say("We need a CRM")  # and the bot carries on as before
    assert reply["expects"]["slot"] == "company"


async def test_uploads_are_refused_plainly(client: TestClient[Any, Any]) -> None:
    v = await Visitor.connect(client)
    await v.greeting()
    png = ("logo.png", "image/png", PNG)
    assert (await _send(client, "not-a-token", upload("", png)))[0] == 404
    assert (await _send(client, v.token, upload("", png), Origin="https://evil.example"))[0] == 403
    assert (await _send(client, v.token, upload("just words")))[0] == 422
    status, body = await _send(client, v.token, upload("", ("run.exe", "application/x-msdownload", b"MZ")))
    assert status == 415 and body["error"] == "unsupported_media_type"
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{v.conversation_id}")
    assert [m["from"] for m in conv["messages"]] == ["bot"]  # nothing stored


async def test_an_agents_file_reaches_the_widget_as_a_signed_link(client: TestClient[Any, Any]) -> None:
    _, agent = await make_agent(client.app, "dana@example.com", name="Dana")
    v = await Visitor.connect(client)
    await v.greeting()
    await v.say("talk to a human")
    base = f"/api/conversations/{v.conversation_id}"
    assert (await client.post(f"{base}/claim", headers=agent)).status == 200
    data = FormData(default_to_multipart=True)
    data.add_field("text", "Here is our price list")
    data.add_field("file", b"%PDF-1.4 prices", filename="prices.pdf", content_type="application/pdf")
    assert (await client.post(f"{base}/reply", data=data, headers=agent)).status == 201
    frame = await v.next_frame("message", lambda f: f["from"] == "agent")
    [shown] = frame["attachments"]
    assert shown["name"] == "prices.pdf" and shown["type"] == "application/pdf"
    opened = await client.get(shown["url"])
    assert opened.status == 200 and await opened.read() == b"%PDF-1.4 prices"
