"""`GET/POST /login` and `POST /logout`.

Sign-in is a form. Before there is a session, the form is protected by a double-submit
token: a random value in a cookie only /login receives (SameSite=Strict, so another site's
post arrives without it) and the same value in a hidden field. A successful sign-in ends any
session the browser came with and issues a fresh id, so a planted cookie is worth nothing.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from bot import keys
from bot.auth.csrf import submitted_token, tokens_match
from bot.auth.identity import (
    SESSION_COOKIE,
    clear_session_cookie,
    current_session,
    set_session_cookie,
    uses_https,
)
from bot.auth.rendering import error_page, render
from bot.client_address import client_address
from bot.rate_limits import Rule, retry_seconds

LOGIN_CSRF_COOKIE: Final = "leadbot_login_csrf"
DEFAULT_NEXT: Final = "/inbox"
MAX_NEXT: Final = 2000
MAX_EMAIL: Final = 320
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{32,64}")


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site.

    `//evil.com`, `/\\evil.com`, `https://evil.com` and anything with spaces or control
    characters (which browsers strip or reinterpret) fall back to the inbox.
    """
    if not raw or len(raw) > MAX_NEXT or not raw.startswith("/") or raw.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in raw or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return DEFAULT_NEXT
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return raw


def _field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _login_token(request: web.Request) -> str:
    # Kept while the cookie lasts, so two open sign-in tabs both work.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return token if _TOKEN_SHAPE.fullmatch(token) else secrets.token_urlsafe(32)


def _form(
    request: web.Request, *, status: int = 200, email: str = "", next_url: str, error: str | None = None
) -> web.Response:
    token = _login_token(request)
    response = render(
        request,
        "login.html",
        status=status,
        login_token=token,
        email=email[:MAX_EMAIL],
        next=next_url,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, path="/login", httponly=True, samesite="Strict", secure=uses_https(request)
    )
    return response


def _minutes(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def _too_many(
    request: web.Request, email: str, next_url: str, wait: timedelta, what: str = "attempts"
) -> web.Response:
    response = _form(
        request,
        status=429,
        email=email,
        next_url=next_url,
        error=f"Too many {what}, try again in {_minutes(wait)}.",
    )
    response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
    return response


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def login_page(request: web.Request) -> web.Response:
    return _form(request, next_url=safe_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = _field(form, "email"), _field(form, "password")
    next_url = safe_next(_field(form, "next"))
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), _field(form, "csrf_token")):
        return _form(
            request,
            status=403,
            email=email,
            next_url=next_url,
            error="This sign-in form has expired or was sent from another site. Please sign in again.",
        )
    if not email.strip() or not password:
        return _form(
            request, status=400, email=email, next_url=next_url, error="Enter your email and your password."
        )
    throttle = request.config_dict[keys.SHARED_THROTTLE]
    address = client_address(request, request.config_dict[keys.SETTINGS].trusted_proxies)
    # Every attempt from an address counts (LEADBOT_LIMIT_LOGINS), before any password is hashed;
    # failures per account and per address then lock for longer each time (the throttle).
    busy = await request.config_dict[keys.RATE_LIMITS].hit(Rule.LOGINS, address)
    if busy is not None:
        pause = timedelta(seconds=retry_seconds(busy))
        return _too_many(request, email, next_url, pause, "sign-in attempts from your network")
    wait = await throttle.begin(email, address)
    if wait is not None:
        return _too_many(request, email, next_url, wait)
    user = await request.config_dict[keys.USERS].verify_password(email, password)
    if user is None:
        # One message for an unknown email, a wrong password and a disabled account.
        return _form(request, status=401, email=email, next_url=next_url, error="Wrong email or password.")
    await throttle.succeeded(email, address)
    sessions = request.config_dict[keys.SESSIONS]
    presented = request.cookies.get(SESSION_COOKIE)
    if presented:
        await sessions.end(presented)
    session_id, _ = await sessions.start(user.id)
    response = _redirect(next_url)
    set_session_cookie(response, request, session_id)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is not None:
        if not tokens_match(session.csrf_token, await submitted_token(request)):
            return error_page(
                request,
                403,
                "Form expired",
                "You were not signed out: the request did not come from a current page of this site. "
                "Reload the page and sign out again.",
            )
        await request.config_dict[keys.SESSIONS].end(request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect("/login")
    clear_session_cookie(response, request)
    return response


def login_routes() -> list[web.RouteDef]:
    return [web.get("/login", login_page), web.post("/login", login), web.post("/logout", logout)]
