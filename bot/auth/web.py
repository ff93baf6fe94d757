"""`setup_auth(app)`: accounts, sessions, sign-in pages and static files on the application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from bot import keys
from bot.auth.identity import identify
from bot.auth.login import login_routes
from bot.auth.rendering import template_environment
from bot.auth.sessions import Sessions
from bot.auth.static import static_routes
from bot.auth.throttle import LoginThrottle
from bot.auth.users import Users


async def _accounts(app: web.Application) -> AsyncIterator[None]:
    # Runs after the store is opened (create_app's own cleanup context comes first).
    store, settings, clock = app[keys.STORE], app[keys.SETTINGS], app[keys.CLOCK]
    users = Users(store, clock=clock)
    sessions = Sessions(
        store,
        clock=clock,
        idle=timedelta(hours=settings.session_idle_hours),
        lifetime=timedelta(days=settings.session_max_days),
    )
    await users.ensure_indexes()
    await sessions.ensure_indexes()
    app[keys.USERS] = users
    app[keys.SESSIONS] = sessions
    yield


def setup_auth(app: web.Application) -> None:
    """Call once in create_app, after the store's cleanup context and the routes."""
    app[keys.THROTTLE] = LoginThrottle(app[keys.CLOCK])
    app[keys.TEMPLATES] = template_environment()
    app.cleanup_ctx.append(_accounts)
    app.middlewares.append(identify)
    app.add_routes(login_routes())
    app.add_routes(static_routes())
