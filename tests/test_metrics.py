"""`/metrics`: what Prometheus reads about turns, duplicates, sockets and the queue."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import settle
from tests.support.inbox import hand_off


def value(metrics: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    assert match is not None, f"{name} not in /metrics"
    return float(match.group(1))


async def scrape(client: TestClient[Any, Any]) -> str:
    response = await client.get("/metrics")
    assert response.status == 200 and response.content_type == "text/plain"
    return await response.text()


async def test_turns_duplicates_sockets_and_the_queue_are_measured(client: TestClient[Any, Any]) -> None:
    assert value(await scrape(client), "leadbot_turn_seconds_count") == 0
    visitor = await hand_off(client)  # three turns, the last one hands off
    await settle(client.app)
    first = await visitor.send("one more thing", client_id="same-id")
    await visitor.next_frame("ack")
    await visitor.send("one more thing", client_id=first)  # the widget resending after a reconnect
    await visitor.next_frame("ack")
    await settle(client.app)

    metrics = await scrape(client)
    assert value(metrics, "leadbot_turn_seconds_count") == 3
    assert value(metrics, 'leadbot_duplicate_messages_total{channel="web"}') == 1
    assert value(metrics, "leadbot_sockets_open") == 1
    assert value(metrics, 'leadbot_queue_waiting{team="sales"}') == 1
    assert value(metrics, "leadbot_offers_open") == 0  # nobody is online to be offered it
    await visitor.close()


async def test_json_logs_carry_the_conversation_id(client: TestClient[Any, Any], caplog: Any) -> None:
    import json
    import logging

    from bot.logs import ConversationFilter, JsonFormatter

    caplog.handler.addFilter(ConversationFilter())
    caplog.handler.setFormatter(JsonFormatter())
    caplog.set_level(logging.DEBUG, logger="bot.conversations")
    visitor = await hand_off(client)
    await settle(client.app)
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    turns = [line for line in lines if line["message"].startswith("turn for seq")]
    assert len(turns) == 3
    assert {line["conversation_id"] for line in turns} == {visitor.conversation_id}
    assert all(line["level"] == "debug" and line["logger"] == "bot.conversations" for line in turns)
    await visitor.close()
