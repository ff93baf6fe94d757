"""Server-rendered pages: jinja2 templates from `bot/templates`, always escaped, always with
the security headers.

`render(request, name, **context)` is what every page handler returns; it adds `user`,
`csrf_token` and `path` to the context. Pages load scripts and styles from `/static/` only:
the Content-Security-Policy forbids inline script, so injected markup cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import jinja2
from aiohttp import web

from bot import keys
from bot.auth.identity import current_session, current_user

TEMPLATES_DIR: Final = Path(__file__).resolve().parent.parent / "templates"
PAGE_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    # Pages carry the signed-in person's data and CSRF token: never kept by a shared cache.
    "Cache-Control": "no-store",
}


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # Every template, whatever its name, escapes what it prints: names and emails come
        # from people we do not trust.
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        # A misspelt variable is an error, not an empty string on a live page.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def protect(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    return response


def render(request: web.Request, name: str, *, status: int = 200, **context: Any) -> web.Response:
    """The template `name` as an HTML response with the security headers.

    The context gets `user` (the signed-in User or None), `csrf_token` (the session's, for
    `<meta name="csrf-token">` and form fields) and `path`, unless given.
    """
    session = current_session(request)
    context.setdefault("user", current_user(request))
    context.setdefault("csrf_token", session.csrf_token if session else "")
    context.setdefault("path", request.path)
    html = request.config_dict[keys.TEMPLATES].get_template(name).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    protect(response)
    return response


def error_page(
    request: web.Request,
    status: int,
    title: str,
    message: str,
    *,
    link: str = "/inbox",
    link_label: str = "Go to the inbox",
) -> web.Response:
    return render(
        request, "error.html", status=status, title=title, message=message, link=link, link_label=link_label
    )
