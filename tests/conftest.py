"""Fixtures: settings on a temporary data dir, the app under a test client, API helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.settings import Settings

API_TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def make_settings(data_dir: Path, **env: str) -> Settings:
    return Settings.from_env({"LEADBOT_DATA_DIR": str(data_dir), "LEADBOT_API_TOKEN": API_TOKEN, **env})


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


async def api_get(client: TestClient[Any, Any], path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=AUTH)
    body = await response.json()
    assert response.status == status, body
    return body
