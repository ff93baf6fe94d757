"""The audit log: who changed what, and when, kept in the store's `audit` collection.

Entries are `{_id, at, actor, action, flow_id, version, changes}`; `actor` is the admin's email
(or "api token", "seed", "cli"). Entries are only ever added, never edited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from pymongo import DESCENDING

from bot.store import Store, new_id

MAX_PAGE: Final = 200


def entry_json(doc: dict[str, Any]) -> dict[str, Any]:
    at = doc["at"]
    return {
        "id": doc["_id"],
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "actor": doc["actor"],
        "action": doc["action"],
        "flow_id": doc.get("flow_id"),
        "version": doc.get("version"),
        "changes": list(doc.get("changes", [])),
    }


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
    ) -> None:
        await self._entries.insert_one(
            {
                "_id": new_id(),
                "at": self._clock(),
                "actor": actor,
                "action": action,
                "flow_id": flow_id,
                "version": version,
                "changes": list(changes),
            }
        )

    async def entries(
        self, *, flow_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {} if flow_id is None else {"flow_id": flow_id}
        cursor = self._entries.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)])
        cursor = cursor.skip(offset).limit(min(limit, MAX_PAGE))
        return [entry_json(doc) async for doc in cursor]
