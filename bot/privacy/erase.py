"""Erasing a lead everywhere, and removing old conversations (retention uses the same steps).

A lead's *subject* is the lead, the leads merged into it (`Lead.merged_ids`: records written
before the merge still carry their ids) and every conversation it has or had. Erasing it:

1. holds the turn lock of each of its conversations, so no bot turn writes half a lead back,
   and removes the conversations, their messages, the attachments' bytes, early delivery
   reports of its messages, and the lead records;
2. runs every registered eraser (bot/privacy/registry.py): touchpoints, webhook deliveries,
   jobs (`cancel_subject`) and whatever other modules keep;
3. sweeps every other collection for documents that name one of its ids (`lead_id`,
   `conversation_id`, `subject`, or those inside a job's `payload`): a module that keeps lead
   data by those conventions is covered even if it registered nothing;
4. deletes the Redis keys whose names hold one of the ids (bot/privacy/redis_keys.py);
5. tells every process (the bus) that the conversations are gone: widget sockets get a
   `not_found` error and close, inbox views close them, queues drop them;
6. pseudonymises the audit entries about it (their ids replaced by a salted hash) and records
   `lead.erased` with that hash and how many records of each kind were removed — never the
   lead's id, contacts or words.

The salted hash `sha256("<salt>:<lead id>")` lets someone who knows the id (the person asking
for the erasure, their ticket) confirm it was erased; the entry alone cannot be traced back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from bot.bus import Bus, ConversationRemoved
from bot.models import Lead
from bot.privacy.access import PRIVACY, AccessLog
from bot.privacy.redis_keys import RedisUnavailable, delete_keys_naming
from bot.privacy.registry import Erasers
from bot.redis_link import RedisLink
from bot.store import Store
from bot.turn_lock import TurnLocks

log = logging.getLogger(__name__)

ATTACHMENTS: Final = "attachments"
# Not swept: the audit log is kept, its ids replaced by a hash (step 6); the others are emptied
# of the subject in step 1 by indexed queries (a sweep would scan them whole).
NOT_SWEPT: Final = frozenset({"audit", "conversations", "messages", "leads", ATTACHMENTS, "early_deliveries"})
# Fields by which any document names a lead or a conversation (step 3).
LEAD_FIELDS: Final = ("lead_id", "subject", "payload.lead_id")
CONVERSATION_FIELDS: Final = ("conversation_id", "payload.conversation_id")
BATCH: Final = 500  # ids per `$in`

# Told which conversations are gone and which agents owned some: the queue and agents' loads.
LetGo = Callable[[list[str], set[str]], Awaitable[None]]


@dataclass(frozen=True)
class Subject:
    lead_ids: list[str]  # the lead first, then those merged into it
    conversation_ids: list[str]

    @property
    def ids(self) -> list[str]:
        return [*self.lead_ids, *self.conversation_ids]


@dataclass
class Removed:
    """How many records of each kind went (for the audit entry and the API's answer)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, count: int) -> None:
        if count:
            self.counts[name] += count

    def merge(self, other: Removed) -> None:
        self.counts.update(other.counts)

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def subject_hash(lead_id: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{lead_id}".encode()).hexdigest()


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + BATCH]) for i in range(0, len(ids), BATCH)]


def naming(fields: Sequence[str], ids: Sequence[str]) -> dict[str, Any]:
    """A query for documents whose `fields` hold one of `ids`."""
    return {"$or": [{name: {"$in": list(ids)}} for name in fields]}


