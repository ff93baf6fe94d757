"""create_app(settings): the aiohttp application with its services, routes and lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web
from aiojobs import Scheduler

from bot import keys
from bot.admin.web import setup_admin
from bot.analytics.web import setup_analytics
from bot.api.errors import store_unavailable
from bot.api.routes import create_api
from bot.assets import flows_dir
from bot.attachments.web import setup_attachments
from bot.attribution.web import setup_attribution
from bot.auth.directory import UserDirectory
from bot.auth.web import setup_auth
from bot.bus import Bus
from bot.bus_bridge import BusBridge
from bot.clock import CallableClock, LoopTimers, Timers
from bot.conversations import Clock, Conversations, utcnow_clock
from bot.flow_versions import open_versions
from bot.flowbook import FlowBook
from bot.handoff import Handoffs
from bot.inbox.web import setup_inbox
from bot.jobs.service import JobService, run_jobs
from bot.lead_events import LeadEvents
from bot.llm.runtime import LlmRuntime
from bot.metrics import AppState, Metrics, metrics_page
from bot.nurture.setup import setup_nurture
from bot.ownership import Ownership
from bot.pages import page_routes
from bot.privacy.registry import Erasers, Exporters
from bot.privacy.web import setup_privacy
from bot.qualifier.graph import Qualifier
from bot.rate_limits import setup_rate_limits
from bot.redis_link import RETRY_SECONDS as REDIS_RETRY_SECONDS
from bot.redis_link import RedisLink
from bot.settings import Settings
from bot.storage import open_store
from bot.tokens import api_token
from bot.turn_lock import TurnLocks
from bot.webhooks.web import setup_webhooks
from channels.base import ChannelRegistry
from channels.email_channel import setup_email_channel
from channels.resend import setup_channel_resend
from channels.twilio import setup_twilio
from channels.web import WebChannel

log = logging.getLogger(__name__)

# Turns still running at shutdown get this long to finish; the rest are answered by
# whichever process next sees the conversation (`ensure_answered`).
SHUTDOWN_GRACE_SECONDS = 10.0


async def _redis(app: web.Application) -> AsyncIterator[None]:
    """Watch Redis: while it is unreachable, try it every second so recovery needs no traffic."""
    link = app[keys.REDIS]
    watcher = asyncio.create_task(_watch_redis(link), name="redis-watch") if link.configured else None
    bridge = BusBridge(app[keys.BUS], link) if link.configured else None
    if link.configured:
        await link.ping()  # start in the right mode; an unreachable Redis is no reason not to start
    if bridge is not None:
        bridge.start()
    try:
        yield
    finally:
        if bridge is not None:
            await bridge.stop()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await link.close()


async def _watch_redis(link: RedisLink) -> None:
    while True:
        await asyncio.sleep(REDIS_RETRY_SECONDS)
        if not link.healthy:
            await link.ping()


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    async with open_store(settings) as store:
        app[keys.STORE] = store
        versions = await open_versions(store, clock=app[keys.CLOCK])
        app[keys.AUDIT] = versions.audit
        await app[keys.FLOWS].attach(versions)
        llm = LlmRuntime(settings.llm) if settings.llm is not None else None
        jobs = Scheduler(limit=None, pending_limit=100_000, close_timeout=SHUTDOWN_GRACE_SECONDS)
        app[keys.CONVERSATIONS] = Conversations(
            store=store,
            bus=app[keys.BUS],
            flows=app[keys.FLOWS],
            channels=app[keys.CHANNELS],
            jobs=jobs,
            qualifier=app[keys.QUALIFIER],
            clock=app[keys.CLOCK],
            llm=llm,
            metrics=app[keys.METRICS],
            turn_locks=TurnLocks(app[keys.REDIS]),
            lead_events=app[keys.LEAD_EVENTS],
        )
        try:
            yield
        finally:
            await jobs.wait_and_close(timeout=SHUTDOWN_GRACE_SECONDS)
            if llm is not None:
                await llm.aclose()


async def _close_sockets(app: web.Application) -> None:
    """Stop gracefully: readiness fails first (`/readyz` 503), so the load balancer sends no one
    new; after the drain time, open sockets close with 1001 and their clients reconnect to
    another process. Turns still running then get SHUTDOWN_GRACE_SECONDS to finish; any cut
    short is answered by whichever process next sees the conversation."""
    drained = app[keys.SHUTTING_DOWN].is_set()  # SIGTERM already drained (bot/drain.py)
    app[keys.SHUTTING_DOWN].set()
    registry = app[keys.SOCKETS]
    drain = app[keys.SETTINGS].shutdown_drain_seconds
    if registry and drain > 0 and not drained:
        await asyncio.sleep(drain)  # clients still connected get the time a load balancer would
    sockets = list(registry)
    if sockets:
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down") for ws in sockets),
            return_exceptions=True,
        )


async def _handoffs(app: web.Application) -> AsyncIterator[None]:
    """Routing, the queue and agent ownership; needs the store and the accounts."""
    convs, settings = app[keys.CONVERSATIONS], app[keys.SETTINGS]
    clock = CallableClock(app[keys.CLOCK])
    handoffs = Handoffs(
        convs=convs,
        users=app[keys.USERS],
        clock=clock,
        timers=app[keys.TIMERS] or LoopTimers(clock),
        offer_timeout=settings.offer_timeout_seconds,
    )
    convs.on_handoff = handoffs.hand_off
    app[keys.HANDOFFS] = handoffs
    app[keys.OWNERSHIP] = Ownership(convs, max_chars=settings.max_message_chars, listener=handoffs)
    app[keys.AGENT_DIRECTORY] = UserDirectory(app[keys.USERS])
    await handoffs.restore()
    try:
        yield
    finally:
        handoffs.close()


def create_app(
    settings: Settings,
    *,
    flows: FlowBook | None = None,
    clock: Clock | None = None,
    timers: Timers | None = None,
    qualifier: Qualifier | None = None,
) -> web.Application:
    """The whole server. Nothing is read from the environment here: pass `settings`.

    `clock` and `timers` are for tests that move time instead of waiting for it.
    """
    app = web.Application(client_max_size=1 << 20, middlewares=[store_unavailable])
    app[keys.SETTINGS] = settings
    app[keys.FLOWS] = flows or FlowBook.from_dir(settings.flows_dir or flows_dir(), settings.default_flow)
    app[keys.API_TOKEN], _ = api_token(settings)
    app[keys.BUS] = Bus()
    app[keys.METRICS] = Metrics()
    app[keys.LEAD_EVENTS] = LeadEvents()
    app[keys.JOBS] = JobService()  # features register their job handlers on it below
    # Before any feature's setup: modules that keep lead data register their erasers here.
    app[keys.ERASERS], app[keys.EXPORTERS] = Erasers(), Exporters()
    app[keys.METRICS].registry.register(AppState(app))
    app[keys.REDIS] = RedisLink(settings.redis_url)
    app.cleanup_ctx.append(_redis)
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[keys.SOCKETS] = sockets
    app[keys.SHUTTING_DOWN] = asyncio.Event()
    app[keys.CLOCK] = clock or utcnow_clock
    app[keys.QUALIFIER] = qualifier or Qualifier()
    channels = ChannelRegistry([WebChannel()])
    app[keys.CHANNELS] = channels
    if settings.twilio_enabled:
        setup_twilio(app, channels)  # before _services: its client outlives the bot turns
    app.cleanup_ctx.append(_services)
    setup_attachments(app)  # after the store: the files live there
    setup_email_channel(app, channels)  # only when SMTP is configured; after the store
    setup_channel_resend(app)  # sends that failed for a passing reason go again (a job)
    app.on_shutdown.append(_close_sockets)
    app.add_routes(page_routes())
    app.router.add_get("/metrics", metrics_page)
    app.add_routes(channels.routes())
    app.add_subapp("/api", create_api())
    setup_auth(app)
    setup_rate_limits(app)  # after setup_auth: wraps its per-process sign-in throttle
    setup_inbox(app)
    setup_admin(app)
    setup_analytics(app)  # the admin page; its API routes are in bot/api/routes.py
    setup_webhooks(app)  # after the store, before the job queue
    setup_attribution(app)  # after the store and the conversations
    setup_nurture(app)  # follow-ups and score decay: job handlers and lead-event listeners
    setup_privacy(app)  # after the store and the conversations: export, erasure, retention
    app[keys.TIMERS] = timers
    app.cleanup_ctx.append(_handoffs)
    app.cleanup_ctx.append(run_jobs)  # last: jobs start once every service is up, stop first
    return app
