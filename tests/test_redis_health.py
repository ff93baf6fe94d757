"""Redis is optional and may come and go: health says `degraded` while it is gone, and the
server notices by itself when it is back (no request needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot import keys
from bot.app import create_app
from tests.conftest import ClientFactory, make_settings
from tests.support.redis_server import RedisServer


async def health(client: Any) -> dict[str, Any]:
    response = await client.get("/healthz")
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_without_redis_configured_health_is_ok(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data")))
    assert await health(client) == {"status": "ok", "redis": "not configured"}


async def test_redis_going_away_degrades_and_coming_back_recovers(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)  # our own: this test stops it
    server.start()
    try:
        settings = make_settings(tmp_path / "data", LEADBOT_REDIS_URL=server.url)
        client = await aiohttp_client(create_app(settings))
        link = client.app[keys.REDIS]
        assert await health(client) == {"status": "ok", "redis": "ok"}

        server.stop()
        assert await link.ping() is False
        assert await health(client) == {"status": "degraded", "redis": "unreachable"}
        ready = await client.get("/readyz")  # still ready: one process works alone
        assert ready.status == 200 and (await ready.json())["redis"] == "unreachable"

        back = asyncio.Event()
        link.on_change(lambda healthy: back.set() if healthy else None)
        server.start()
        async with asyncio.timeout(10):
            await back.wait()  # the link's own watcher found it
        assert await health(client) == {"status": "ok", "redis": "ok"}
    finally:
        server.stop()
