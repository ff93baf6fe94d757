"""Sending again what a channel could not send for a passing reason: `channel.resend` jobs.

When an SMS, WhatsApp or email send fails transiently (channels/send_failures.py), the send
path (`Conversations.deliver`) records the message as failed, and this schedules a job that
sends the stored message again, with backoff (RESEND), until the provider takes it. A refusal
that would be the same next time is not retried.

A job runs at least once, so a run sends only while the provider has not taken the message
(no provider id: the send path records one the moment the provider accepts), never to a lead
who has opted out since, and through the channel's own send, which applies WhatsApp's window
rules as of now (a template outside the 24 hours, or no send at all). Meanwhile the message
stays `failed` with the latest reason in `delivery_error`; its job is listed by
`app[keys.JOBS].pending(kind="channel.resend")`, and once its attempts are used up, by `failed()`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from bot import keys
from bot.bus import DeliveryChanged
from bot.jobs import Job, Retry
from bot.models import Conversation, Message
from bot.store import NotFound, Store
from channels.send_failures import is_transient

log = logging.getLogger(__name__)

KIND: Final = "channel.resend"
# Six resends after the first send, over about a quarter of an hour (30 s, 30 s, 1, 2, 4, 8 min
# apart, ± 10 %): the job's first run waits 30 s, then each retry waits `delay_after(attempt)`.
RESEND: Final = Retry(attempts=6, first_delay_seconds=30.0, max_delay_seconds=3600.0)
ERROR_CHARS: Final = 300


def resend_key(message_id: str) -> str:
    return f"{KIND}:{message_id}"


def _error(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:ERROR_CHARS]


class Resender:
    def __init__(self, app: web.Application) -> None:
        self._app = app  # the store and the channels are read when a job runs

    async def attach(self, app: web.Application) -> None:
        """on_startup: the send path exists once the store has opened."""
        app[keys.CONVERSATIONS].on_send_failed = self.after_failure

    async def after_failure(self, conv: Conversation, message: Message, exc: Exception) -> None:
        """The send path's hook: a transient failure is tried again later."""
        if not is_transient(exc):
            return
        first = self._app[keys.CLOCK]() + timedelta(seconds=RESEND.first_delay_seconds)
        try:
            await self._app[keys.JOBS].schedule(
                KIND,
                {"message_id": message.id},
                key=resend_key(message.id),
                run_at=first,
                subject=conv.lead_id,
            )
        except Exception:  # the reply is stored and marked failed: the send path goes on
            log.exception("message %s could not be scheduled to be sent again", message.id)

    async def run(self, job: Job) -> None:
        """The `channel.resend` handler: send the stored message again, if it is still owed."""
        store: Store = self._app[keys.STORE]
        try:
            message = await store.get_message(str(job.payload["message_id"]))
            conv = await store.get_conversation(message.conversation_id)
        except NotFound:
            return  # erased meanwhile
        if message.provider_id is not None or message.delivery not in (None, "failed"):
            return  # the provider has it already (a run before this one got through)
        channel = self._app[keys.CHANNELS].get(conv.channel)
        if channel is None:
            await self._record_failure(message.id, f"the {conv.channel} channel is no longer configured")
            return
        if await self._opted_out(store, conv, message):
            await self._record_failure(message.id, "the lead opted out")
            return
        try:
            provider_id = await channel.send(conv, message)
        except Exception as exc:
            await self._record_failure(message.id, _error(exc))
            if is_transient(exc):
                raise  # the job runs again after its backoff (or is kept as failed: jobs.failed())
            return
        await self._record_sent(message.id, provider_id)

    @staticmethod
    async def _opted_out(store: Store, conv: Conversation, message: Message) -> bool:
        """As the send path decides: on a contact channel, nothing but the opt-out notice itself."""
        if conv.contact is None or message.meta.get("notice") == "opted_out":
            return False
        return (await store.get_lead(conv.lead_id)).status == "opted_out"

    async def _record_failure(self, message_id: str, error: str) -> None:
        await self._update(
            {"_id": message_id, "provider_id": None},
            {"$set": {"delivery": "failed", "delivery_error": error}},
        )

    async def _record_sent(self, message_id: str, provider_id: str | None) -> None:
        """As the send path records a send, over the failure recorded before."""
        store: Store = self._app[keys.STORE]
        await store.messages.update_one(
            {"_id": message_id, "provider_id": None, "delivery": "failed"},
            {"$set": {"delivery": None, "delivery_error": None}},
        )
        if provider_id is not None:
            await store.sent_as(message_id, provider_id, "queued")  # applies an early status report
        self._app[keys.BUS].publish(DeliveryChanged(await store.get_message(message_id)))

    async def _update(self, query: dict[str, Any], change: dict[str, Any]) -> None:
        store: Store = self._app[keys.STORE]
        if (await store.messages.update_one(query, change)).modified_count:
            self._app[keys.BUS].publish(DeliveryChanged(await store.get_message(query["_id"])))


def setup_channel_resend(app: web.Application) -> None:
    """In create_app, after app[keys.JOBS] exists: the job handler, and the send path's hook."""
    resender = Resender(app)
    app[keys.JOBS].handle(KIND, resender.run, RESEND)
    app.on_startup.append(resender.attach)
