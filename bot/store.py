"""The store: conversations, messages and leads in MongoDB.

This is the only module that imports motor. The same `Store` runs on a real MongoDB
(production, `MONGODB_URI`) and on the embedded mongomock-motor database, so every
query here stays within what both support.

Collections
- conversations: one document per conversation; `last_seq` allocates message numbers.
- messages: `(conversation_id, seq)` unique; `dedupe_key` unique where present, so a
  client or provider message id is stored once even when sent twice concurrently.
- leads: one per person; `slots.email` and `slots.phone` unique where present, which is
  what links a second conversation with the same email or phone to the same lead.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any, Final

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from bot.models import (
    DELIVERY_RANK,
    Attachment,
    Conversation,
    Conversion,
    Delivery,
    FlowRef,
    HandoffReason,
    Inbound,
    Lead,
    LeadStatus,
    Message,
    Mode,
    Outbound,
    ScoreChange,
    StatusChange,
    utcnow,
)

# The store cannot be reached right now (down, partitioned, not answering in time): callers
# answer 503 or an `error` frame and keep nothing half-done; the client tries again.
StoreUnavailable = ConnectionFailure

CONTACT_SLOTS: Final = ("email", "phone")
# Lead fields that bot turns never change, each written by its own single update: the outcome
# (`record_outcome`), the consent (bot/privacy/consent.py) and score decay (`change_score`).
# `save_lead` leaves them as stored, so a turn (or a STOP) saving a copy of the lead it read
# before such a write cannot put the old value back. New leads and merges do write them.
OWN_WRITERS_FIELDS: Final = ("conversion", "consent", "score_history")


class NotFound(LookupError):
    """The conversation or lead does not exist."""


def new_id() -> str:
    return secrets.token_hex(12)


def new_visitor_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    # Visitor tokens are bearer secrets: only their hash is stored.
    return hashlib.sha256(token.encode()).hexdigest()


def _doc(model: Conversation | Lead | Message) -> dict[str, Any]:
    data = model.model_dump(mode="python")
    data["_id"] = data.pop("id")
    return data


def _conversation(doc: Mapping[str, Any]) -> Conversation:
    return Conversation.model_validate({**doc, "id": doc["_id"]})


def _lead(doc: Mapping[str, Any]) -> Lead:
    return Lead.model_validate({**doc, "id": doc["_id"]})


def _dedupe_key(msg: Inbound) -> str | None:
    """A provider's id is unique everywhere; a widget's client id within its conversation."""
    if msg.provider_id:
        return f"{msg.channel}:{msg.provider_id}"
    if msg.client_id:
        return f"{msg.channel}:{msg.conversation_id}:{msg.client_id}"
    return None


def _message(doc: Mapping[str, Any]) -> Message:
    return Message.model_validate({**doc, "id": doc["_id"]})


def _lead_doc(lead: Lead) -> dict[str, Any]:
    doc = _doc(lead)
    # Missing, not null: the unique contact indexes are sparse and must skip unknown contacts.
    doc["slots"] = {k: v for k, v in doc["slots"].items() if v is not None}
    return doc


_WRITES: Final = frozenset(
    {
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "replace_one",
        "delete_one",
        "delete_many",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "bulk_write",
    }
)


class _CountingCollection:
    """A collection handle that counts the writes made through it (see `Store.writes`)."""

    def __init__(self, collection: Any, store: Store) -> None:
        self._collection = collection
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if name not in _WRITES:
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await attr(*args, **kwargs)
            finally:
                self._store.writes += 1

        return counted


class Store:
    """Conversations, messages and leads over a motor-compatible database handle."""

    def __init__(self, db: Any, *, client: Any = None) -> None:
        self._db = db
        self._client = client
        # Counts writes through any of this store's collection handles; the embedded
        # database snapshots to disk when it moves.
        self.writes = 0
        self.conversations = self.collection("conversations")
        self.messages = self.collection("messages")
        self.leads = self.collection("leads")
        self.early_deliveries = self.collection("early_deliveries")

    # -- lifecycle -------------------------------------------------------------------

    async def ensure_indexes(self) -> None:
        await self.conversations.create_index(
            [("visitor_token_hash", ASCENDING)], name="by_token", sparse=True
        )
        await self.conversations.create_index([("updated_at", DESCENDING)], name="by_updated")
        # Analytics selects its cohort by creation time.
        await self.conversations.create_index([("created_at", ASCENDING)], name="by_created")
        await self.conversations.create_index(
            [("mode", ASCENDING), ("updated_at", DESCENDING)], name="by_mode"
        )
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("seq", ASCENDING)], name="conversation_seq", unique=True
        )
        await self.messages.create_index([("dedupe_key", ASCENDING)], name="dedupe", unique=True, sparse=True)
        await self.messages.create_index([("provider_id", ASCENDING)], name="provider_id", sparse=True)
        await self.conversations.create_index(
            [("contact_key", ASCENDING)], name="contact", unique=True, sparse=True
        )
        for slot in CONTACT_SLOTS:
            await self.leads.create_index(
                [(f"slots.{slot}", ASCENDING)], name=f"contact_{slot}", unique=True, sparse=True
            )
        await self.leads.create_index([("status", ASCENDING), ("score", DESCENDING)], name="by_status_score")

    def collection(self, name: str) -> Any:
        """A collection of this database. Modules with records of their own (users, sessions …)
        get their handles here, so this stays the only motor import and writes are counted."""
        return _CountingCollection(self._db[name], self)

    async def ping(self) -> None:
        await self._db.command("ping")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def collection_names(self) -> list[str]:
        """Every collection of the database (erasure and its tests look through all of them)."""
        return sorted(await self._db.list_collection_names())

    async def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every document of every collection (the embedded snapshot uses this)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name in sorted(await self._db.list_collection_names()):
            out[name] = [doc async for doc in self._db[name].find({})]
        return out

    async def restore(self, data: Mapping[str, list[dict[str, Any]]]) -> None:
        for name, docs in data.items():
            if docs:
                await self._db[name].insert_many(list(docs))

    # -- conversations ---------------------------------------------------------------

    async def create_conversation(
        self,
        channel: str,
        flow: FlowRef,
        visitor_token: str | None = None,
        *,
        contact: str | None = None,
        lead_slots: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """A new conversation in bot mode, with a new lead (seeded with `lead_slots`).

        `contact` (a phone or email on a contact channel) is unique per channel: creating a
        second conversation for it raises DuplicateKeyError, and nothing is written.
        """
        conv = Conversation(
            id=new_id(),
            channel=channel,
            flow=flow,
            lead_id=new_id(),
            contact=contact,
            state=dict(state or {}),
        )
        doc = _doc(conv)
        if visitor_token is not None:
            doc["visitor_token_hash"] = token_hash(visitor_token)
        if contact is not None:
            doc["contact_key"] = f"{channel}:{contact}"
        await self.conversations.insert_one(doc)
        lead = Lead(
            id=conv.lead_id,
            slots=dict(lead_slots or {}),
            conversation_ids=[conv.id],
            status_history=[StatusChange(status="new", reason=f"conversation started on {channel}")],
        )
        saved = await self.save_lead(lead)  # the contact may already belong to a lead: join it
        return conv if saved.id == conv.lead_id else await self.get_conversation(conv.id)

    async def conversation_for_contact(
        self,
        channel: str,
        contact: str,
        flow: FlowRef,
        lead_slots: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
    ) -> tuple[Conversation, bool]:
        """The conversation with this phone or email on this channel, opened if there is none.

        Returns (conversation, created). Concurrent first messages from one contact open
        one conversation: the unique contact index decides, the loser reads the winner's.
        """
        key = f"{channel}:{contact}"
        for _ in range(2):
            doc = await self.conversations.find_one({"contact_key": key})
            if doc is not None:
                return _conversation(doc), False
            try:
                created = await self.create_conversation(
                    channel, flow, contact=contact, lead_slots=lead_slots, state=state
                )
                return created, True
            except DuplicateKeyError:
                continue
        raise RuntimeError(f"conversation for {key} could not be read after a concurrent create")

    async def record_variants(
        self, conv: Conversation, lead: Lead, variants: Mapping[str, str]
    ) -> Conversation:
        """The A/B variants a new conversation sees, kept on it and (where new) on its lead."""
        await self.conversations.update_one({"_id": conv.id}, {"$set": {"variants": dict(variants)}})
        new = {f"variants.{k}": v for k, v in variants.items() if k not in lead.variants}
        if new:
            await self.leads.update_one({"_id": lead.id}, {"$set": new})
        return conv.model_copy(update={"variants": dict(variants)})

    async def conversations_in_experiment(self, flow_id: str, experiment_id: str) -> list[Conversation]:
        """Every conversation of the flow that was assigned a variant of the experiment."""
        query = {"flow.id": flow_id, f"variants.{experiment_id}": {"$exists": True}}
        return [_conversation(doc) async for doc in self.conversations.find(query)]

    async def leads_by_id(self, lead_ids: list[str]) -> dict[str, Lead]:
        found: dict[str, Lead] = {}
        for start in range(0, len(lead_ids), 500):  # bounded $in lists
            cursor = self.leads.find({"_id": {"$in": lead_ids[start : start + 500]}})
            found.update({doc["_id"]: _lead(doc) async for doc in cursor})
        return found

    async def get_conversation(self, conv_id: str) -> Conversation:
        doc = await self.conversations.find_one({"_id": conv_id})
        if doc is None:
            raise NotFound(f"conversation {conv_id} not found")
        return _conversation(doc)

    async def conversation_by_token(self, visitor_token: str) -> Conversation | None:
        doc = await self.conversations.find_one({"visitor_token_hash": token_hash(visitor_token)})
        return None if doc is None else _conversation(doc)

    async def list_conversations(
        self, *, mode: Mode | None = None, channel: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Conversation]:
        query: dict[str, Any] = {}
        if mode is not None:
            query["mode"] = mode
        if channel is not None:
            query["channel"] = channel
        cursor = self.conversations.find(query).sort("updated_at", DESCENDING).skip(offset).limit(limit)
        return [_conversation(doc) async for doc in cursor]

    async def transition(
        self, conv_id: str, *, expect: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> Conversation | None:
        """Apply `changes` only if the conversation matches `expect` right now (one findAndModify).

        None when it does not (someone else changed it first); NotFound when it does not exist.
        Every change of owner goes through here, so two agents cannot both claim.
        """
        doc = await self.conversations.find_one_and_update(
            {**expect, "_id": conv_id},
            {"$set": {**changes, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            await self.get_conversation(conv_id)
            return None
        return _conversation(doc)

    async def open_count(self, agent_id: str) -> int:
        """Conversations an agent owns right now."""
        return int(await self.conversations.count_documents({"mode": "human", "agent_id": agent_id}))

    async def waiting(self) -> list[Conversation]:
        """Conversations waiting for a person, oldest in the queue first."""
        cursor = self.conversations.find({"mode": "pending_human"}).sort("queued_at", ASCENDING)
        return [_conversation(doc) async for doc in cursor]

    async def set_mode(
        self, conv_id: str, mode: Mode, *, handoff_reason: HandoffReason | None = None
    ) -> Conversation:
        doc = await self.conversations.find_one_and_update(
            {"_id": conv_id},
            {"$set": {"mode": mode, "handoff_reason": handoff_reason, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFound(f"conversation {conv_id} not found")
        return _conversation(doc)

    # -- messages --------------------------------------------------------------------

    async def _allocate_seqs(
        self,
        conv_id: str,
        count: int,
        *,
        guard: Mapping[str, Any] | None = None,
        also_set: Mapping[str, Any] | None = None,
    ) -> tuple[int, Conversation] | None:
        """Reserve `count` message numbers: (the first, the conversation after). Never reused.

        With a `guard` (extra conditions on the conversation, e.g. its mode and owner) nothing is
        reserved (None) unless it holds at this instant: this is what stops a bot reply once
        an agent owns the conversation, and an agent's reply once they no longer do.
        """
        doc = await self.conversations.find_one_and_update(
            {**(guard or {}), "_id": conv_id},
            {"$inc": {"last_seq": count}, "$set": {"updated_at": utcnow(), **(also_set or {})}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            await self.get_conversation(conv_id)  # raises NotFound when it does not exist
            return None
        conv = _conversation(doc)
        return conv.last_seq - count + 1, conv

    async def record_inbound(self, msg: Inbound) -> tuple[Conversation, Message, bool]:
        """Store a visitor's message once. Returns (conversation, message, is_new).

        A message whose client id was seen before is not stored again: the stored one is
        returned with is_new False, so the caller acknowledges it without processing it.
        """
        key = _dedupe_key(msg)
        if key is not None:
            seen = await self.messages.find_one({"dedupe_key": key})
            if seen is not None:
                return await self.get_conversation(msg.conversation_id), _message(seen), False
        allocated = await self._allocate_seqs(
            msg.conversation_id, 1, also_set={"last_inbound_at": msg.received_at or utcnow()}
        )
        assert allocated is not None  # unguarded: only NotFound can stop it
        seq, conv = allocated
        stored = Message(
            id=new_id(),
            conversation_id=msg.conversation_id,
            seq=seq,
            sender="visitor",
            text=msg.text,
            client_id=msg.client_id,
            provider_id=msg.provider_id,
            meta=msg.meta,
            attachments=msg.attachments,
        )
        doc = _doc(stored)
        if key is not None:
            doc["dedupe_key"] = key
        try:
            await self.messages.insert_one(doc)
        except DuplicateKeyError:
            # A concurrent copy won the race; its seq stands and ours stays unused (a gap).
            seen = await self.messages.find_one({"dedupe_key": key})
            if seen is None:  # pragma: no cover - the index said it exists
                raise
            return await self.get_conversation(msg.conversation_id), _message(seen), False
        return conv, stored, True

    async def append(
        self, conv_id: str, outs: list[Outbound], *, guard: Mapping[str, Any] | None = None
    ) -> list[Message] | None:
        """Store outgoing messages with fresh, consecutive seq numbers.

        None when the `guard` does not hold.
        """
        if not outs:
            return []
        allocated = await self._allocate_seqs(conv_id, len(outs), guard=guard)
        if allocated is None:
            return None
        first = allocated[0]
        stored = [
            Message(
                id=new_id(),
                conversation_id=conv_id,
                seq=first + i,
                sender=out.sender,
                text=out.text,
                expects=out.expects,
                author=out.author,
                agent_id=out.agent_id,
                private=out.private,
                meta=out.meta,
                attachments=out.attachments,
            )
            for i, out in enumerate(outs)
        ]
        await self.messages.insert_many([_doc(m) for m in stored])
        return stored

    async def sent_as(
        self, message_id: str, provider_id: str | None, delivery: Delivery, error: str | None = None
    ) -> None:
        """Record what became of an outbound message when the channel took it (or refused it).

        The provider may report on the message before we get here (a fast status callback):
        such a report was parked by `update_delivery` and is applied now, never moving back.
        """
        await self.messages.update_one(
            {"_id": message_id, "delivery": None},
            {"$set": {"provider_id": provider_id, "delivery": delivery, "delivery_error": error}},
        )
        if provider_id is None:
            return
        parked = await self.early_deliveries.find_one_and_delete({"_id": provider_id})
        if parked is not None:
            await self.update_delivery(provider_id, parked["status"], parked.get("error"))

    async def add_llm_usage(
        self, conv_id: str, summary: Mapping[str, Any], events: list[str], *, turns: int = 1
    ) -> None:
        """Add one turn's LLM accounting (or, `turns=0`, other model work such as the handoff
        summary) to the conversation's running totals (`llm`)."""
        inc: dict[str, float] = {
            "llm.turns": turns,
            "llm.attempts": summary["attempts"],
            "llm.seconds": summary["seconds"],
            "llm.input_tokens": summary["input_tokens"],
            "llm.output_tokens": summary["output_tokens"],
            "llm.cost_usd": summary["cost_usd"],
        }
        for kind in summary["failures"]:
            inc[f"llm.failures.{kind}"] = inc.get(f"llm.failures.{kind}", 0) + 1
        for event in events:
            inc[f"llm.outcomes.{event}"] = inc.get(f"llm.outcomes.{event}", 0) + 1
        await self.conversations.update_one({"_id": conv_id}, {"$inc": inc})

    async def add_attachments(
        self, message_id: str, attachments: list[Attachment], notes: Mapping[str, Any] | None = None
    ) -> Message:
        """List files kept for a message (bot.attachments holds their bytes); `notes` go into
        its meta (e.g. what was not kept, and why)."""
        update: dict[str, Any] = {"$push": {"attachments": {"$each": [a.model_dump() for a in attachments]}}}
        if notes:
            update["$set"] = {f"meta.{name}": value for name, value in notes.items()}
        doc = await self.messages.find_one_and_update(
            {"_id": message_id}, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            raise NotFound(f"message {message_id} not found")
        return _message(doc)

    async def update_delivery(
        self, provider_id: str, status: Delivery, error: str | None = None
    ) -> Message | None:
        """Move an outbound message's delivery status forward; never back.

        Returns the updated message, or None when the status is not news (a duplicate or
        out-of-order report). A report for an id not recorded yet is parked for `sent_as`.
        """
        rank = DELIVERY_RANK[status]
        earlier = [name for name, r in DELIVERY_RANK.items() if r < rank]
        doc = await self.messages.find_one_and_update(
            {"provider_id": provider_id, "$or": [{"delivery": {"$in": earlier}}, {"delivery": None}]},
            {"$set": {"delivery": status, "delivery_error": error}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return _message(doc)
        if await self.messages.find_one({"provider_id": provider_id}, projection={"_id": 1}) is None:
            await self._park_delivery(provider_id, status, error)
        return None

    async def _park_delivery(self, provider_id: str, status: Delivery, error: str | None) -> None:
        """Keep the furthest status reported for a message we have not recorded yet."""
        rank = DELIVERY_RANK[status]
        with contextlib.suppress(DuplicateKeyError):  # a further status is parked already
            await self.early_deliveries.update_one(
                {"_id": provider_id, "rank": {"$lt": rank}},
                {"$set": {"status": status, "error": error, "rank": rank, "at": utcnow()}},
                upsert=True,
            )
        if await self.messages.find_one({"provider_id": provider_id}, projection={"_id": 1}) is not None:
            # `sent_as` recorded the id meanwhile and may have missed this report: apply it.
            again = await self.early_deliveries.find_one_and_delete({"_id": provider_id})
            if again is not None:
                await self.update_delivery(provider_id, again["status"], again.get("error"))

    async def get_message(self, message_id: str) -> Message:
        doc = await self.messages.find_one({"_id": message_id})
        if doc is None:
            raise NotFound(f"message {message_id} not found")
        return _message(doc)

    async def messages_after(self, conv_id: str, seq: int, *, limit: int = 1000) -> list[Message]:
        cursor = (
            self.messages.find({"conversation_id": conv_id, "seq": {"$gt": seq}})
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [_message(doc) async for doc in cursor]

    async def last_visitor_seq(self, conv_id: str) -> int:
        cursor = (
            self.messages.find({"conversation_id": conv_id, "sender": "visitor"}, projection={"seq": 1})
            .sort("seq", DESCENDING)
            .limit(1)
        )
        async for doc in cursor:
            return int(doc["seq"])
        return 0

    # -- turns -----------------------------------------------------------------------

    async def claim_fence(self, conv_id: str, fence: int) -> bool:
        """Record that the turn-lock holder with fencing token `fence` now answers the
        conversation; False when a holder with a later token already did (bot/turn_lock.py)."""
        result = await self.conversations.update_one(
            {"_id": conv_id, "$or": [{"turn_fence": {"$exists": False}}, {"turn_fence": {"$lt": fence}}]},
            {"$set": {"turn_fence": fence}},
        )
        return bool(result.matched_count)

    async def save_turn(
        self,
        conv_id: str,
        *,
        state: dict[str, Any],
        lead: Lead,
        outs: list[Outbound],
        answered_seq: int,
        mode: Mode | None = None,
        handoff_reason: HandoffReason | None = None,
        opted_out: bool | None = None,
        guard: Mapping[str, Any] | None = None,
        contacts_changed: bool = True,
    ) -> tuple[Conversation, Lead, list[Message]] | None:
        """Persist one bot turn: its replies, the lead, and the bot's state.

        With a `guard` the turn is dropped (None, nothing written) unless the conversation
        still matches it when its replies are numbered.
        Replies are stored before the state that says they were sent: a crash in between
        makes the turn run again (at-least-once) rather than leave the visitor unanswered.
        """
        if outs:
            messages = await self.append(conv_id, outs, guard=guard)
            if messages is None:
                return None
        else:
            messages = []
            if guard is not None and await self.conversations.find_one({**guard, "_id": conv_id}) is None:
                await self.get_conversation(conv_id)  # NotFound when it does not exist
                return None
        saved_lead = await self.save_lead(lead, contacts_changed=contacts_changed)
        fields: dict[str, Any] = {
            "state": state,
            "answered_seq": answered_seq,
            "lead_id": saved_lead.id,
            "updated_at": utcnow(),
        }
        if opted_out is not None:
            fields["opted_out"] = opted_out
        doc = None
        if mode is not None:
            # The mode changes only if nobody else changed it meanwhile (an agent's claim wins).
            doc = await self.conversations.find_one_and_update(
                {**(guard or {}), "_id": conv_id},
                {"$set": {**fields, "mode": mode, "handoff_reason": handoff_reason}},
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            doc = await self.conversations.find_one_and_update(
                {"_id": conv_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
            )
        if doc is None:
            raise NotFound(f"conversation {conv_id} not found")
        return _conversation(doc), saved_lead, messages

    # -- leads -----------------------------------------------------------------------

    async def get_lead(self, lead_id: str) -> Lead:
        doc = await self.leads.find_one({"_id": lead_id})
        if doc is None:
            raise NotFound(f"lead {lead_id} not found")
        return _lead(doc)

    async def list_leads(
        self,
        *,
        status: LeadStatus | None = None,
        min_score: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Lead]:
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status
        if min_score is not None:
            query["score"] = {"$gte": min_score}
        cursor = (
            self.leads.find(query)
            .sort([("score", DESCENDING), ("updated_at", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_lead(doc) async for doc in cursor]

    async def save_lead(self, lead: Lead, *, contacts_changed: bool = True) -> Lead:
        """Write the lead, merging it into an existing lead that has the same email or phone.

        Returns the lead as stored, which is the older record when a merge happened. The
        OWN_WRITERS_FIELDS (outcome, consent, score history) stay as stored: the lead's copy
        may be older than they are. `contacts_changed=False` skips looking for that other
        lead; should a concurrent writer have taken the contact after all, the unique index
        refuses the write and the retry looks.
        """
        if contacts_changed and lead.contact_given_at is None and (lead.email or lead.phone):
            lead.contact_given_at = utcnow()  # the lead-creation moment of W-shaped attribution
        look = contacts_changed
        for _ in range(3):  # a concurrent writer may claim the contact between our read and write
            twin = await self._lead_sharing_contact(lead) if look else None
            look = True
            if twin is not None:
                lead = await self._merge(into=twin, other=lead)
            lead.updated_at = utcnow()
            try:
                if twin is not None:  # the merge read both leads as they are now: all of it
                    await self.leads.replace_one({"_id": lead.id}, _lead_doc(lead), upsert=True)
                    return lead
                return await self._write_lead(lead)
            except DuplicateKeyError:
                continue
        raise RuntimeError(f"lead {lead.id}: contact kept changing under concurrent writers")

    async def _write_lead(self, lead: Lead) -> Lead:
        """Write the lead but its OWN_WRITERS_FIELDS (kept as stored; a new lead gets them);
        the lead as stored."""
        doc = _lead_doc(lead)
        del doc["_id"]
        kept = {name: doc.pop(name) for name in OWN_WRITERS_FIELDS}
        # Added to, never replaced: a merge may have added an id since this copy was read, and
        # erasing the person reaches records kept under a merged lead's id through this list.
        merged_ids = doc.pop("merged_ids")
        stored = await self.leads.find_one_and_update(
            {"_id": lead.id},
            {"$set": doc, "$setOnInsert": kept, "$addToSet": {"merged_ids": {"$each": merged_ids}}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _lead(stored)

    async def record_outcome(self, lead_id: str, *, conversion: Conversion, change: StatusChange) -> Lead:
        """Set the lead's outcome, its status, and add the status change, in one update
        (`save_lead` leaves `conversion` as stored). The lead as stored; NotFound without it."""
        doc = await self.leads.find_one_and_update(
            {"_id": lead_id},
            {
                "$set": {
                    "conversion": conversion.model_dump(mode="python"),
                    "status": change.status,
                    "updated_at": utcnow(),
                },
                "$push": {"status_history": change.model_dump(mode="python")},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFound(f"lead {lead_id} not found")
        return _lead(doc)

    async def change_score(
        self, lead_id: str, *, expect: int, change: ScoreChange, grade: str, temperature: str
    ) -> bool:
        """Set a lead's score outside a bot turn (score decay), with its grade and temperature,
        and record why in its score history; only while the score is still `expect` (False
        otherwise: read the lead again). A turn saving a copy of the lead read before this keeps
        the history entry (`save_lead` leaves `score_history` as stored) and writes the score
        it worked out from the lead's answers: the lead wrote, so their score comes back."""
        result = await self.leads.update_one(
            {"_id": lead_id, "score": expect},
            {
                "$set": {
                    "score": change.score,
                    "grade": grade,
                    "temperature": temperature,
                    "updated_at": utcnow(),
                },
                "$push": {"score_history": change.model_dump(mode="python")},
            },
        )
        return bool(result.modified_count)

    async def _lead_sharing_contact(self, lead: Lead) -> Lead | None:
        clauses = [{f"slots.{s}": lead.slots[s]} for s in CONTACT_SLOTS if lead.slots.get(s)]
        if not clauses:
            return None
        doc = await self.leads.find_one({"$or": clauses, "_id": {"$ne": lead.id}})
        return None if doc is None else _lead(doc)

    async def _merge(self, *, into: Lead, other: Lead) -> Lead:
        """Fold `other` (this conversation's lead) into `into` (the person's existing lead)."""
        # `other` may be a turn's copy, read before an outcome, a consent or a score change.
        stored = await self.leads.find_one({"_id": other.id}, projection=list(OWN_WRITERS_FIELDS))
        if stored is not None:
            other = _lead({**_doc(other), **{k: v for k, v in stored.items() if k != "_id"}})
        merged = into.model_copy(deep=True)
        merged.slots.update({k: v for k, v in other.slots.items() if v is not None})
        merged.details.update(other.details)
        merged.skipped = [s for s in dict.fromkeys(into.skipped + other.skipped) if s not in merged.slots]
        for name in ("score", "grade", "temperature", "score_reasons"):
            setattr(merged, name, getattr(other, name))
        if other.status != "new":
            merged.status = other.status
        merged.status_history = sorted(into.status_history + other.status_history, key=lambda c: c.at)
        merged.score_history = sorted(into.score_history + other.score_history, key=lambda c: c.at)
        merged.conversation_ids = list(dict.fromkeys(into.conversation_ids + other.conversation_ids))
        merged.variants = {**other.variants, **into.variants}  # the person's first assignment stays
        merged.consent = max(filter(None, (into.consent, other.consent)), key=lambda c: c.at, default=None)
        # Remembered so erasing the person also reaches records kept under the merged lead's id.
        merged.merged_ids = list(dict.fromkeys([*into.merged_ids, other.id, *other.merged_ids]))
        merged.created_at = min(into.created_at, other.created_at)
        given = [t for t in (into.contact_given_at, other.contact_given_at) if t is not None]
        merged.contact_given_at = min(given, default=None)
        outcomes = [c for c in (into.conversion, other.conversion) if c is not None]
        merged.conversion = max(outcomes, key=lambda c: c.at, default=None)  # the latest stands
        await self.leads.delete_one({"_id": other.id})
        await self.conversations.update_many({"lead_id": other.id}, {"$set": {"lead_id": into.id}})
        # Where the person came from stays theirs (bot/attribution): their touchpoints move too.
        touchpoints = self.collection("touchpoints")
        await touchpoints.update_many({"lead_id": other.id}, {"$set": {"lead_id": into.id}})
        return merged


def open_mongo(uri: str, database: str, *, timeout_seconds: float = 10.0) -> Store:
    """A store on a real MongoDB server (or anything that speaks its wire protocol).

    Every operation fails within about `timeout_seconds` when the server cannot be reached or
    stops answering (`StoreUnavailable`), instead of hanging a webhook or a socket forever."""
    from motor.motor_asyncio import AsyncIOMotorClient

    ms = int(timeout_seconds * 1000)
    client: Any = AsyncIOMotorClient(
        uri, tz_aware=True, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    return Store(client[database], client=client)
