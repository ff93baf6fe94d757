"""Touchpoints: where a lead came from, one record per visit or contact-channel conversation start.

Collection `touchpoints` (read by analytics and privacy too; the shape is a contract):
`{_id, lead_id, conversation_id, at, channel, source, medium, campaign, term, content,
referrer, landing_page}`. `source` is utm_source, else the referrer's host (another site's),
else "direct"; on SMS, WhatsApp and email it is the channel's name.

`_id` is derived from the conversation and the visit (or "start"), so a visit sent again after a
reconnect, or a provider's retried first message, is stored once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from bot.attribution.visits import Visit
from bot.models import Conversation, Lead
from bot.store import NotFound, Store

log = logging.getLogger(__name__)

COLLECTION: Final = "touchpoints"
# A bound on what one conversation's client can make us store; later visits are not kept.
MAX_PER_CONVERSATION: Final = 100
_BATCH: Final = 500  # bounded $in lists


class Touchpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    lead_id: str
    conversation_id: str
    at: datetime
    channel: str
    source: str
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None
    referrer: str | None = None
    landing_page: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**self.model_dump(exclude={"at"}), "at": self.at.isoformat()}


def _touchpoint_id(conversation_id: str, name: str) -> str:
    return hashlib.sha256(f"{conversation_id}\x00{name}".encode()).hexdigest()[:24]


def _touchpoint(doc: dict[str, Any]) -> Touchpoint:
    return Touchpoint.model_validate({**doc, "id": doc["_id"]})


def _query(lead_ids: Iterable[str], conversation_ids: Iterable[str]) -> dict[str, Any]:
    # By conversation too: a visit stored while its lead was being merged keeps the old lead id.
    return {
        "$or": [
            {"lead_id": {"$in": list(lead_ids)}},
            {"conversation_id": {"$in": list(conversation_ids)}},
        ]
    }


async def touchpoints_of_leads(store: Store, leads: list[Lead]) -> dict[str, list[Touchpoint]]:
    """Every lead's touchpoints, oldest first (equal times in id order), by lead id."""
    docs = store.collection(COLLECTION)
    found: dict[str, list[Touchpoint]] = {lead.id: [] for lead in leads}
    seen: set[str] = set()
    for start in range(0, len(leads), _BATCH):
        batch = leads[start : start + _BATCH]
        lead_of_conversation = {cid: lead.id for lead in batch for cid in lead.conversation_ids}
        async for doc in docs.find(_query((lead.id for lead in batch), lead_of_conversation)):
            touchpoint = _touchpoint(doc)
            if touchpoint.id in seen:
                continue
            seen.add(touchpoint.id)
            lead_id = touchpoint.lead_id
            if lead_id not in found:
                lead_id = lead_of_conversation[touchpoint.conversation_id]
            found[lead_id].append(touchpoint)
    for touchpoints in found.values():
        touchpoints.sort(key=lambda t: (t.at, t.id))
    return found


class Touchpoints:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._docs = store.collection(COLLECTION)
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._docs.create_index([("lead_id", ASCENDING), ("at", ASCENDING)], name="by_lead")
        await self._docs.create_index([("conversation_id", ASCENDING)], name="by_conversation")
        await self._docs.create_index([("at", ASCENDING)], name="by_time")

    async def _insert(self, touchpoint: Touchpoint) -> bool:
        doc = touchpoint.model_dump(exclude={"id"})
        try:
            await self._docs.insert_one({"_id": touchpoint.id, **doc})
        except DuplicateKeyError:
            return False  # sent twice at once: the first copy stands
        return True

    async def record_visit(self, conversation_id: str, visit: Visit) -> bool:
        """Keep a widget visit for the conversation's lead, once per visit id; True when new."""
        touchpoint_id = _touchpoint_id(conversation_id, f"visit:{visit.id}")
        if await self._docs.find_one({"_id": touchpoint_id}, projection={"_id": 1}) is not None:
            return False
        if await self._docs.count_documents({"conversation_id": conversation_id}) >= MAX_PER_CONVERSATION:
            log.warning(
                "conversation %s has %d touchpoints; visit not kept", conversation_id, MAX_PER_CONVERSATION
            )
            return False
        # Read now, not when the socket opened: giving an email may have merged the lead since.
        try:
            conv = await self._store.get_conversation(conversation_id)
        except NotFound:  # erased meanwhile (privacy): nothing to keep it for
            return False
        return await self._insert(
            Touchpoint(
                id=touchpoint_id,
                lead_id=conv.lead_id,
                conversation_id=conv.id,
                at=self._clock() - visit.age,
                channel="web",
                source=visit.source,
                medium=visit.utm["medium"],
                campaign=visit.utm["campaign"],
                term=visit.utm["term"],
                content=visit.utm["content"],
                referrer=visit.referrer,
                landing_page=visit.landing_page,
            )
        )

    async def record_contact_start(self, conv: Conversation) -> None:
        """An SMS, WhatsApp or email conversation began: the channel is where the lead came from
        (once per conversation, however often a provider retries its first message)."""
        await self._insert(
            Touchpoint(
                id=_touchpoint_id(conv.id, "start"),
                lead_id=conv.lead_id,
                conversation_id=conv.id,
                at=self._clock(),
                channel=conv.channel,
                source=conv.channel,
            )
        )

    async def of_lead(self, lead: Lead) -> list[Touchpoint]:
        return (await touchpoints_of_leads(self._store, [lead]))[lead.id]

    async def erase(self, lead_id: str, conversation_ids: list[str]) -> None:
        """Privacy: remove the lead's touchpoints (registered as the `touchpoints` eraser)."""
        await self._docs.delete_many(_query([lead_id], conversation_ids))

    async def export(self, lead_id: str, conversation_ids: list[str]) -> list[dict[str, Any]]:
        """Privacy: the lead's touchpoints as JSON (registered as the `touchpoints` exporter)."""
        cursor = self._docs.find(_query([lead_id], conversation_ids)).sort("at", ASCENDING)
        return [_touchpoint(doc).as_json() async for doc in cursor]
