"""Who may do what: `require_role` for handlers and `api_auth` for everything under /api.

A guard refuses, in this order: nobody signed in (pages: 302 to /login?next=…; API: 401),
the wrong role (403; an admin counts as an agent too), and an unsafe request
(not GET/HEAD/OPTIONS) authenticated by a session without the session's CSRF token (403).
Requests authenticated by a bearer token need no CSRF token: no browser adds that header
on another site's behalf.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from bot import keys
from bot.api.errors import json_error
from bot.auth.csrf import FIELD, HEADER, is_unsafe, submitted_token, tokens_match
from bot.auth.identity import SESSION, USER, current_session, current_user
from bot.auth.rendering import error_page
from bot.auth.roles import Role
from bot.auth.users import User, api_token_admin

SIGN_IN_HINT: Final = "sign in, or send 'Authorization: Bearer <api token>'"


def login_url(request: web.Request) -> str:
    return str(URL("/login").with_query(next=request.rel_url.path_qs))


async def csrf_ok(request: web.Request) -> bool:
    """True unless the request is unsafe, made with a session, and lacks that session's token."""
    session = current_session(request)
    if session is None or not is_unsafe(request):
        return True
    return tokens_match(session.csrf_token, await submitted_token(request))


async def refusal(request: web.Request, role: Role, *, page: bool) -> web.StreamResponse | None:
    """The response that refuses this request, or None when it may go ahead."""
    user = current_user(request)
    if user is None:
        if page:
            return web.Response(status=302, headers={"Location": login_url(request)})
        return json_error(401, SIGN_IN_HINT)
    if not user.acts_as(role):
        message = f"this needs the {role} role; you are signed in as {user.role}"
        if page:
            return error_page(request, 403, "Not allowed", message[0].upper() + message[1:] + ".")
        return json_error(403, message)
    if not await csrf_ok(request):
        if page:
            return error_page(
                request,
                403,
                "Form expired",
                "This form was not sent from a current page of this site. Reload the page and try again.",
            )
        return json_error(
            403, f"send the session's CSRF token in the {HEADER} header or the {FIELD} field", "csrf"
        )
    return None


def require_role(role: Role, *, page: bool) -> Callable[[Handler], Handler]:
    """Decorate a handler so only users acting as `role` reach it (see the module docstring).

    `page=True` for HTML pages (redirects and error pages), False for JSON endpoints.
    """

    def guard(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            refused = await refusal(request, role, page=page)
            if refused is not None:
                return refused
            return await handler(request)

        return guarded

    return guard


async def bearer_user(request: web.Request, header: str) -> User | None:
    scheme, _, given = header.partition(" ")
    token = given.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if hmac.compare_digest(token.encode(), request.config_dict[keys.API_TOKEN].encode()):
        return api_token_admin()
    return await request.config_dict[keys.USERS].by_api_token(token)


@web.middleware
async def api_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every API route needs an agent at least: by admin token, user token, or session + CSRF."""
    header = request.headers.get("Authorization")
    if header is not None:
        # An Authorization header decides alone: a wrong token is not rescued by a cookie.
        user = await bearer_user(request, header)
        if user is None:
            return json_error(401, f"the token is not valid; {SIGN_IN_HINT}")
        request[USER] = user
        request[SESSION] = None
    refused = await refusal(request, "agent", page=False)
    return refused if refused is not None else await handler(request)
