"""The audit log: who changed what, and when, kept in the store's `audit` collection.

Entries are `{_id, at, actor, action, kind?, flow_id, version, changes}`; `actor` is the admin's
email (or "api token", "seed", "cli"). Entries are only ever added, never edited. Flow changes
carry no `kind` (they came first); other entries say theirs (`KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from bson import ObjectId
from pymongo import DESCENDING

from bot.store import Store

MAX_PAGE: Final = 200


# Entries about lead data (bot/privacy/access.py) carry these too, when they have them.
_PRIVACY_FIELDS: Final = (
    "lead_id",
    "conversation_id",
    "count",
    "removed",
    "days",
    "subject_hash",
    "subject_salt",
)
# `kind` filters: flow changes (entries written before kinds existed have none), reads of lead
# data, erasures and retention purges, and changes to webhook endpoints.
KINDS: Final = ("flows", "access", "privacy", "webhooks")


def entry_id() -> str:
    """A new entry's id: an ObjectId's hex, which grows with each entry a process makes, so entries
    made at the same instant of the clock still list newest first (the list sorts by time, then id)."""
    return str(ObjectId())


def entry_json(doc: dict[str, Any]) -> dict[str, Any]:
    at = doc["at"]
    out = {
        "id": doc["_id"],
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "actor": doc["actor"],
        "action": doc["action"],
        "kind": doc.get("kind") or "flows",
        "flow_id": doc.get("flow_id"),
        "version": doc.get("version"),
        "changes": list(doc.get("changes", [])),
    }
    out.update({name: doc[name] for name in _PRIVACY_FIELDS if name in doc})
    return out


class AuditLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._entries = store.collection("audit")
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._entries.create_index([("at", DESCENDING)], name="by_time")
        await self._entries.create_index([("flow_id", 1), ("at", DESCENDING)], name="by_flow")

    async def record(
        self,
        action: str,
        *,
        actor: str,
        flow_id: str | None = None,
        version: int | None = None,
        changes: Sequence[str] = (),
        kind: str | None = None,
    ) -> None:
        """`kind`: one of KINDS but "flows", for entries that are not flow changes."""
        if kind is not None and (kind not in KINDS or kind == "flows"):
            raise ValueError(f"an audit entry's kind is one of {', '.join(KINDS[1:])}, not {kind!r}")
        entry: dict[str, Any] = {
            "_id": entry_id(),
            "at": self._clock(),
            "actor": actor,
            "action": action,
            "flow_id": flow_id,
            "version": version,
            "changes": list(changes),
        }
        if kind is not None:
            entry["kind"] = kind
        await self._entries.insert_one(entry)

    async def entries(
        self, *, flow_id: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {} if flow_id is None else {"flow_id": flow_id}
        if kind is not None:
            query["kind"] = None if kind == "flows" else kind  # null matches a missing kind too
        cursor = self._entries.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        cursor = cursor.skip(offset).limit(min(limit, MAX_PAGE))
        return [entry_json(doc) async for doc in cursor]
