"""Fixtures: settings on a temporary data dir, the app under a test client, API helpers."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.embedded import open_embedded
from bot.settings import Settings
from bot.store import Store, open_mongo
from tests.support.mongo_wire import MongoWireStandIn
from tests.support.redis_server import RedisServer, redis_server

API_TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def make_settings(data_dir: Path, **env: str) -> Settings:
    # No drain at shutdown: tests that leave a socket open need not wait for a load balancer.
    base = {
        "LEADBOT_DATA_DIR": str(data_dir),
        "LEADBOT_API_TOKEN": API_TOKEN,
        "LEADBOT_SHUTDOWN_DRAIN_SECONDS": "0",
    }
    return Settings.from_env({**base, **env})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(settings))


async def settle(app: web.Application, deadline: float = 10.0) -> None:
    """Wait until no bot turn is scheduled or running."""
    async with asyncio.timeout(deadline):
        await app[keys.CONVERSATIONS].idle()


async def api_call(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    body: Any = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Any:
    """A JSON API call (as the admin token unless `headers` say otherwise), checked for `status`."""
    response = await client.request(method, path, json=body, headers=headers or AUTH)
    answer = await response.json()
    assert response.status == status, answer
    return answer


async def api_get(client: TestClient[Any, Any], path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=AUTH)
    body = await response.json()
    assert response.status == status, body
    return body


# The store contract runs on every backend available:
# - embedded: mongomock-motor in process (always);
# - wire: the production motor path over a real socket to a MongoDB wire-protocol stand-in
#   (mockupdb + mongomock; always);
# - mongodb: a real server, when MONGODB_URI is set.
BACKENDS = ["embedded", "wire"] + (["mongodb"] if os.environ.get("MONGODB_URI") else [])


@pytest.fixture(scope="module")
def wire_server() -> Iterator[MongoWireStandIn]:
    with MongoWireStandIn() as server:
        yield server


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    database = f"contract_{secrets.token_hex(4)}"
    if request.param == "embedded":
        store = open_embedded(database)
    elif request.param == "wire":
        store = open_mongo(request.getfixturevalue("wire_server").uri, database)
    else:
        store = open_mongo(os.environ["MONGODB_URI"], database)
    await store.ensure_indexes()
    try:
        yield store
    finally:
        if request.param != "embedded":
            await store._db.client.drop_database(database)
        store.close()


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the run (LEADBOT_TEST_REDIS_URL, or started here)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_service: RedisServer) -> str:
    """A clean Redis for this test."""
    redis_service.flush()
    return redis_service.url
