"""Everything leadbot keeps about a lead, as one JSON document (docs/privacy.md, "Export").

```
{"format": "leadbot.lead-export", "version": 1, "exported_at", "lead_id",
 "lead": {…},                        the lead as the API shows it, consent and merged ids included
 "conversations": [{…, "contact", "messages": [{…}]}],  every conversation (its phone or email), every message
 "attachments": [{id, conversation_id, filename, content_type, size, created_at, data_base64}],
 "consent": [{given, at, text, flow, conversation_id}],   each acceptance, oldest first
 "access_log": [{…}],                 who read this lead's data, and when
 "<registered name>": …,              touchpoints, webhook_deliveries, jobs, and any other module's
 "other_records": {"<collection>": [{…}]}}  documents naming the lead in any other collection
```

Written as it is read (`LeadExport.prepare`, then `ExportPlan.pieces`): the small parts first,
then each conversation's messages a page at a time and each attachment's bytes one file at a
time, its base64 in slices, so a lead with many files neither fills the memory nor holds the
event loop for long.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Final

from bot.api.views import consent_json, conversation_json, lead_json, message_json
from bot.jobs import Job
from bot.models import Consent, Conversation
from bot.privacy.access import AccessLog
from bot.privacy.erase import CONVERSATION_FIELDS, LEAD_FIELDS, NOT_SWEPT, Erasure, naming
from bot.privacy.json_stream import Streamed, array_pieces, object_pieces
from bot.privacy.registry import Exporter, Exporters
from bot.store import NotFound, Store

FORMAT: Final = "leadbot.lead-export"
VERSION: Final = 1
MAX_MESSAGES: Final = 100_000
MESSAGE_PAGE: Final = 500
BASE64_SLICE: Final = 3 * 256 * 1024  # 768 KiB of bytes: 1 MiB of base64 text per piece


def json_safe(value: Any) -> Any:
    """Store documents as plain JSON: times as ISO 8601, bytes as base64, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    return str(value)


def job_json(job: Job) -> dict[str, Any]:
    return {
        "kind": job.kind,
        "key": job.key,
        "payload": json_safe(dict(job.payload)),
        "run_at": job.run_at.isoformat(),
        "subject": job.subject,
        "attempt": job.attempt,
        "last_error": job.last_error,
    }


async def documents_naming(
    store: Store, collection: str, lead_ids: list[str], conversation_ids: list[str]
) -> list[dict[str, Any]]:
    """A collection's documents about the lead (by `lead_id` or `conversation_id`), as JSON."""
    query = naming(("lead_id", "conversation_id"), [*lead_ids, *conversation_ids])
    cursor = store.collection(collection).find(query).sort("_id", 1)
    return [json_safe(doc) async for doc in cursor]


async def _section(exporter: Exporter, lead_ids: list[str], conversation_ids: list[str]) -> Any:
    """An exporter's section, called as erasers are: for the lead (with every conversation) and
    for each lead merged into it (with none), since records written before a merge keep the
    merged lead's id. Lists are joined (without repeats); other sections, when a merged lead
    has one too, become the list of them."""
    sections = [await exporter(lead_ids[0], conversation_ids)]
    sections += [found for merged_id in lead_ids[1:] if (found := await exporter(merged_id, []))]
    if len(sections) == 1:
        return sections[0]
    if not all(isinstance(section, list) for section in sections):
        return sections
    joined: list[Any] = []
    for section in sections:
        joined += [item for item in section if item not in joined]
    return joined


@dataclass(frozen=True)
class ExportPlan:
    """An export ready to be written: the small parts read already (before the export is
    recorded, so the access log it holds is the one before it), the conversations' messages and
    the attachments' bytes read while they are written, one page or one file at a time."""

    fields: list[tuple[str, Any]]

    def pieces(self) -> AsyncIterator[str]:
        """The document's JSON text, as `json.dumps(document, ensure_ascii=False, indent=1)`."""
        return object_pieces(self.fields, 0)


