"""Reading an inbound-mail POST: form fields (SendGrid, Mailgun) or a raw MIME message.

The body is streamed with a size limit of its own (mail is bigger than the app's 1 MB
request limit). An attached file's bytes are kept only when the attachment limits allow it
(its declared type allowed, its size within the limit): a refused file is counted, not held,
and its reason travels on, so the message's meta can say why it was not stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from bot.attachments.files import AttachmentRefused, Attachments, media_type

# Providers cap inbound mail near this (SendGrid: 30 MB with attachments); more is not mail.
MAX_INBOUND_BYTES: Final = 32 * 1024 * 1024
_CHUNK: Final = 64 * 1024
RAW_MIME_TYPES: Final = frozenset({"message/rfc822"})


class BadPayload(Exception):
    """The body cannot be read as inbound mail; answered with `status` and this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class FilePart:
    field: str  # the form field: attachment1 (SendGrid), attachment-1 (Mailgun)
    filename: str
    content_type: str
    size: int
    data: bytes | None = dataclasses.field(default=None, repr=False)  # None: not kept (see `refused`)
    refused: str | None = None  # why its bytes were not kept


@dataclass
class FormPost:
    fields: dict[str, bytes] = field(default_factory=dict)  # raw bytes: SendGrid says the charsets later
    files: list[FilePart] = field(default_factory=list)


@dataclass(frozen=True)
class RawPost:
    mime: bytes


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_INBOUND_BYTES

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise BadPayload(f"the mail is larger than {MAX_INBOUND_BYTES // (1024 * 1024)} MB", 413)


async def _read_all(request: web.Request, budget: _Budget) -> bytes:
    chunks = []
    while chunk := await request.content.read(_CHUNK):
        budget.spend(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_part(part: BodyPartReader, budget: _Budget) -> bytes:
    kept: list[bytes] = []
    while chunk := await part.read_chunk(_CHUNK):
        budget.spend(len(chunk))
        kept.append(chunk)
    return b"".join(kept)


async def _read_file(part: BodyPartReader, budget: _Budget, limits: Attachments | None) -> FilePart:
    """A file field, its bytes kept only while the limits allow: a refused type is not held
    at all, an oversized file is dropped at the limit (and still counted to its end)."""
    content_type = part.headers.get("Content-Type", "application/octet-stream")
    kind = media_type(content_type)
    refused: str | None = None
    if limits is None:
        refused = "attachments are not stored"
    else:
        try:
            limits.check(kind, None)
        except AttachmentRefused as exc:
            refused = str(exc)
    keep = refused is None
    kept: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        budget.spend(len(chunk))
        size += len(chunk)
        if keep:
            kept.append(chunk)
            if limits is not None and size > limits.max_bytes:
                keep, kept = False, []
    if refused is None and not keep and limits is not None:
        try:
            limits.check(kind, size)  # raises: over the limit, told with the whole size
        except AttachmentRefused as exc:
            refused = str(exc)
    data = b"".join(kept) if refused is None else None
    return FilePart(part.name or "", part.filename or "", content_type, size, data, refused)


async def _read_multipart(request: web.Request, budget: _Budget, limits: Attachments | None) -> FormPost:
    post = FormPost()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadPayload("nested multipart bodies are not inbound mail fields")
        name = part.name or ""
        if part.filename is not None:
            post.files.append(await _read_file(part, budget, limits))
        else:
            data = await _read_part(part, budget)
            post.fields.setdefault(name, data)
    return post


async def read_post(request: web.Request, limits: Attachments | None = None) -> FormPost | RawPost:
    """The POST's fields and files (the bytes of those `limits` allow), or its raw MIME message."""
    budget = _Budget()
    if request.content_length is not None:
        _Budget().spend(request.content_length)  # refuse an announced size before reading any of it
    content_type = request.content_type
    try:
        if content_type == "multipart/form-data":
            return await _read_multipart(request, budget, limits)
        if content_type == "application/x-www-form-urlencoded":
            body = (await _read_all(request, budget)).decode("ascii", "replace")
            pairs = parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="replace")
            fields: dict[str, bytes] = {}
            for name, value in pairs:
                fields.setdefault(name, value.encode())
            return FormPost(fields)
        if content_type in RAW_MIME_TYPES:
            return RawPost(await _read_all(request, budget))
    except ValueError as exc:  # what aiohttp's multipart reader raises on a broken body
        raise BadPayload(f"the {content_type} body is malformed: {exc}") from None
    raise BadPayload(
        f"unsupported Content-Type {content_type!r}: post multipart/form-data (SendGrid, Mailgun), "
        "application/x-www-form-urlencoded (Mailgun) or message/rfc822 (a raw MIME message)",
        415,
    )
