"""`setup_inbox(app)`: the inbox page, the agent socket and canned replies on the application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot import keys
from bot.inbox.canned import CannedReplies
from bot.inbox.hub import InboxHub
from bot.inbox.pages import inbox_page
from bot.inbox.socket import inbox_socket


async def _inbox_services(app: web.Application) -> AsyncIterator[None]:
    # Runs after the store and the accounts are open, before the handoff services: the hub
    # reads those (`keys.HANDOFFS`) only when it builds the lists.
    settings = app[keys.SETTINGS]
    app[keys.CANNED_REPLIES] = CannedReplies(
        app[keys.STORE], clock=app[keys.CLOCK], max_chars=settings.max_message_chars
    )
    hub = InboxHub(
        store=app[keys.STORE],
        users=app[keys.USERS],
        flows=app[keys.FLOWS],
        bus=app[keys.BUS],
        handoffs=lambda: app[keys.HANDOFFS],
    )
    app[keys.INBOX_HUB] = hub
    hub.start()
    try:
        yield
    finally:
        await hub.close()


def setup_inbox(app: web.Application) -> None:
    """Call once in create_app, after `setup_auth` (the page and the socket need sessions)."""
    app.cleanup_ctx.append(_inbox_services)
    app.add_routes(
        [
            web.get("/inbox", inbox_page),
            web.get("/ws/inbox", inbox_socket),
        ]
    )