class LeadExport:
    def __init__(self, *, store: Store, erasure: Erasure, exporters: Exporters, access: AccessLog) -> None:
        self.store = store
        self.erasure = erasure  # knows the lead's subject: merged leads, every conversation
        self.exporters = exporters
        self.access = access

    async def prepare(self, lead_id: str, *, now: datetime) -> ExportPlan:
        """The export (NotFound when there is no such lead)."""
        store = self.store
        lead = await store.get_lead(lead_id)
        subject = await self.erasure.subject(lead)
        ids = subject.conversation_ids
        conversations: list[Conversation] = []
        for conv_id in ids:
            with contextlib.suppress(NotFound):  # removed a moment ago
                conversations.append(await store.get_conversation(conv_id))
        conversations.sort(key=lambda c: c.created_at)
        consents: list[Consent] = [c.consent for c in conversations if c.consent is not None]
        attachment_ids = await self._attachment_ids(ids)
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": now.isoformat(),
            "lead_id": lead.id,
            "lead": lead_json(lead),
            "conversations": Streamed(partial(array_pieces, self._conversations(conversations))),
            "attachments": Streamed(partial(array_pieces, self._attachments(attachment_ids))),
            "consent": [consent_json(c) for c in sorted(consents, key=lambda c: c.at)],
            "access_log": await self.access.about(subject.lead_ids, ids),
        }
        for name, exporter in self.exporters.items():
            out[name] = json_safe(await _section(exporter, subject.lead_ids, list(ids)))
        out["other_records"] = await self._others(subject.lead_ids, ids, covered=set(out))
        return ExportPlan(list(out.items()))

    async def _conversations(self, conversations: list[Conversation]) -> AsyncIterator[Streamed]:
        for conv in conversations:
            fields = [
                *conversation_json(conv).items(),
                ("messages", Streamed(partial(array_pieces, self._messages(conv.id)))),
                # The phone or email an SMS, WhatsApp or email conversation is with: the lead's
                # own answers may have changed since, so the API's view alone would miss it.
                ("contact", conv.contact),
            ]
            yield Streamed(partial(object_pieces, fields))

    async def _messages(self, conversation_id: str) -> AsyncIterator[dict[str, Any]]:
        """Oldest first, a page at a time, at most MAX_MESSAGES."""
        after, left = 0, MAX_MESSAGES
        while left > 0:
            page = await self.store.messages_after(conversation_id, after, limit=min(MESSAGE_PAGE, left))
            for message in page:
                yield message_json(message)
            if len(page) < min(MESSAGE_PAGE, left):
                return
            after, left = page[-1].seq, left - len(page)

    async def _others(
        self, lead_ids: list[str], conversation_ids: list[str], covered: set[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Documents naming the lead in collections no section covers (what erasure sweeps)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for name in await self.store.collection_names():
            if name in NOT_SWEPT or name in covered:
                continue
            clauses = [
                *naming(LEAD_FIELDS, lead_ids)["$or"],
                *naming(CONVERSATION_FIELDS, conversation_ids)["$or"],
            ]
            query = {"$or": clauses}
            docs = [json_safe(doc) async for doc in self.store.collection(name).find(query)]
            if docs:
                found[name] = docs
        return found

    async def _attachment_ids(self, conversation_ids: list[str]) -> list[str]:
        cursor = self.store.collection("attachments").find(
            {"conversation_id": {"$in": conversation_ids}}, projection={"_id": 1}
        )
        return [doc["_id"] async for doc in cursor.sort("created_at", 1)]

    async def _attachments(self, attachment_ids: list[str]) -> AsyncIterator[Streamed]:
        """One file's bytes in memory at a time."""
        for attachment_id in attachment_ids:
            doc = await self.store.collection("attachments").find_one({"_id": attachment_id})
            if doc is None:  # erased a moment ago
                continue
            fields = [
                ("id", doc["_id"]),
                ("conversation_id", doc["conversation_id"]),
                ("filename", doc["filename"]),
                ("content_type", doc["content_type"]),
                ("size", doc["size"]),
                ("created_at", json_safe(doc.get("created_at"))),
                ("data_base64", Streamed(partial(base64_pieces, bytes(doc["data"])))),
            ]
            yield Streamed(partial(object_pieces, fields))


async def base64_pieces(data: bytes, level: int) -> AsyncIterator[str]:
    """A JSON string of the bytes' base64, BASE64_SLICE bytes at a time: a whole multiple of 3
    bytes per slice, so the slices' base64 joined is the whole's."""
    view = memoryview(data)
    yield '"'
    for start in range(0, len(view), BASE64_SLICE):
        yield base64.b64encode(view[start : start + BASE64_SLICE]).decode("ascii")
    yield '"'