class Erasure:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        erasers: Erasers,
        turn_locks: TurnLocks,
        redis: RedisLink,
        access: AccessLog,
        let_go: LetGo | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.erasers = erasers
        self.turn_locks = turn_locks
        self.redis = redis
        self.access = access
        self.let_go = let_go

    # -- a lead -----------------------------------------------------------------------

    async def subject(self, lead: Lead) -> Subject:
        lead_ids = list(dict.fromkeys([lead.id, *lead.merged_ids]))
        conversation_ids = dict.fromkeys(lead.conversation_ids)
        cursor = self.store.conversations.find({"lead_id": {"$in": lead_ids}}, projection={"_id": 1})
        async for doc in cursor:
            conversation_ids[doc["_id"]] = None
        return Subject(lead_ids, list(conversation_ids))

    async def erase_lead(self, lead_id: str, *, actor: str) -> dict[str, int]:
        """Remove the lead everywhere (NotFound when there is no such lead; RedisUnavailable,
        before anything is removed, when Redis is configured but cannot be reached)."""
        lead = await self.store.get_lead(lead_id)
        if self.redis.configured and not await self.redis.ping():
            raise RedisUnavailable("Redis cannot be reached; nothing was erased")
        subject = await self.subject(lead)
        removed = await self.erase_subject(subject)
        # A bot turn or a merge that read the lead before step 1 may have written it back.
        for _ in range(2):
            doc = await self.store.leads.find_one({"_id": {"$in": subject.lead_ids}})
            if doc is None:
                break
            log.warning("lead %s was written again while it was erased; erasing it again", lead_id)
            removed.merge(
                await self.erase_subject(await self.subject(Lead.model_validate({**doc, "id": doc["_id"]})))
            )
        salt = secrets.token_hex(16)
        digest = subject_hash(lead.id, salt)
        await self.access.pseudonymise(subject.lead_ids, subject.conversation_ids, digest)
        await self.access.record(
            "lead.erased",
            actor=actor,
            kind=PRIVACY,
            extra={"removed": removed.as_dict(), "subject_hash": digest, "subject_salt": salt},
        )
        return removed.as_dict()

    async def erase_subject(self, subject: Subject) -> Removed:
        """Steps 1 to 5 of the module docstring (no audit entry: the caller writes its own)."""
        removed = Removed()
        async with self._locked(subject.conversation_ids):
            agents = await self._remove_conversations(subject.conversation_ids, removed)
            for chunk in _chunks(subject.lead_ids):
                result = await self.store.leads.delete_many({"_id": {"$in": chunk}})
                removed.add("leads", result.deleted_count)
        lead_id, merged = subject.lead_ids[0], subject.lead_ids[1:]
        for _, eraser in self.erasers.items():
            await eraser(lead_id, list(subject.conversation_ids))
            for merged_id in merged:
                await eraser(merged_id, [])
        await self._sweep(subject.lead_ids, subject.conversation_ids, removed)
        await self._late_arrivals(subject.conversation_ids, removed)
        await self._forget(subject.conversation_ids, agents, subject.ids, removed)
        return removed

    # -- conversations (erasure and retention) ----------------------------------------

    async def remove_idle_conversations(
        self, conversation_ids: Sequence[str], *, idle_before: datetime
    ) -> tuple[list[str], Removed]:
        """Remove those of these conversations still idle since before `idle_before` once their
        turn locks are held, and all they hold, but not their leads (retention): a visitor who
        came back between the choice and the locks keeps their conversation. Returns the ids
        removed and the counts."""
        removed = Removed()
        async with self._locked(conversation_ids):
            query = {"_id": {"$in": list(conversation_ids)}, "updated_at": {"$lt": idle_before}}
            idle = [doc["_id"] async for doc in self.store.conversations.find(query, projection={"_id": 1})]
            agents = await self._remove_conversations(idle, removed)
        await self._sweep([], idle, removed)
        await self._late_arrivals(idle, removed)
        await self._forget(idle, agents, idle, removed)
        return idle, removed

    def _locked(self, conversation_ids: Sequence[str]) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold every conversation's turn lock (in one order, so two erasures cannot deadlock)."""
        return self.turn_locks.hold_all(conversation_ids)

    async def _remove_conversations(self, conversation_ids: Sequence[str], removed: Removed) -> set[str]:
        """The store's part; returns the agents who owned one of them (their loads change)."""
        store, files = self.store, self.store.collection(ATTACHMENTS)
        agents: set[str] = set()
        for chunk in _chunks(list(conversation_ids)):
            async for doc in store.conversations.find({"_id": {"$in": chunk}}, projection={"agent_id": 1}):
                if doc.get("agent_id"):
                    agents.add(doc["agent_id"])
            provider_ids: list[str] = []
            attachment_ids: list[str] = []
            projection = {"provider_id": 1, "attachments.id": 1}
            async for doc in store.messages.find({"conversation_id": {"$in": chunk}}, projection=projection):
                if doc.get("provider_id"):
                    provider_ids.append(doc["provider_id"])
                attachment_ids += [a["id"] for a in doc.get("attachments") or [] if "id" in a]
            result = await store.messages.delete_many({"conversation_id": {"$in": chunk}})
            removed.add("messages", result.deleted_count)
            result = await files.delete_many(
                {"$or": [{"conversation_id": {"$in": chunk}}, {"_id": {"$in": attachment_ids}}]}
            )
            removed.add("attachments", result.deleted_count)
            for ids in _chunks(provider_ids):
                result = await store.early_deliveries.delete_many({"_id": {"$in": ids}})
                removed.add("early_deliveries", result.deleted_count)
            result = await store.conversations.delete_many({"_id": {"$in": chunk}})
            removed.add("conversations", result.deleted_count)
        return agents

    async def _sweep(
        self, lead_ids: Sequence[str], conversation_ids: Sequence[str], removed: Removed
    ) -> None:
        """Step 3: whatever is left in any collection that names one of the ids."""
        for name in await self.store.collection_names():
            if name in NOT_SWEPT:
                continue
            collection = self.store.collection(name)
            for fields, ids in ((LEAD_FIELDS, lead_ids), (CONVERSATION_FIELDS, conversation_ids)):
                for chunk in _chunks(list(ids)):
                    result = await collection.delete_many(naming(fields, chunk))
                    removed.add(name, result.deleted_count)

    async def _late_arrivals(self, conversation_ids: Sequence[str], removed: Removed) -> None:
        """A visitor's message or file that was on its way during step 1 (its conversation still
        existed when it set out) lands after it: removed too."""
        files = self.store.collection(ATTACHMENTS)
        for chunk in _chunks(list(conversation_ids)):
            result = await self.store.messages.delete_many({"conversation_id": {"$in": chunk}})
            removed.add("messages", result.deleted_count)
            result = await files.delete_many({"conversation_id": {"$in": chunk}})
            removed.add("attachments", result.deleted_count)

    async def _forget(
        self, conversation_ids: Sequence[str], agents: set[str], ids: Sequence[str], removed: Removed
    ) -> None:
        """Steps 4 and 5: Redis keys, then everyone who shows the conversations."""
        try:
            removed.add("redis_keys", await delete_keys_naming(self.redis, ids))
        except RedisUnavailable:
            # Checked before the erasure began; lost since. Its keys expire, but for the fences.
            log.error("redis went away during an erasure: keys naming its conversations may be left")
            removed.add("redis_unreachable", 1)
        for conv_id in conversation_ids:
            self.bus.publish(ConversationRemoved(conv_id))
        if self.let_go is not None:
            await self.let_go(list(conversation_ids), agents)
