"""SMS and WhatsApp through Twilio: one adapter, two media (docs/channels.md).

- `POST /channels/twilio/sms` and `POST /channels/twilio/whatsapp`: inbound messages
  (channels/twilio_webhooks.py), signed by Twilio (channels/twilio_signature.py).
- `POST /channels/twilio/status`: delivery reports for both media (channels/twilio_status.py).
- `send`: the REST API through the SDK's async client (channels/twilio_send.py).

A conversation's `channel` is "sms" or "whatsapp" and its `contact` the lead's E.164 number;
the same number on both media, or typed into the web widget, is the same lead.
"""

from __future__ import annotations

from typing import ClassVar

from aiohttp import web

from bot.models import Conversation, Message
from channels.base import ChannelRegistry
from channels.twilio_media import TwilioMedia
from channels.twilio_send import STATUS_PATH, TwilioSender
from channels.twilio_status import status_callback
from channels.twilio_webhooks import inbound_handler
from channels.twilio_window import WHATSAPP

SMS = "sms"


class SmsChannel:
    name: ClassVar[str] = SMS

    def __init__(self, sender: TwilioSender, media: TwilioMedia) -> None:
        self._sender = sender
        self._media = media

    def routes(self) -> list[web.RouteDef]:
        # One status callback serves both media; it is mounted once, with SMS.
        return [
            web.post("/channels/twilio/sms", inbound_handler(SMS, self._media)),
            web.post(STATUS_PATH, status_callback),
        ]

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        return await self._sender.send(conv, msg)


class WhatsAppChannel:
    name: ClassVar[str] = WHATSAPP

    def __init__(self, sender: TwilioSender, media: TwilioMedia) -> None:
        self._sender = sender
        self._media = media

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/channels/twilio/whatsapp", inbound_handler(WHATSAPP, self._media))]

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        return await self._sender.send(conv, msg)


def setup_twilio(app: web.Application, channels: ChannelRegistry) -> None:
    """Add SMS and WhatsApp. Call in create_app before the store's cleanup context, so the
    REST client closes only after the last bot turn has sent its reply."""
    sender = TwilioSender(app)
    media = TwilioMedia(app, sender)
    channels.add(SmsChannel(sender, media))
    channels.add(WhatsAppChannel(sender, media))
    app.cleanup_ctx.append(sender.connected)
