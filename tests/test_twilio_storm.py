"""A duplicate storm: Twilio retrying everything at once still gives one message, one turn, one reply."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from aiohttp import ClientResponse

from tests.conftest import api_get, settle
from tests.support.fake_twilio import EMPTY_TWIML, ClientFactory, ServerFactory, start_rig

NUMBERS = [f"+1415555{n:04d}" for n in range(100, 150)]  # 50 leads
TEXTS = ["Hi there", "We need a better CRM", "Stark Industries", "about fifty people"]  # 4 each
COPIES = 5


async def test_each_of_200_messages_posted_5_times_at_once_is_stored_answered_and_replied_once(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data")
    payloads = [rig.twilio.inbound(number, text) for number in NUMBERS for text in TEXTS]
    posts = [payload for payload in payloads for _ in range(COPIES)]
    random.Random(4).shuffle(posts)
    ack_seconds: list[float] = []

    async def post(params: dict[str, str]) -> ClientResponse:
        started = time.perf_counter()
        response = await rig.twilio.post("/channels/twilio/sms", params)
        ack_seconds.append(time.perf_counter() - started)
        return response

    responses = await asyncio.gather(*(post(params) for params in posts))
    assert [r.status for r in responses] == [200] * len(posts)
    assert {await r.text() for r in responses} == {EMPTY_TWIML}
    await settle(rig.app, deadline=60)

    convs = (await api_get(rig.client, "/api/conversations?channel=sms&limit=200"))["items"]
    assert len(convs) == len(NUMBERS)  # concurrent first messages opened one conversation per number
    for conv in convs:
        messages = (await api_get(rig.client, f"/api/conversations/{conv['id']}"))["messages"]
        senders = Counter(m["from"] for m in messages)
        # each message stored once, answered by one turn with one reply
        assert senders == {"visitor": len(TEXTS), "bot": len(TEXTS)}, messages
        assert sorted(m["text"] for m in messages if m["from"] == "visitor") == sorted(TEXTS)
        assert all(m["delivery"] == "queued" for m in messages if m["from"] == "bot")
    # one outbound reply each, through the REST API
    assert len(rig.fake.sent) == len(payloads)
    assert Counter(m.to for m in rig.fake.sent) == {number: len(TEXTS) for number in NUMBERS}
    assert len({m.sid for m in rig.fake.sent}) == len(payloads)

    ack_seconds.sort()
    p50, p95 = statistics.median(ack_seconds), ack_seconds[int(len(ack_seconds) * 0.95)]
    print(
        f"\nwebhook ack over {len(posts)} concurrent posts: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
