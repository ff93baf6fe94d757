"""Outbound SMS and WhatsApp: a stored message becomes one `Messages.json` request to Twilio.

Attachments go as `MediaUrl`s: signed links under LEADBOT_PUBLIC_URL (bot/attachments/links.py).
Within WhatsApp's 24-hour window the message goes as text; outside it as the flow's approved
template (`whatsapp.template_sid` and its variables), since WhatsApp refuses free text then.
Anything Twilio refuses, or that cannot be sent, raises `TwilioSendError`, whose text the
inbox shows as the message's `delivery_error`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientError, web
from twilio.base.exceptions import TwilioRestException  # type: ignore[import-untyped]

from bot import keys
from bot.flows import TemplateValueMissing
from bot.models import Conversation, Message
from bot.settings import Settings
from channels.twilio_http import twilio_client
from channels.twilio_window import WHATSAPP, window_closes_at, window_open

STATUS_PATH = "/channels/twilio/status"


class TwilioSendError(Exception):
    """A message that did not go out; the text says why, for the inbox. `transient`: it may go
    out if sent again later (Twilio unreachable, busy or failing), so it is (channels/resend.py)."""

    def __init__(self, text: str, *, transient: bool = False) -> None:
        super().__init__(text)
        self.transient = transient


def _sender(conv: Conversation, settings: Settings) -> dict[str, str]:
    """Who the message is from: the configured number, or the Messaging Service's pool."""
    if conv.channel == WHATSAPP and settings.twilio_whatsapp_from:
        return {"from_": settings.twilio_whatsapp_from}
    if conv.channel != WHATSAPP and settings.twilio_sms_from:
        return {"from_": settings.twilio_sms_from}
    if settings.twilio_messaging_service_sid:
        return {"messaging_service_sid": settings.twilio_messaging_service_sid}
    wanted = "LEADBOT_TWILIO_WHATSAPP_FROM" if conv.channel == WHATSAPP else "LEADBOT_TWILIO_SMS_FROM"
    raise TwilioSendError(f"no {conv.channel} sender: set {wanted} or LEADBOT_TWILIO_MESSAGING_SERVICE_SID")


def _recipient(conv: Conversation) -> str:
    if conv.contact is None:
        raise TwilioSendError(f"conversation {conv.id} has no phone number to send to")
    return f"whatsapp:{conv.contact}" if conv.channel == WHATSAPP else conv.contact


def _refusal(exc: TwilioRestException) -> str:
    # str(exc) is a coloured, multi-line report when stderr is a terminal: build our own.
    code = f"error {exc.code}, " if exc.code and exc.code != exc.status else ""
    reason = str(exc.msg or "no reason given").removeprefix("Unable to create record: ")  # the SDK's words
    return f"Twilio refused the message: {reason} ({code}HTTP {exc.status})"


def _template(template_sid: str, variables: dict[str, str]) -> dict[str, str]:
    content = {"content_sid": template_sid}
    if variables:
        content["content_variables"] = json.dumps(variables, ensure_ascii=False)
    return content


class TwilioSender:
    """Sends for both media through one REST client, opened in the app's cleanup context."""

    def __init__(self, app: web.Application) -> None:
        # The store and the flows are read at send time: the store opens after this is built.
        self._app = app
        self._client: Any = None

    async def connected(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: the client is open while the app runs (and its bot turns finish)."""
        async with twilio_client(app[keys.SETTINGS]) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    @property
    def client(self) -> Any:
        """The open `twilio.rest.Client` (None while the app is not running); its `http_client`
        is the session media downloads share, with the same timeouts and stand-in URL."""
        return self._client

    async def _content(self, conv: Conversation, msg: Message) -> dict[str, str] | None:
        """The body, or the template outside WhatsApp's window; None: not worth sending."""
        if conv.channel != WHATSAPP or window_open(conv, self._app[keys.CLOCK]()):
            return {"body": msg.text}
        if msg.sender == "system":
            return None  # "Dana joined the conversation" is no reason to send a paid template
        own = msg.meta.get("whatsapp_template")
        if isinstance(own, dict):  # a follow-up's own template, filled in already (bot/nurture)
            return _template(str(own["template_sid"]), dict(own.get("variables") or {}))
        flow = await self._app[keys.FLOWS].for_conversation(conv)
        closed = window_closes_at(conv)
        since = f"since {closed.isoformat(timespec='minutes')}" if closed else "(the lead never wrote)"
        if flow.whatsapp is None:
            raise TwilioSendError(
                f"WhatsApp's 24-hour window is closed {since} and flow '{flow.id}' has no template "
                "to send instead (whatsapp.template_sid); the lead must write first"
            )
        lead = await self._app[keys.STORE].get_lead(conv.lead_id)
        try:
            variables = flow.whatsapp.render(lead.slots)
        except TemplateValueMissing as exc:
            raise TwilioSendError(f"WhatsApp template not sent: {exc}") from None
        return _template(flow.whatsapp.template_sid, variables)

    def _media_urls(self, msg: Message, as_text: bool) -> list[str]:
        """Signed links Twilio fetches the files from: it needs a public URL to reach us."""
        public_url = self._app[keys.SETTINGS].public_url
        if not public_url:
            raise TwilioSendError(
                "attachments not sent: Twilio fetches them from LEADBOT_PUBLIC_URL, which is not set"
            )
        if not as_text:
            raise TwilioSendError(
                "attachments not sent: WhatsApp's window is closed and a template carries none"
            )
        links, now = self._app[keys.ATTACHMENT_LINKS], self._app[keys.CLOCK]()
        return [public_url + links.signed(a.id, now) for a in msg.attachments]

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        settings = self._app[keys.SETTINGS]
        params: dict[str, str | list[str]] = {"to": _recipient(conv), **_sender(conv, settings)}
        content = await self._content(conv, msg)
        if content is None:
            return None
        params.update(content)
        if msg.attachments:
            params["media_url"] = self._media_urls(msg, "body" in content)
        if settings.public_url:
            params["status_callback"] = settings.public_url + STATUS_PATH
        if self._client is None:
            raise TwilioSendError("the Twilio client is closed (the server is stopping)", transient=True)
        try:
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as exc:
            busy_or_failing = exc.status == 429 or exc.status >= 500
            raise TwilioSendError(_refusal(exc), transient=busy_or_failing) from None
        except (ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise TwilioSendError(f"could not reach Twilio: {reason}", transient=True) from None
        return str(created.sid)
