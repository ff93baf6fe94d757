"""Faults across processes, with real `leadbot serve` processes on one database and one Redis.

200 widget visitors over 2 processes while a process is SIGKILLed and restarted every few
seconds: every visitor resends what was not acknowledged and resumes by seq, and in the end
no message is lost, none is stored twice, and each conversation's order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.cluster import API_TOKEN, Cluster, Server, start_database
from tests.support.fake_twilio import ACCOUNT_SID, PUBLIC_URL, SMS_FROM, FakeTwilio, sign, twilio_env

VISITORS = int(os.environ.get("LEADBOT_FAULT_VISITORS", "200"))
MESSAGES = ("We need better lead routing", "Acme Corp", "about 40 people")
DEADLINE_SECONDS = 240.0


@pytest.fixture
async def database() -> AsyncIterator[str]:
    proc, uri = await start_database()
    yield uri
    proc.terminate()
    await proc.wait()


class SturdyVisitor:
    """What the widget does: one client id per message, resent until acknowledged, resume by seq."""

    def __init__(self, number: int, cluster: Cluster, http: aiohttp.ClientSession) -> None:
        self.number = number
        self.cluster = cluster
        self.http = http
        self.token: str | None = None
        self.conversation_id: str | None = None
        self.last_seq = 0
        self.reconnects = 0

    async def talk(self) -> None:
        for index, text in enumerate(MESSAGES):
            await self._exchange(f"v{self.number}-m{index}", text)

    async def _exchange(self, client_id: str, text: str) -> None:
        """Send until acked, then wait for the bot's reply to it; reconnect on any failure.

        After a reconnect the replay can bring the reply before the resent message's ack (the
        message was stored and answered before the process died): a bot message counts once the
        ack says it came after ours, whichever arrived first."""
        acked: int | None = None
        latest_bot = 0
        while True:
            server = random.choice([s for s in self.cluster.servers if s.proc and s.proc.returncode is None])
            params = {"after_seq": str(self.last_seq)}
            if self.token:
                params["token"] = self.token
            try:
                async with self.http.ws_connect(f"{server.ws_url}/ws/chat", params=params) as ws:
                    hello = await ws.receive_json(timeout=20)
                    assert hello["type"] == "hello", hello
                    self.token, self.conversation_id = hello["visitor_token"], hello["conversation_id"]
                    await ws.send_json({"type": "message", "id": client_id, "text": text})
                    while True:
                        frame = await ws.receive_json(timeout=30)
                        if frame["type"] == "message":
                            self.last_seq = max(self.last_seq, frame["seq"])
                            if frame["from"] == "bot":
                                latest_bot = max(latest_bot, frame["seq"])
                        elif frame["type"] == "ack" and frame["id"] == client_id:
                            acked = frame["seq"]
                            self.last_seq = max(self.last_seq, acked)
                        if acked is not None and latest_bot > acked:
                            return
            except (aiohttp.ClientError, TimeoutError, TypeError, ConnectionError):
                # The process died under us (or was not up yet): another one answers.
                self.reconnects += 1
                await asyncio.sleep(0.05 * min(self.reconnects, 20))  # back-off before reconnecting


async def chaos(cluster: Cluster, stop: asyncio.Event) -> int:
    """SIGKILL one process every few seconds and start it again; returns how many kills."""
    kills = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await stop.wait()  # a few seconds of normal running between kills
        if stop.is_set():
            break
        victim: Server = random.choice(cluster.servers)
        victim.kill()
        assert victim.proc is not None
        await victim.proc.wait()
        kills += 1
        await victim.start()
    return kills


async def conversation(http: aiohttp.ClientSession, server: Server, conv_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with http.get(f"{server.url}/api/conversations/{conv_id}", headers=headers) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_visitors_lose_nothing_while_processes_are_killed(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    cluster = await Cluster.start(
        2,
        tmp_path,
        MONGODB_URI=database,
        LEADBOT_REDIS_URL=redis_url,
        LEADBOT_LIMIT_NEW_CONVERSATIONS="0",  # every visitor comes from 127.0.0.1 here
    )
    stop = asyncio.Event()
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            visitors = [SturdyVisitor(n, cluster, http) for n in range(VISITORS)]
            killer = asyncio.create_task(chaos(cluster, stop))
            async with asyncio.timeout(DEADLINE_SECONDS):
                await asyncio.gather(*(v.talk() for v in visitors))
            stop.set()
            kills = await killer
            assert kills >= 2, "the run ended before the processes were killed: raise VISITORS"
            assert sum(v.reconnects for v in visitors) > 0

            for visitor in visitors:
                assert visitor.conversation_id is not None
                conv = await conversation(http, cluster.servers[0], visitor.conversation_id)
                said = [m for m in conv["messages"] if m["from"] == "visitor"]
                # Each message stored exactly once, in the order it was sent.
                assert [m["text"] for m in said] == list(MESSAGES), (visitor.number, said)
                seqs = [m["seq"] for m in conv["messages"]]
                # Increasing, never repeated. A process killed between numbering a message and
                # storing it leaves a number unused: clients resume "after seq N" regardless.
                assert seqs == sorted(set(seqs))
                # Every message was answered (at least once: a turn cut off by SIGKILL after its
                # reply was stored but before it was marked answered runs again).
                for message in said:
                    assert any(m["from"] == "bot" and m["seq"] > message["seq"] for m in conv["messages"])
    finally:
        stop.set()
        await cluster.stop()


async def test_a_twilio_duplicate_storm_over_two_processes_stores_and_answers_each_sid_once(
    database: str, redis_url: str, tmp_path: Path, aiohttp_server: Any
) -> None:
    fake = FakeTwilio()
    twilio_server = await aiohttp_server(fake.app())
    env = twilio_env(str(twilio_server.make_url("")).rstrip("/"))
    cluster = await Cluster.start(2, tmp_path, MONGODB_URI=database, LEADBOT_REDIS_URL=redis_url, **env)
    numbers = [f"+1415555{n:04d}" for n in range(200, 220)]
    texts = ["We need a better CRM", "Stark Industries"]
    sids = {(number, text): f"SM{secrets.token_hex(16)}" for number in numbers for text in texts}
    try:
        async with aiohttp.ClientSession() as http:

            async def post(number: str, text: str, server: Server) -> int:
                params = {
                    "MessageSid": sids[number, text],
                    "AccountSid": ACCOUNT_SID,
                    "From": number,
                    "To": SMS_FROM,
                    "Body": text,
                    "NumMedia": "0",
                }
                path = "/channels/twilio/sms"
                headers = {"X-Twilio-Signature": sign(PUBLIC_URL + path, params)}
                async with http.post(server.url + path, data=params, headers=headers) as response:
                    await response.read()
                    return response.status

            # Every message 4 times, at once, spread over both processes.
            posts = [(n, t, cluster.servers[copy % 2]) for (n, t) in sids for copy in range(4)]
            random.Random(7).shuffle(posts)
            statuses = await asyncio.gather(*(post(*p) for p in posts))
            assert set(statuses) == {200}

            async with asyncio.timeout(60):
                while len(fake.sent) < len(sids):
                    await fake.requested.wait()
                    fake.requested.clear()
                    await asyncio.sleep(0.05)  # more replies are on their way; Twilio's side polls
            headers = {"Authorization": f"Bearer {API_TOKEN}"}
            async with http.get(
                f"{cluster.servers[1].url}/api/conversations?channel=sms&limit=200", headers=headers
            ) as response:
                items = (await response.json())["items"]
            assert len(items) == len(numbers)  # one conversation per number, whichever process opened it
            for item in items:
                conv = await conversation(http, cluster.servers[0], item["id"])
                said = [m for m in conv["messages"] if m["from"] == "visitor"]
                assert sorted(m["text"] for m in said) == sorted(texts)  # each MessageSid stored once
                assert sum(m["from"] == "bot" for m in conv["messages"]) == len(texts)  # one reply each
        assert len(fake.sent) == len(sids)
        assert {s.to for s in fake.sent} == set(numbers)
    finally:
        await cluster.stop()
