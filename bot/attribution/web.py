"""Wiring attribution into the app: touchpoints on the app, contact-channel starts, privacy."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot import keys
from bot.attribution import report
from bot.attribution.touchpoints import COLLECTION, Touchpoints


async def _touchpoints(app: web.Application) -> AsyncIterator[None]:
    """Needs the store and the conversations (after `_services` in the cleanup context)."""
    store = app[keys.STORE]
    touchpoints = Touchpoints(store, app[keys.CLOCK])
    await touchpoints.ensure_indexes()
    await report.ensure_indexes(store)
    app[keys.TOUCHPOINTS] = touchpoints
    app[keys.CONVERSATIONS].on_contact_start = touchpoints.record_contact_start
    yield


def setup_attribution(app: web.Application) -> None:
    """Call in `create_app` after the services' cleanup context is added (routes are in the API)."""
    app.cleanup_ctx.append(_touchpoints)

    # Privacy: erasing or exporting a lead reaches its touchpoints.
    async def erase(lead_id: str, conversation_ids: list[str]) -> None:
        await app[keys.TOUCHPOINTS].erase(lead_id, conversation_ids)

    async def export(lead_id: str, conversation_ids: list[str]) -> object:
        return await app[keys.TOUCHPOINTS].export(lead_id, conversation_ids)

    app[keys.ERASERS].register(COLLECTION, erase)
    app[keys.EXPORTERS].register(COLLECTION, export)
