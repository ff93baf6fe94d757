"""The bytes of attachments, one document each in the `attachments` collection.

A document is `{_id, filename, content_type, size, data, conversation_id, created_at}`. Keeping
bytes in the database (not on a disk beside it) works the same for the embedded store and
MongoDB, within the configured size limit (MongoDB's documents stop at 16 MB).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from bot.models import Attachment, utcnow
from bot.settings import Settings
from bot.store import Store, new_id

# Shown inline (and as thumbnails) only these: a browser renders them without running anything.
# SVG is an image that can carry script, so it is never among them.
INLINE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_FILENAME: Final = 120
_MEDIA_TYPE: Final = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")
_UNSAFE_NAME: Final = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_EXTENSIONS: Final = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}


class AttachmentRefused(ValueError):
    """A file we do not keep: too large, or of a type not allowed. The text says which."""


class TypeNotAllowed(AttachmentRefused):
    """Its type is not among the allowed ones (an upload answers 415)."""


class TooLarge(AttachmentRefused):
    """Over the size limit (an upload answers 413)."""


@dataclass(frozen=True)
class StoredFile:
    attachment: Attachment
    conversation_id: str
    data: bytes


def media_type(raw: str | None) -> str:
    """`image/JPEG; name=x` → `image/jpeg`; unknown or empty → `application/octet-stream`."""
    kind = (raw or "").split(";", 1)[0].strip().lower()
    return kind if _MEDIA_TYPE.fullmatch(kind) else "application/octet-stream"


def safe_filename(raw: str | None, content_type: str, fallback: str) -> str:
    """A name fit for a download: no paths, no control characters, not too long."""
    name = unicodedata.normalize("NFC", raw or "")
    name = _UNSAFE_NAME.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" ._")
    name = name or fallback
    extension = _EXTENSIONS.get(content_type)
    if extension and "." not in name:  # Twilio's media have ids, not names: say what they are
        name = f"{name}.{extension}"
    return name[-MAX_FILENAME:]


class Attachments:
    """Checks files against the limits and keeps the ones that pass."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._files = store.collection("attachments")
        self.max_bytes = settings.attachment_max_bytes
        self.types = settings.attachment_types

    def check(self, content_type: str, size: int | None) -> None:
        """Refuse a file before its bytes are read, when its type or announced size says so."""
        if content_type not in self.types:
            allowed = ", ".join(sorted(self.types))
            raise TypeNotAllowed(f"{content_type} is not an allowed type ({allowed})")
        if size is not None and size > self.max_bytes:
            raise TooLarge(f"{size} bytes is more than the limit of {self.max_bytes}")

    async def save(
        self, conversation_id: str, *, filename: str | None, content_type: str, data: bytes
    ) -> Attachment:
        kind = media_type(content_type)
        self.check(kind, len(data))
        attachment = Attachment(
            id=new_id(),
            filename=safe_filename(filename, kind, "attachment"),
            content_type=kind,
            size=len(data),
        )
        doc: dict[str, Any] = {
            "_id": attachment.id,
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "data": data,
            "conversation_id": conversation_id,
            "created_at": utcnow(),
        }
        await self._files.insert_one(doc)
        return attachment

    async def discard(self, attachments: list[Attachment]) -> None:
        """Drop files saved for a message that was then not stored (e.g. a refused reply)."""
        if attachments:
            await self._files.delete_many({"_id": {"$in": [a.id for a in attachments]}})

    async def get(self, attachment_id: str) -> StoredFile | None:
        doc = await self._files.find_one({"_id": attachment_id})
        if doc is None:
            return None
        attachment = Attachment.model_validate({**doc, "id": doc["_id"]})
        return StoredFile(attachment, str(doc["conversation_id"]), bytes(doc["data"]))
