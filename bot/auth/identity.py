"""Who is asking: the session cookie, resolved once per request into `request[USER]`.

Every request gets `request[USER]` (the signed-in `User` or None) and `request[SESSION]`
(the `Session` it came with, or None). Read them with `current_user` / `current_session`.
The API replaces both when a bearer token is sent (see `bot.auth.guards.api_auth`).
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import keys
from bot.auth.sessions import Session
from bot.auth.users import User

SESSION_COOKIE: Final = "leadbot_session"
USER: Final[web.RequestKey[User | None]] = web.RequestKey("user")
SESSION: Final[web.RequestKey[Session | None]] = web.RequestKey("session")


def current_user(request: web.Request) -> User | None:
    return request.get(USER)


def current_session(request: web.Request) -> Session | None:
    """The session the request is authenticated by; None for bearer tokens and anonymous requests."""
    return request.get(SESSION)


def uses_https(request: web.Request) -> bool:
    """Directly, or behind a proxy that terminates TLS for the public URL."""
    public_url = request.config_dict[keys.SETTINGS].public_url or ""
    return request.secure or public_url.startswith("https://")


def set_session_cookie(response: web.StreamResponse, request: web.Request, session_id: str) -> None:
    lifetime = request.config_dict[keys.SESSIONS].lifetime
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=uses_https(request),
    )


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=uses_https(request), httponly=True, samesite="Lax")


@web.middleware
async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[USER] = None
    request[SESSION] = None
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        sessions = request.config_dict[keys.SESSIONS]
        session = await sessions.resolve(session_id)
        if session is not None:
            user = await request.config_dict[keys.USERS].get(session.user_id)
            if user is None or user.disabled:
                await sessions.end(session_id)  # the account went away: so does its session
            else:
                request[USER] = user
                request[SESSION] = session
    return await handler(request)
