"""Reads of lead data by agents and admins, kept in the audit log (the store's `audit` collection).

An entry is `{_id, at, actor, action, kind, lead_id, conversation_id, count}`: who read what,
and when, never what they read. Actions:
- `lead.viewed`: a lead read through the API (`GET /api/leads/{id}`, the admin leads page).
- `conversation.viewed`: a conversation read through the API, or opened in the inbox (once per
  opening: the live updates that follow are not recorded again).
- `lead.exported`: a lead's export (`GET /api/leads/{id}/export`).
- `leads.listed`, `conversations.listed`, `leads.searched`: list reads, with how many came back
  (`count`) and no ids.
- `touchpoints.viewed`: a lead's touchpoints (`GET /api/leads/{id}/touchpoints`, attribution).
- `webhook_delivery.viewed`: a webhook delivery's body, the lead as sent to a CRM
  (`GET /api/webhooks/deliveries/{id}`, and the answer to a redelivery).

Erasure and retention add `kind: "privacy"` entries (bot/privacy/erase.py), changes to webhook
endpoints `kind: "webhooks"`; flow changes are the audit log's older entries (bot/audit.py),
which carry no `kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from aiohttp import web
from pymongo import ASCENDING, DESCENDING

from bot import keys
from bot.api.admins import actor
from bot.audit import entry_id, entry_json
from bot.auth.identity import current_user
from bot.store import Store

ACCESS: Final = "access"
PRIVACY: Final = "privacy"
Kind = Literal["access", "privacy"]


class AccessLog:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._entries = store.collection("audit")
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._entries.create_index([("lead_id", ASCENDING)], name="by_lead", sparse=True)
        await self._entries.create_index(
            [("conversation_id", ASCENDING)], name="by_conversation", sparse=True
        )
        await self._entries.create_index([("kind", ASCENDING), ("at", DESCENDING)], name="by_kind")

    async def record(
        self,
        action: str,
        *,
        actor: str,
        lead_id: str | None = None,
        conversation_id: str | None = None,
        count: int | None = None,
        kind: Kind = ACCESS,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        doc: dict[str, Any] = {
            "_id": entry_id(),
            "at": self._clock(),
            "actor": actor,
            "action": action,
            "kind": kind,
            "flow_id": None,
            "version": None,
            "changes": [],
        }
        for name, value in (("lead_id", lead_id), ("conversation_id", conversation_id), ("count", count)):
            if value is not None:  # missing, not null: the id indexes are sparse
                doc[name] = value
        doc.update(extra or {})
        await self._entries.insert_one(doc)

    async def about(self, lead_ids: Sequence[str], conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every entry naming one of these leads or conversations, oldest first."""
        cursor = self._entries.find(_naming(lead_ids, conversation_ids)).sort("at", ASCENDING)
        return [entry_json(doc) async for doc in cursor]

    async def pseudonymise(
        self, lead_ids: Sequence[str], conversation_ids: Sequence[str], subject_hash: str
    ) -> int:
        """Replace the ids in the entries about an erased lead by the erasure's hash: who read
        the lead's data, and when, stays on record; which lead it was does not."""
        result = await self._entries.update_many(
            _naming(lead_ids, conversation_ids),
            {"$unset": {"lead_id": "", "conversation_id": ""}, "$set": {"subject_hash": subject_hash}},
        )
        return int(result.modified_count)


def _naming(lead_ids: Sequence[str], conversation_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "$or": [
            {"lead_id": {"$in": list(lead_ids)}},
            {"conversation_id": {"$in": list(conversation_ids)}},
        ]
    }


async def record_read(
    request: web.Request,
    action: str,
    *,
    lead_id: str | None = None,
    conversation_id: str | None = None,
    count: int | None = None,
) -> None:
    """Record that whoever made this API request read lead data (before it is answered: a read
    that cannot be recorded is not served)."""
    user = current_user(request)
    who = actor(user) if user is not None else "unknown"
    await request.config_dict[keys.ACCESS_LOG].record(
        action, actor=who, lead_id=lead_id, conversation_id=conversation_id, count=count
    )
