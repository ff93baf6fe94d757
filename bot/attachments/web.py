"""`GET /attachments/{id}`: an attachment's bytes, for agents and holders of a signed link.

What a lead sent is untrusted: it is served with its stored type and `nosniff`, inline only
when it is an image a browser shows without running anything, as a download otherwise, and
under a CSP that lets it load nothing and run nothing even if opened directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import quote

from aiohttp import web

from bot import keys
from bot.attachments.files import INLINE_TYPES, Attachments
from bot.attachments.links import AttachmentLinks
from bot.auth.guards import bearer_user
from bot.auth.identity import current_user
from bot.tokens import attachment_secret

CSP: Final = "default-src 'none'; sandbox"


async def _agent_asking(request: web.Request) -> bool:
    header = request.headers.get("Authorization")
    user = await bearer_user(request, header) if header is not None else current_user(request)
    return user is not None and user.acts_as("agent")


def _disposition(kind: str, filename: str) -> str:
    how = "inline" if kind in INLINE_TYPES else "attachment"
    # RFC 6266: an ASCII fallback, and the real name percent-encoded as UTF-8.
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def serve_attachment(request: web.Request) -> web.StreamResponse:
    attachment_id = request.match_info["id"]
    now = request.app[keys.CLOCK]()
    signed = request.app[keys.ATTACHMENT_LINKS].valid(
        attachment_id, request.query.get("expires", ""), request.query.get("sig", ""), now
    )
    if not signed and not await _agent_asking(request):
        # One answer for "no such file" and "not yours": ids are not confirmed to strangers.
        raise web.HTTPNotFound(text="no such attachment, or the link has expired")
    stored = await request.app[keys.ATTACHMENTS].get(attachment_id)
    if stored is None:
        raise web.HTTPNotFound(text="no such attachment, or the link has expired")
    kind = stored.attachment.content_type
    return web.Response(
        body=stored.data,
        headers={
            "Content-Type": kind,
            "Content-Disposition": _disposition(kind, stored.attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
            "Cache-Control": "private, max-age=3600",
            "Cross-Origin-Resource-Policy": "same-site",
        },
    )


async def _attachment_services(app: web.Application) -> AsyncIterator[None]:
    app[keys.ATTACHMENTS] = Attachments(app[keys.STORE], app[keys.SETTINGS])
    yield


def setup_attachments(app: web.Application) -> None:
    """Call in create_app after the store's cleanup context (the files live in the store)."""
    app[keys.ATTACHMENT_LINKS] = AttachmentLinks(attachment_secret(app[keys.SETTINGS]))
    app.cleanup_ctx.append(_attachment_services)
    app.router.add_get("/attachments/{id}", serve_attachment)
