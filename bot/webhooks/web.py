"""Wires CRM webhooks into the app: the job handler, the lead event listener, the admin page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot import keys
from bot.auth.guards import require_role
from bot.auth.rendering import render
from bot.jobs import Job
from bot.lead_events import WEBHOOK_KINDS
from bot.webhooks.mapping import PRESETS
from bot.webhooks.service import JOB_KIND, RETRY, Webhooks

log = logging.getLogger(__name__)

ERASER_NAME = "webhook_deliveries"


@require_role("admin", page=True)
async def webhooks_page(request: web.Request) -> web.Response:
    return render(request, "admin_webhooks.html", events=WEBHOOK_KINDS, presets=PRESETS)


async def _open(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: after the store opens, before the job queue starts (and after it stops)."""
    webhooks = Webhooks(app[keys.STORE], app[keys.JOBS], clock=app[keys.CLOCK])
    await webhooks.open()
    app[keys.WEBHOOKS] = webhooks
    app[keys.LEAD_EVENTS].listen(webhooks.on_event)
    try:
        yield
    finally:
        await webhooks.close()


async def _repair(app: web.Application) -> None:
    """On startup, once the job queue runs: chains left without a job get one."""
    link = app[keys.REDIS]
    if link.configured and not link.healthy:
        # The jobs on Redis cannot be listed now: each would look lost, and run twice.
        log.warning("webhooks: Redis is unreachable; pending deliveries were not checked for lost jobs")
        return
    try:
        repaired = await app[keys.WEBHOOKS].repair()
    except Exception:  # the server starts anyway: the deliveries wait for the next start
        log.exception("webhooks: pending deliveries could not be checked for lost jobs")
        return
    if repaired:
        log.warning("webhooks: %d pending deliveries had no job; scheduled them again", repaired)


def setup_webhooks(app: web.Application) -> None:
    """Call in create_app after the store's cleanup context and before the job queue's."""

    async def deliver(job: Job) -> None:
        await app[keys.WEBHOOKS].run_job(job)

    async def failed(job: Job) -> None:
        await app[keys.WEBHOOKS].job_failed(job)

    async def erase(lead_id: str, conversation_ids: list[str]) -> None:
        await app[keys.WEBHOOKS].erase(lead_id, conversation_ids)

    async def export(lead_id: str, conversation_ids: list[str]) -> Any:
        return await app[keys.WEBHOOKS].export(lead_id, conversation_ids)

    app[keys.JOBS].handle(JOB_KIND, deliver, RETRY, on_failed=failed)
    app[keys.ERASERS].register(ERASER_NAME, erase)
    app[keys.EXPORTERS].register(ERASER_NAME, export)
    app.cleanup_ctx.append(_open)
    app.on_startup.append(_repair)  # after every cleanup context: the job queue runs by then
    app.router.add_get("/admin/webhooks", webhooks_page)
