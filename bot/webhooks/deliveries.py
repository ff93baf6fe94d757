"""Delivery records: one per event per subscribed endpoint, in `webhook_deliveries`.

`{_id, endpoint_id, event_id, kind, lead_id, seq, body, status, attempts, scheduled, last_error,
created_at, updated_at, delivered_at}`. `body` is the JSON text exactly as sent (a redelivery
sends it again, byte for byte, newly signed). `status` is `pending` (not sent yet, or waiting to
retry), `delivered` (a 2xx answer) or `failed` (its attempts used up). `seq` orders the events of
all processes (a counter in `webhook_sequence`), so a lead's deliveries to an endpoint go out in
the order the events happened. Each attempt: `{at, trigger, status_code, error, duration_ms}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from bot.store import NotFound, Store, new_id

Status = Literal["pending", "delivered", "failed"]
Trigger = Literal["automatic", "manual", "test"]
# Attempts kept per delivery (redeliveries add more): the newest are kept.
KEPT_ATTEMPTS: Final = 50
MAX_PAGE: Final = 200


@dataclass(frozen=True)
class Attempt:
    at: datetime
    trigger: Trigger
    status_code: int | None  # None: no answer (timeout, refused connection …)
    error: str | None  # None: delivered
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_doc(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "trigger": self.trigger,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    event_id: str
    kind: str
    lead_id: str | None
    seq: int
    body: str
    status: Status
    attempts: tuple[Mapping[str, Any], ...]
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    scheduled: bool  # pending with a job; pending without one waits for an earlier delivery

    def as_json(self, *, full: bool = False, next_attempt_at: datetime | None = None) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else None
        # Pending behind an earlier delivery of the same lead to the same endpoint.
        waiting = self.status == "pending" and not self.scheduled and self.lead_id is not None
        out: dict[str, Any] = {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "kind": self.kind,
            "lead_id": self.lead_id,
            "status": self.status,
            "attempt_count": len(self.attempts),
            "last_attempt": _attempt_json(last) if last is not None else None,
            "last_error": self.last_error,
            "next_attempt_at": _iso(next_attempt_at) if self.status == "pending" else None,
            "waiting_for_earlier": waiting,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "delivered_at": _iso(self.delivered_at),
        }
        if full:
            out["attempts"] = [_attempt_json(a) for a in self.attempts]
            out["body"] = self.body
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _attempt_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {**doc, "at": _iso(doc.get("at"))}


def _delivery(doc: Mapping[str, Any]) -> Delivery:
    return Delivery(
        id=doc["_id"],
        endpoint_id=doc["endpoint_id"],
        event_id=doc["event_id"],
        kind=doc["kind"],
        lead_id=doc.get("lead_id"),
        seq=doc.get("seq", 0),
        body=doc["body"],
        status=doc["status"],
        attempts=tuple(doc.get("attempts", ())),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        delivered_at=doc.get("delivered_at"),
        last_error=doc.get("last_error"),
        scheduled=bool(doc.get("scheduled")),
    )


# The failures view: failed deliveries, and pending ones that have failed at least once.
PROBLEMS: Final = {"$or": [{"status": "failed"}, {"status": "pending", "attempts.0": {"$exists": True}}]}


class Deliveries:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._docs = store.collection("webhook_deliveries")
        self._sequence = store.collection("webhook_sequence")
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._docs.create_index(
            [("endpoint_id", ASCENDING), ("lead_id", ASCENDING), ("status", ASCENDING), ("seq", ASCENDING)],
            name="chain",
        )
        await self._docs.create_index([("status", ASCENDING), ("created_at", DESCENDING)], name="by_status")
        await self._docs.create_index([("lead_id", ASCENDING)], name="by_lead")

    async def next_seq(self) -> int:
        doc = await self._sequence.find_one_and_update(
            {"_id": "events"}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return int(doc["n"])

    async def add(
        self, *, endpoint_id: str, event_id: str, kind: str, lead_id: str | None, seq: int, body: str
    ) -> Delivery:
        now = self._clock()
        doc: dict[str, Any] = {
            "_id": new_id(),
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "kind": kind,
            "lead_id": lead_id,
            "seq": seq,
            "body": body,
            "status": "pending",
            "attempts": [],
            "scheduled": False,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": None,
        }
        await self._docs.insert_one(doc)
        return _delivery(doc)

    async def find(self, delivery_id: str) -> Delivery | None:
        doc = await self._docs.find_one({"_id": delivery_id})
        return None if doc is None else _delivery(doc)

    async def get(self, delivery_id: str) -> Delivery:
        found = await self.find(delivery_id)
        if found is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return found

    async def head(self, endpoint_id: str, lead_id: str) -> Delivery | None:
        """The oldest pending delivery of this lead to this endpoint: the only one that may go now."""
        cursor = (
            self._docs.find({"endpoint_id": endpoint_id, "lead_id": lead_id, "status": "pending"})
            .sort([("seq", ASCENDING), ("_id", ASCENDING)])
            .limit(1)
        )
        docs = [doc async for doc in cursor]
        return _delivery(docs[0]) if docs else None

    async def claim_scheduling(self, delivery_id: str) -> bool:
        """True for the one caller that should schedule this delivery's job."""
        result = await self._docs.update_one(
            {"_id": delivery_id, "status": "pending", "scheduled": False}, {"$set": {"scheduled": True}}
        )
        return bool(result.modified_count)

    async def release_scheduling(self, delivery_id: str) -> None:
        await self._docs.update_one({"_id": delivery_id}, {"$set": {"scheduled": False}})

    async def record(self, delivery_id: str, attempt: Attempt, status: Status | None = None) -> Delivery:
        """Add an attempt; with `status`, move the delivery to it (delivered, failed)."""
        changes: dict[str, Any] = {"updated_at": self._clock(), "last_error": attempt.error}
        if status is not None:
            changes["status"] = status
        if status == "delivered":
            changes["delivered_at"] = attempt.at
        doc = await self._docs.find_one_and_update(
            {"_id": delivery_id},
            {"$set": changes, "$push": {"attempts": {"$each": [attempt.as_doc()], "$slice": -KEPT_ATTEMPTS}}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return _delivery(doc)

    async def give_up(self, delivery_id: str, error: str) -> None:
        """Fail a pending delivery without an attempt (its endpoint is gone or paused)."""
        await self._docs.update_one(
            {"_id": delivery_id, "status": "pending"},
            {"$set": {"status": "failed", "last_error": error, "updated_at": self._clock()}},
        )

    async def page(
        self,
        *,
        problems: bool = False,
        status: Status | None = None,
        endpoint_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Delivery]:
        """Newest first. `problems`: failed, and pending after a failed attempt (retrying)."""
        query: dict[str, Any] = dict(PROBLEMS) if problems else {}
        if status is not None:
            query["status"] = status
        if endpoint_id is not None:
            query["endpoint_id"] = endpoint_id
        cursor = (
            self._docs.find(query)
            .sort([("created_at", DESCENDING), ("seq", DESCENDING)])
            .skip(offset)
            .limit(min(limit, MAX_PAGE))
        )
        return [_delivery(doc) async for doc in cursor]

    async def pending_chains(self) -> set[tuple[str, str]]:
        """(endpoint id, lead id) of every lead with a delivery pending to an endpoint."""
        cursor = self._docs.find(
            {"status": "pending", "lead_id": {"$ne": None}}, projection={"endpoint_id": 1, "lead_id": 1}
        )
        return {(doc["endpoint_id"], doc["lead_id"]) async for doc in cursor}

    async def scheduled_ids(self, endpoint_id: str) -> list[str]:
        """The endpoint's pending deliveries that have a job."""
        cursor = self._docs.find(
            {"endpoint_id": endpoint_id, "status": "pending", "scheduled": True}, projection={"_id": 1}
        )
        return [doc["_id"] async for doc in cursor]

    async def for_lead(self, lead_id: str) -> list[Delivery]:
        cursor = self._docs.find({"lead_id": lead_id}).sort([("seq", ASCENDING)])
        return [_delivery(doc) async for doc in cursor]

    async def delete_for_endpoint(self, endpoint_id: str) -> int:
        result = await self._docs.delete_many({"endpoint_id": endpoint_id})
        return int(result.deleted_count)

    async def erase_lead(self, lead_id: str) -> int:
        """Forget every delivery about a lead (its bodies hold the lead's details)."""
        result = await self._docs.delete_many({"lead_id": lead_id})
        return int(result.deleted_count)
