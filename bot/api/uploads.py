"""Files sent with a request as `multipart/form-data`: read within the attachment limits.

The parts are streamed (the app's 1 MB body limit is for JSON, not for files) and a file is
refused as soon as its type or its bytes break a limit, before anything is saved: 415 for a
type not allowed, 413 for a file (or too many files) over the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import BodyPartReader, web

from bot.api.errors import ApiError
from bot.attachments.files import AttachmentRefused, Attachments, TooLarge, TypeNotAllowed, media_type
from bot.models import Attachment

# Twilio sends at most 10 media with one message; no channel needs more.
MAX_FILES: Final = 10
MAX_TEXT_BYTES: Final = 64 * 1024
CHUNK: Final = 64 * 1024


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Form:
    text: str
    files: list[Upload]
    client_id: str | None = None  # the widget's message id, so a retried upload is stored once


def is_multipart(request: web.Request) -> bool:
    return request.content_type == "multipart/form-data"


async def _read(part: BodyPartReader, limit: int, refused: ApiError) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > limit:
            raise refused
    return bytes(data)


async def read_form(request: web.Request, files: Attachments) -> Form:
    """`text` (one field) and `file` (any number of parts up to MAX_FILES); other fields are ignored."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError):
        raise ApiError(400, "the body must be multipart/form-data") from None
    text = ""
    client_id: str | None = None
    uploads: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "nested multipart bodies are not accepted")
        if part.name == "text":
            raw = await _read(part, MAX_TEXT_BYTES, ApiError(413, "the text field is too long"))
            text = raw.decode(part.get_charset("utf-8"), errors="replace")
        elif part.name == "id":
            raw = await _read(part, 100, ApiError(422, "the id field is longer than 100 characters"))
            client_id = raw.decode(errors="replace").strip() or None
        elif part.name == "file" and part.filename == "":
            await part.release()  # a form's empty file input: nothing chosen
        elif part.name == "file":
            if len(uploads) == MAX_FILES:
                raise ApiError(413, f"at most {MAX_FILES} files with one message")
            kind = media_type(part.headers.get("Content-Type"))
            try:
                files.check(kind, None)
            except TypeNotAllowed as exc:
                raise ApiError(415, str(exc)) from None
            too_large = ApiError(413, f"a file is larger than the limit of {files.max_bytes} bytes")
            data = await _read(part, files.max_bytes, too_large)
            uploads.append(Upload(part.filename, kind, data))
        else:
            await part.release()
    return Form(text, uploads, client_id)


async def save_uploads(files: Attachments, conversation_id: str, uploads: list[Upload]) -> list[Attachment]:
    saved: list[Attachment] = []
    try:
        for upload in uploads:
            kind, name, data = upload.content_type, upload.filename, upload.data
            saved.append(await files.save(conversation_id, filename=name, content_type=kind, data=data))
    except AttachmentRefused as exc:  # read_form checked already; this keeps one source of the limits
        await files.discard(saved)
        raise ApiError(413 if isinstance(exc, TooLarge) else 415, str(exc)) from None
    return saved
