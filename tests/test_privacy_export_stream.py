"""`GET /api/leads/{id}/export` is written as it is read: a lead with many messages and several
large files gives the same JSON document, and the server answers others meanwhile."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.models import Outbound
from tests.conftest import AUTH, ClientFactory, api_get, make_settings
from tests.support.visitor import Visitor

FILE_SIZE = 3 * 1024 * 1024 + 7  # not a multiple of 3: the base64 ends with padding
FILES = 3
NOTES = 1234  # more than a page of messages, and not a whole number of pages


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(make_settings(tmp_path / "data")))


async def lead_with_big_files(client: TestClient[Any, Any]) -> tuple[str, dict[str, bytes]]:
    """A lead whose conversation holds FILES uploads of FILE_SIZE bytes and NOTES more
    messages; returns the lead's id and the files' bytes by name."""
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    files = {f"part-{i}.txt": secrets.token_bytes(FILE_SIZE) for i in range(FILES)}
    form = aiohttp.FormData()
    form.add_field("id", secrets.token_hex(6))
    form.add_field("text", "the plans")
    for name, data in files.items():
        form.add_field("file", data, filename=name, content_type="text/plain")
    uploaded = await client.post("/ws/chat/upload", params={"token": visitor.token}, data=form)
    assert uploaded.status == 201, await uploaded.text()
    notes = [Outbound(sender="bot", text=f'note {i} ✓ "quoted"\nline') for i in range(NOTES)]
    assert await client.app[keys.STORE].append(visitor.conversation_id, notes)
    lead_id = (await api_get(client, f"/api/conversations/{visitor.conversation_id}"))["lead_id"]
    return str(lead_id), files


async def test_a_big_export_is_the_same_document_with_every_file(client: TestClient[Any, Any]) -> None:
    lead_id, files = await lead_with_big_files(client)

    response = await client.get(f"/api/leads/{lead_id}/export", headers=AUTH)
    body = await response.read()

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="lead-{lead_id}.json"'
    assert response.headers.get("Transfer-Encoding") == "chunked"  # sent as it is written
    document = json.loads(body)
    # Byte for byte what one json.dumps of the whole document gives (the export's format before).
    assert body.decode() == json.dumps(document, ensure_ascii=False, indent=1)
    exported = {
        a["filename"]: base64.b64decode(a["data_base64"], validate=True) for a in document["attachments"]
    }
    assert exported == files
    assert [a["size"] for a in document["attachments"]] == [FILE_SIZE] * FILES
    [conversation] = document["conversations"]
    seqs = [m["seq"] for m in conversation["messages"]]
    assert seqs == sorted(set(seqs)) and len(seqs) > NOTES
    assert [m["text"] for m in conversation["messages"][-NOTES:]] == [
        f'note {i} ✓ "quoted"\nline' for i in range(NOTES)
    ]
    assert "lead.exported" in {
        e["action"]
        for e in (await api_get(client, "/api/audit?kind=access"))["items"]
        if e.get("lead_id") == lead_id
    }


async def test_the_server_answers_while_an_export_is_written(client: TestClient[Any, Any]) -> None:
    """A reader that stops midway pauses the export where it is (the writer waits for the
    socket), and the server goes on answering others; the rest then comes whole."""
    lead_id, files = await lead_with_big_files(client)

    async with client.get(f"/api/leads/{lead_id}/export", headers=AUTH) as response:
        assert response.status == 200
        first = await response.content.readexactly(64 * 1024)
        # The export is under way (more than its first piece is still to come) …
        assert not response.content.at_eof()
        health = await client.get("/healthz")
        # … and another request is answered before it is read to the end.
        assert health.status == 200 and (await health.json())["status"] == "ok"
        assert not response.content.at_eof()
        rest = await response.read()

    document = json.loads(first + rest)
    assert {a["filename"] for a in document["attachments"]} == set(files)
    assert len(first + rest) > FILES * FILE_SIZE * 4 // 3
