"""`POST /channels/twilio/status`: Twilio reports how far an outbound message got.

Callbacks come more than once and out of order (Twilio does not promise either); the store
only moves a message's delivery forward (queued → sent → delivered → read; failed and
undelivered are final), so a late `sent` never undoes `delivered`. Each real change goes on
the bus as `DeliveryChanged` for the inbox.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from bot import keys
from bot.bus import DeliveryChanged
from bot.models import Delivery
from channels.twilio_webhooks import BadWebhook, Form, required, signed_form, webhook_error

# Twilio's MessageStatus values, as leadbot's delivery statuses.
DELIVERY_OF: Final[dict[str, Delivery]] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def error_of(form: Form, status: str) -> str | None:
    code = form.get("ErrorCode", "").strip()
    if code and code != "0":
        reason = form.get("ErrorMessage", "").strip()
        detail = f": {reason}" if reason else ""
        return f"Twilio error {code}{detail} (https://www.twilio.com/docs/api/errors/{code})"
    if status == "canceled":
        return "canceled before it was sent"
    return None


async def status_callback(request: web.Request) -> web.StreamResponse:
    try:
        form = await signed_form(request)
        sid = required(form, "MessageSid", "SmsSid")
        status = required(form, "MessageStatus").lower()
        delivery = DELIVERY_OF.get(status)
        if delivery is None:
            known = ", ".join(DELIVERY_OF)
            raise BadWebhook(400, "bad_request", f"MessageStatus {status!r} is not one of {known}")
    except BadWebhook as exc:
        return webhook_error(exc)
    updated = await request.app[keys.STORE].update_delivery(sid, delivery, error_of(form, status))
    if updated is not None:  # None: old news (a duplicate, a late callback) or not our message
        request.app[keys.BUS].publish(DeliveryChanged(updated))
    return web.Response(status=204)
