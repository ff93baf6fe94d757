"""Reading an inbound-mail POST: form fields (SendGrid, Mailgun) or a raw MIME message.

The body is streamed with a size limit of its own (mail is bigger than the app's 1 MB
request limit). Attachment contents are counted, not kept: only their names, types and
sizes travel on (stored in the message's meta until attachments are a feature of
their own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

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


async def _read_part(part: BodyPartReader, budget: _Budget, *, keep: bool) -> tuple[bytes, int]:
    kept: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        budget.spend(len(chunk))
        size += len(chunk)
        if keep:
            kept.append(chunk)
    return b"".join(kept), size


async def _read_multipart(request: web.Request, budget: _Budget) -> FormPost:
    post = FormPost()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadPayload("nested multipart bodies are not inbound mail fields")
        name = part.name or ""
        if part.filename is not None:
            _, size = await _read_part(part, budget, keep=False)
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            post.files.append(FilePart(name, part.filename, content_type, size))
        else:
            data, _ = await _read_part(part, budget, keep=True)
            post.fields.setdefault(name, data)
    return post


async def read_post(request: web.Request) -> FormPost | RawPost:
    """The POST's fields and attachment facts, or its raw MIME message."""
    budget = _Budget()
    if request.content_length is not None:
        _Budget().spend(request.content_length)  # refuse an announced size before reading any of it
    content_type = request.content_type
    try:
        if content_type == "multipart/form-data":
            return await _read_multipart(request, budget)
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
