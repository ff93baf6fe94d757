"""MMS and WhatsApp media: fetched from Twilio after the ack and kept as the message's attachments.

The webhook lists media as `MediaUrl<i>` + `MediaContentType<i>`; reading them needs the account's
credentials, so they are fetched only from Twilio's own hosts, through the REST client's HTTP
session (its timeouts, and `LEADBOT_TWILIO_API_URL` when a stand-in plays Twilio). Twilio
redirects to a storage host; aiohttp drops the credentials on such a redirect. A file over the
size limit or of a type not allowed is not kept: `meta.media_skipped` says which and why.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import ClientError, web

from bot import keys
from bot.attachments.files import AttachmentRefused, Attachments, media_type
from bot.bus import AttachmentsAdded
from bot.models import Attachment, Message
from channels.twilio_send import TwilioSender

log = logging.getLogger(__name__)

CHUNK: Final = 64 * 1024


class MediaUnavailable(Exception):
    """Twilio would not give us the file (gone, refused, unreachable)."""


def _from_twilio(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


async def _download(
    http: Any, url: str, declared: str, files: Attachments, authorization: str
) -> tuple[str, bytes]:
    """The file's type and bytes, read no further than the size limit."""
    files.check(media_type(declared), None)  # refused types are not even downloaded
    headers = {"Authorization": authorization}
    try:
        async with http.session.get(http.aimed(url), headers=headers, timeout=http.timeout) as response:
            if response.status != 200:
                raise MediaUnavailable(f"Twilio answered HTTP {response.status}")
            kind = media_type(response.headers.get("Content-Type") or declared)
            files.check(kind, response.content_length)
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > files.max_bytes:
                    files.check(kind, len(data))  # raises: over the limit
            return kind, bytes(data)
    except (ClientError, TimeoutError) as exc:
        raise MediaUnavailable(f"could not fetch it: {str(exc) or type(exc).__name__}") from None


class TwilioMedia:
    """Fetches an inbound message's media into attachments; runs as tracked background work."""

    def __init__(self, app: web.Application, sender: TwilioSender) -> None:
        self._app = app
        self._sender = sender

    async def keep(self, message: Message, media: list[dict[str, str]]) -> None:
        client = self._sender.client
        if client is None:
            log.warning("media of message %s not fetched: the Twilio client is closed", message.id)
            return
        http = client.http_client
        settings = self._app[keys.SETTINGS]
        credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode()
        files = self._app[keys.ATTACHMENTS]
        kept: list[Attachment] = []
        skipped: list[dict[str, str]] = []
        for item in media:
            url, declared = item["url"], item.get("content_type", "")
            try:
                if not _from_twilio(url):
                    raise MediaUnavailable("not a Twilio URL; our credentials go only to Twilio")
                kind, data = await _download(http, url, declared, files, authorization)
                name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]  # the media's sid, ME…
                kept.append(
                    await files.save(message.conversation_id, filename=name, content_type=kind, data=data)
                )
            except (AttachmentRefused, MediaUnavailable) as exc:
                skipped.append({"url": url, "content_type": media_type(declared), "reason": str(exc)})
        notes = {"media_skipped": skipped} if skipped else None
        updated = await self._app[keys.STORE].add_attachments(message.id, kept, notes)
        self._app[keys.BUS].publish(AttachmentsAdded(updated))
