"""Every typed key under which state hangs on the aiohttp application."""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import jinja2

    from bot.attachments.files import Attachments
    from bot.attachments.links import AttachmentLinks
    from bot.attribution.touchpoints import Touchpoints
    from bot.audit import AuditLog
    from bot.auth.sessions import Sessions
    from bot.auth.shared_throttle import SharedLoginThrottle
    from bot.auth.throttle import LoginThrottle
    from bot.auth.users import Users
    from bot.bus import Bus
    from bot.clock import Timers
    from bot.conversations import Clock, Conversations
    from bot.flowbook import FlowBook
    from bot.handoff import Handoffs
    from bot.inbox.canned import CannedReplies
    from bot.inbox.hub import InboxHub
    from bot.jobs.service import JobService
    from bot.lead_events import LeadEvents
    from bot.metrics import Metrics
    from bot.ownership import AgentDirectory, Ownership
    from bot.privacy.access import AccessLog
    from bot.privacy.registry import Erasers, Exporters
    from bot.privacy.web import Privacy
    from bot.qualifier.graph import Qualifier
    from bot.rate_limits import RateLimiter
    from bot.redis_link import RedisLink
    from bot.settings import Settings
    from bot.store import Store
    from bot.webhooks.service import Webhooks
    from channels.base import ChannelRegistry

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[Store] = web.AppKey("store")
BUS: web.AppKey[Bus] = web.AppKey("bus")
FLOWS: web.AppKey[FlowBook] = web.AppKey("flows")
CONVERSATIONS: web.AppKey[Conversations] = web.AppKey("conversations")
API_TOKEN: web.AppKey[str] = web.AppKey("api_token")
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")
SHUTTING_DOWN: web.AppKey[asyncio.Event] = web.AppKey("shutting_down")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
QUALIFIER: web.AppKey[Qualifier] = web.AppKey("qualifier")
CHANNELS: web.AppKey[ChannelRegistry] = web.AppKey("channels")
OWNERSHIP: web.AppKey[Ownership] = web.AppKey("ownership")
HANDOFFS: web.AppKey[Handoffs] = web.AppKey("handoffs")
AGENT_DIRECTORY: web.AppKey[AgentDirectory] = web.AppKey("agent_directory")
USERS: web.AppKey[Users] = web.AppKey("users")
SESSIONS: web.AppKey[Sessions] = web.AppKey("sessions")
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("login_throttle")
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates")
TIMERS: web.AppKey[Timers | None] = web.AppKey("timers")
INBOX_HUB: web.AppKey[InboxHub] = web.AppKey("inbox_hub")
CANNED_REPLIES: web.AppKey[CannedReplies] = web.AppKey("canned_replies")
ATTACHMENTS: web.AppKey[Attachments] = web.AppKey("attachments")
ATTACHMENT_LINKS: web.AppKey[AttachmentLinks] = web.AppKey("attachment_links")
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
REDIS: web.AppKey[RedisLink] = web.AppKey("redis")
RATE_LIMITS: web.AppKey[RateLimiter] = web.AppKey("rate_limits")
# The sign-in throttle every process shares (Redis), over this process's own THROTTLE.
SHARED_THROTTLE: web.AppKey[SharedLoginThrottle] = web.AppKey("shared_login_throttle")
# What happens to leads (bot/lead_events.py): CRM webhooks and nurture follow-ups listen.
LEAD_EVENTS: web.AppKey[LeadEvents] = web.AppKey("lead_events")
# Background jobs (bot/jobs): features register handlers in create_app, the queue opens with the store.
JOBS: web.AppKey[JobService] = web.AppKey("jobs")
# Who else keeps lead data (bot/privacy/registry.py): erasing or exporting a lead reaches them.
ERASERS: web.AppKey[Erasers] = web.AppKey("erasers")
EXPORTERS: web.AppKey[Exporters] = web.AppKey("exporters")
# Reads of lead data by agents and admins, recorded in the audit log (bot/privacy/access.py).
ACCESS_LOG: web.AppKey[AccessLog] = web.AppKey("access_log")
# Export, erasure and retention (bot/privacy/web.py).
PRIVACY: web.AppKey[Privacy] = web.AppKey("privacy")
# CRM webhooks (bot/webhooks): endpoints, deliveries, and the lead event listener that feeds them.
WEBHOOKS: web.AppKey[Webhooks] = web.AppKey("webhooks")
# Where leads came from (bot/attribution): widget visits and contact-channel starts.
TOUCHPOINTS: web.AppKey[Touchpoints] = web.AppKey("touchpoints")
