"""Admin-only API routes: who is acting, or a 403 naming what needs an admin."""

from __future__ import annotations

from aiohttp import web

from bot.api.errors import ApiError
from bot.auth.identity import current_user
from bot.auth.users import User


def admin_user(request: web.Request, doing: str) -> User:
    """The signed-in admin; 403 for anyone else (`doing` says what only admins do)."""
    user = current_user(request)
    if user is None or not user.acts_as("admin"):
        role = user.role if user is not None else "nobody"
        raise ApiError(403, f"only admins {doing}; you are signed in as {role}")
    return user


def actor(user: User) -> str:
    """How the audit log names who did it."""
    return user.email or user.name
