"""The email channel: inbound webhooks in, SMTP out (docs/channels.md, "Email").

Registered by `setup_email_channel` only when SMTP is configured (LEADBOT_SMTP_HOST).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from aiohttp import web

from bot import keys
from bot.models import Conversation, Message
from bot.settings import EmailSettings
from channels.base import ChannelRegistry
from channels.email_addresses import address_of, reply_to_address
from channels.email_inbound import inbound_mail
from channels.email_outbound import ReplyTemplates, SmtpSender, compose, last_thread, new_message_id
from channels.email_threads import EMAIL_THREADS, EmailThreads

INBOUND_PATH = "/channels/email/inbound"


class EmailChannel:
    name: ClassVar[str] = "email"

    def __init__(self, app: web.Application, settings: EmailSettings) -> None:
        # The store exists once the app has started; sends look it up on the app then.
        self._app = app
        self._settings = settings
        self._templates = ReplyTemplates()
        self._smtp = SmtpSender(settings)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(INBOUND_PATH, inbound_mail),
            # Mailgun posts the raw message (field body-mime) to URLs ending in "mime".
            web.post(f"{INBOUND_PATH}/mime", inbound_mail),
        ]

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        if msg.sender == "system":
            return None  # "Dana joined the conversation." is for chat windows, not a mail of its own
        if conv.contact is None:
            raise ValueError(f"email conversation {conv.id} has no address to write to")
        threads = self._app[EMAIL_THREADS]
        thread = await last_thread(self._app[keys.STORE], conv.id, msg.seq)
        token = await threads.token_for(conv.id)
        message_id = new_message_id(self._settings.domain)
        await threads.remember(message_id, conv.id)  # before sending: a quick reply must find it
        recipient = address_of(conv.contact)
        files = []
        for attachment in msg.attachments:
            stored = await self._app[keys.ATTACHMENTS].get(attachment.id)
            if stored is None:
                raise ValueError(f"attachment {attachment.filename} is no longer stored")
            files.append(stored)
        mail = compose(
            self._settings,
            self._templates,
            to=recipient,
            message=msg,
            thread=thread,
            reply_to=reply_to_address(self._settings, token),
            message_id=message_id,
            now=self._app[keys.CLOCK](),
            files=files,
        )
        await self._smtp.send(mail, recipient)
        return message_id


async def _threads(app: web.Application) -> AsyncIterator[None]:
    threads = EmailThreads(app[keys.STORE])
    await threads.ensure_indexes()
    app[EMAIL_THREADS] = threads
    yield


def setup_email_channel(app: web.Application, channels: ChannelRegistry) -> None:
    """Register the email channel when SMTP is configured. Call in create_app after the
    store's cleanup context and before the channels' routes are added."""
    settings = app[keys.SETTINGS].email
    if settings is None:
        return
    channels.add(EmailChannel(app, settings))
    app.cleanup_ctx.append(_threads)
