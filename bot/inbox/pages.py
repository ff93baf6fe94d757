"""`GET /inbox`: the agents' page. Everything live on it comes over `/ws/inbox`."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.auth.guards import require_role
from bot.auth.rendering import render
from bot.inbox.canned import MAX_TITLE


@require_role("agent", page=True)
async def inbox_page(request: web.Request) -> web.Response:
    return render(
        request,
        "inbox.html",
        max_chars=request.config_dict[keys.SETTINGS].max_message_chars,
        max_title=MAX_TITLE,
    )
