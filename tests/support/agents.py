"""Agents for tests: an account on the running app and the headers of its API token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bot import keys

PASSWORD = "correct horse battery staple"


async def make_agent(
    app: web.Application,
    email: str,
    *,
    role: str = "agent",
    teams: Iterable[str] = ("sales",),
    name: str | None = None,
) -> tuple[Any, dict[str, str]]:
    users = app[keys.USERS]
    user = await users.add(email, PASSWORD, role=role, name=name, teams=teams)
    token = await users.issue_api_token(email)
    return user, {"Authorization": f"Bearer {token}"}
