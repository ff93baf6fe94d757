"""Flows as versioned data in the store: immutable published versions, one draft per flow.

Collections:
- `flows`: one document per flow: `{_id: flow id, name, live_version, draft, draft_rev,
  draft_updated_by, draft_updated_at, updated_by, updated_at, channels}`. The draft is kept
  as the admin wrote it, problems and all, so no work is lost; only a valid draft publishes.
- `flow_versions`: `{_id: "<flow id>:<version>", flow_id, version, body, published_at,
  published_by, source, note, changes}`, never changed once written.

The live version is always the highest one: a rollback publishes a copy of the old version
as a new one, so history is never rewritten and "live" needs no separate pointer to race on.
Two publishes at once each get their own number (the version `_id` is unique).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from bot.audit import AuditLog
from bot.errors import Conflict, Invalid
from bot.flowdiff import describe_changes
from bot.flowfile import Problem, flow_document, parse_document, problems
from bot.flows import Flow
from bot.store import NotFound, Store

Source = Literal["seed", "publish", "rollback", "import", "promote"]
CHANNEL_NAMES: Final = ("web", "sms", "whatsapp", "email")


@dataclass(frozen=True)
class Published:
    version: int
    changes: list[str]


def live_of(record: dict[str, Any]) -> int | None:
    """A flow record's live version; None for a flow imported but never published.

    Stored as 0 then, not null: `$max` from null is not something every store we run on does.
    """
    return record.get("live_version") or None


def _version_id(flow_id: str, version: int) -> str:
    return f"{flow_id}:{version}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


class FlowVersions:
    def __init__(self, store: Store, audit: AuditLog, *, clock: Callable[[], datetime]) -> None:
        self._flows = store.collection("flows")
        self._versions = store.collection("flow_versions")
        self.audit = audit
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._versions.create_index([("flow_id", 1), ("version", DESCENDING)], name="by_flow")
        await self._flows.create_index([("channels", 1)], name="by_channel")

    # -- reading ---------------------------------------------------------------------

    async def record(self, flow_id: str) -> dict[str, Any]:
        doc = await self._flows.find_one({"_id": flow_id})
        if doc is None:
            raise NotFound(f"flow {flow_id} not found")
        return dict(doc)

    async def records(self) -> list[dict[str, Any]]:
        return [dict(doc) async for doc in self._flows.find({}).sort("_id", 1)]

    async def live_version(self, flow_id: str) -> int | None:
        doc = await self._flows.find_one({"_id": flow_id}, {"live_version": 1})
        return None if doc is None else live_of(doc)

    async def version(self, flow_id: str, version: int) -> dict[str, Any]:
        doc = await self._versions.find_one({"_id": _version_id(flow_id, version)})
        if doc is None:
            raise NotFound(f"flow {flow_id} has no version {version}")
        return dict(doc)

    async def flow(self, flow_id: str, version: int) -> Flow:
        """A published version; its body was valid when published, so it parses."""
        doc = await self.version(flow_id, version)
        return Flow.model_validate({**doc["body"], "version": version})

    async def versions(self, flow_id: str) -> list[dict[str, Any]]:
        cursor = self._versions.find({"flow_id": flow_id}).sort("version", DESCENDING)
        return [dict(doc) async for doc in cursor]

    async def bound_flow(self, channel: str) -> str | None:
        doc = await self._flows.find_one({"channels": channel}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    # -- seeding ---------------------------------------------------------------------

    async def seed(self, flows: Iterable[Flow]) -> list[str]:
        """Store each flow not stored yet as its first version; returns the ids seeded.

        After the first start the store is the source of truth: a flow file edited later is
        brought in with `leadbot flows import`, not by restarting.
        """
        seeded = []
        for flow in flows:
            if await self._flows.find_one({"_id": flow.id}, {"_id": 1}) is not None:
                continue
            now = self._clock()
            try:
                await self._versions.insert_one(self._version_doc(flow, flow.version, "seed", "seed", now))
            except DuplicateKeyError:
                continue  # another process is seeding the same flow
            await self._flows.update_one(
                {"_id": flow.id},
                {
                    "$setOnInsert": {"draft": None, "draft_rev": 0, "channels": []},
                    "$set": {"name": flow.name, "updated_by": "seed", "updated_at": now},
                    "$max": {"live_version": flow.version},
                },
                upsert=True,
            )
            await self.audit.record("seed", actor="seed", flow_id=flow.id, version=flow.version)
            seeded.append(flow.id)
        return seeded

    # -- drafts ----------------------------------------------------------------------

    async def save_draft(
        self, flow_id: str, body: Any, *, actor: str, action: str = "draft.save"
    ) -> tuple[list[Problem], list[str]]:
        """Keep `body` as the flow's draft (creating the flow if new). Returns (problems, changes
        against the live version)."""
        if not isinstance(body, dict):
            raise Invalid("a flow is a JSON object")
        if body.get("id") != flow_id:
            raise Invalid(f"the body's id is {body.get('id')!r}; this is flow {flow_id!r}")
        found = problems(body)
        changes = await self._changes_from_live(flow_id, body, found)
        now = self._clock()
        await self._flows.update_one(
            {"_id": flow_id},
            {
                "$set": {
                    "draft": body,
                    "draft_updated_by": actor,
                    "draft_updated_at": now,
                    "updated_by": actor,
                    "updated_at": now,
                },
                "$inc": {"draft_rev": 1},
                "$setOnInsert": {
                    "live_version": 0,
                    "channels": [],
                    "name": str(body.get("name") or flow_id),
                },
            },
            upsert=True,
        )
        await self.audit.record(action, actor=actor, flow_id=flow_id, changes=changes)
        return found, changes

    async def discard_draft(self, flow_id: str, *, actor: str) -> None:
        record = await self.record(flow_id)
        if record.get("draft") is None:
            raise NotFound(f"flow {flow_id} has no draft")
        await self._flows.update_one(
            {"_id": flow_id},
            {
                "$set": {"draft": None, "updated_by": actor, "updated_at": self._clock()},
                "$inc": {"draft_rev": 1},
            },
        )
        await self.audit.record("draft.discard", actor=actor, flow_id=flow_id)

    async def _changes_from_live(self, flow_id: str, body: dict[str, Any], found: list[Problem]) -> list[str]:
        if found:
            return []  # an invalid draft is not a flow to compare yet
        live = await self.live(flow_id)
        return describe_changes(live, parse_document(body, flow_id))

    async def live(self, flow_id: str) -> Flow | None:
        version = await self.live_version(flow_id)
        return None if version is None else await self.flow(flow_id, version)

    # -- publishing ------------------------------------------------------------------

    async def publish_draft(self, flow_id: str, *, actor: str, note: str | None = None) -> Published:
        record = await self.record(flow_id)
        body = record.get("draft")
        if body is None:
            raise Invalid(f"flow {flow_id} has no draft to publish")
        found = problems(body)
        if found:
            raise DraftInvalid(found)
        published = await self.publish(
            flow_id, parse_document(body, flow_id), actor=actor, source="publish", note=note
        )
        # Clear the draft only if nobody saved a newer one meanwhile.
        await self._flows.update_one(
            {"_id": flow_id, "draft_rev": record.get("draft_rev", 0)},
            {"$set": {"draft": None}, "$inc": {"draft_rev": 1}},
        )
        return published

    async def rollback(self, flow_id: str, version: int, *, actor: str) -> Published:
        old = await self.flow(flow_id, version)
        return await self.publish(
            flow_id, old, actor=actor, source="rollback", note=f"rollback to version {version}"
        )

    async def publish(
        self, flow_id: str, flow: Flow, *, actor: str, source: Source, note: str | None = None
    ) -> Published:
        """`flow` as the next version of `flow_id`, live for new conversations from now on."""
        if flow.id != flow_id:
            raise Invalid(f"the flow's id is {flow.id!r}; this is flow {flow_id!r}")
        for _ in range(20):
            live_version = await self.live_version(flow_id)
            live = None if live_version is None else await self.flow(flow_id, live_version)
            number = (live_version or 0) + 1
            changes = describe_changes(live, flow)
            now = self._clock()
            doc = self._version_doc(flow, number, source, actor, now, note=note, changes=changes)
            try:
                await self._versions.insert_one(doc)
            except DuplicateKeyError:
                continue  # someone published this number first: take the next
            await self._flows.update_one(
                {"_id": flow_id},
                {
                    "$max": {"live_version": number},
                    "$set": {"name": flow.name, "updated_by": actor, "updated_at": now},
                    "$setOnInsert": {"draft": None, "draft_rev": 0, "channels": []},
                },
                upsert=True,
            )
            await self.audit.record(source, actor=actor, flow_id=flow_id, version=number, changes=changes)
            return Published(number, changes)
        raise Conflict(f"flow {flow_id}: too many publishes at once; try again")

    @staticmethod
    def _version_doc(
        flow: Flow,
        number: int,
        source: Source,
        actor: str,
        now: datetime,
        *,
        note: str | None = None,
        changes: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {**flow_document(flow), "version": number}
        return {
            "_id": _version_id(flow.id, number),
            "flow_id": flow.id,
            "version": number,
            "body": body,
            "published_at": now,
            "published_by": actor,
            "source": source,
            "note": note,
            "changes": changes or [],
        }

    # -- channels --------------------------------------------------------------------

    async def bind(self, flow_id: str, channels: Any, *, actor: str) -> list[str]:
        """New conversations on `channels` start on this flow; each channel has one flow."""
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise Invalid("channels is a list of channel names")
        unknown = sorted(set(channels) - set(CHANNEL_NAMES))
        if unknown:
            raise Invalid(f"unknown channel {', '.join(unknown)}; channels are {', '.join(CHANNEL_NAMES)}")
        await self.record(flow_id)
        wanted = sorted(set(channels), key=CHANNEL_NAMES.index)
        if wanted:
            await self._flows.update_many(
                {"_id": {"$ne": flow_id}, "channels": {"$in": wanted}},
                {"$pull": {"channels": {"$in": wanted}}},
            )
        await self._flows.update_one(
            {"_id": flow_id}, {"$set": {"channels": wanted, "updated_by": actor, "updated_at": self._clock()}}
        )
        shown = ", ".join(wanted) or "none"
        await self.audit.record("channels", actor=actor, flow_id=flow_id, changes=[f"channels: {shown}"])
        return wanted


async def open_versions(store: Store, *, clock: Callable[[], datetime]) -> FlowVersions:
    """The flow versions and the audit log over `store`, indexes in place."""
    versions = FlowVersions(store, AuditLog(store, clock=clock), clock=clock)
    await versions.audit.ensure_indexes()
    await versions.ensure_indexes()
    return versions


class DraftInvalid(Invalid):
    """Publishing was refused: the draft has problems (listed for the editor)."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__(f"the draft has {len(found)} problem(s); fix them before publishing")
        self.problems = found


def version_json(doc: dict[str, Any], *, with_body: bool = False) -> dict[str, Any]:
    out = {
        "version": doc["version"],
        "published_at": _iso(doc.get("published_at")),
        "published_by": doc.get("published_by"),
        "source": doc.get("source"),
        "note": doc.get("note"),
        "changes": list(doc.get("changes", [])),
    }
    if with_body:
        out["body"] = doc["body"]
    return out
