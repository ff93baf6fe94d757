"""What nurture has done so far, in two collections of its own.

`nurture_follow_ups`, one document per conversation: the silence the follow-ups answer (its
situation, when it began, the lead's last message then), the step due next, and a log of what
each step did (sent, skipped, moved, stopped), newest last. Jobs carry only ids and the step
number; a job whose step is no longer the one due here is stale and does nothing.

`nurture_decay`, one document per lead: when the lead's silence began, in which conversation,
and how many times the score has been lowered since.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ReturnDocument

from bot.nurture.schema import Situation
from bot.store import Store, new_id

FOLLOW_UPS = "nurture_follow_ups"
DECAY = "nurture_decay"
LOG_LENGTH = 50  # log entries kept per conversation, newest

Outcome = Literal["scheduled", "sent", "skipped", "moved", "stopped"]


def _aware(moment: datetime) -> datetime:
    # MongoDB hands datetimes back naive (in UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class LogEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    at: datetime
    outcome: Outcome
    step: int | None = None
    detail: str | None = None


class FollowUpRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    conversation_id: str
    lead_id: str
    situation: Situation
    since: datetime  # when the lead went silent: every step's `after` counts from here
    visitor_seq: int  # the lead's last message then; a later one means they wrote
    run: str  # this silence's id, marked on its follow-ups so a job run twice sends once
    step: int | None  # the step due next; None once the follow-ups are over
    unqualified_started: bool = False  # the after-close steps run once per conversation
    log: list[LogEntry] = Field(default_factory=list)


class DecayRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lead_id: str
    conversation_id: str  # whose flow's `decay` applies: where the lead last wrote
    since: datetime  # the lead's last message
    run: str  # this silence's id: a change made for an earlier silence is refused
    rounds: int = 0  # times the score was lowered in this silence


def _logged(entry: LogEntry) -> dict[str, Any]:
    """The `$push` adding `entry` to a log that keeps its newest LOG_LENGTH entries."""
    return {"log": {"$each": [entry.model_dump()], "$slice": -LOG_LENGTH}}


def _follow_up(doc: Mapping[str, Any]) -> FollowUpRecord:
    record = FollowUpRecord.model_validate({**doc, "conversation_id": doc["_id"]})
    record.since = _aware(record.since)
    return record


class FollowUpRecords:
    def __init__(self, store: Store) -> None:
        self._docs = store.collection(FOLLOW_UPS)

    async def get(self, conv_id: str) -> FollowUpRecord | None:
        doc = await self._docs.find_one({"_id": conv_id})
        return None if doc is None else _follow_up(doc)

    async def begin(
        self,
        conv_id: str,
        *,
        lead_id: str,
        situation: Situation,
        since: datetime,
        visitor_seq: int,
        step: int,
    ) -> FollowUpRecord:
        """A new silence: its first step is due; the log of earlier ones stays."""
        fields: dict[str, Any] = {
            "lead_id": lead_id,
            "situation": situation,
            "since": since,
            "visitor_seq": visitor_seq,
            "run": new_id(),
            "step": step,
        }
        if situation == "unqualified":
            fields["unqualified_started"] = True
        entry = LogEntry(at=since, outcome="scheduled", step=step, detail=situation)
        doc = await self._docs.find_one_and_update(
            {"_id": conv_id},
            {"$set": fields, "$push": _logged(entry)},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _follow_up(doc)

    async def move_on(self, record: FollowUpRecord, to_step: int | None, entry: LogEntry) -> bool:
        """Make `to_step` the one due (None: they are over), if `record`'s step still is; with
        what happened to it in the log. False when another run or a new silence came first."""
        result = await self._docs.update_one(
            {"_id": record.conversation_id, "run": record.run, "step": record.step},
            {
                "$set": {"step": to_step},
                "$push": _logged(entry),
            },
        )
        return bool(result.modified_count)

    async def note(self, record: FollowUpRecord, entry: LogEntry) -> bool:
        """Log what happened to the step due, which stays due (moved to a later time); False
        when it is no longer the one due."""
        result = await self._docs.update_one(
            {"_id": record.conversation_id, "run": record.run, "step": record.step}, {"$push": _logged(entry)}
        )
        return bool(result.modified_count)

    async def stop(self, conv_id: str, entry: LogEntry) -> bool:
        """No more steps for the current silence; False when none was due."""
        result = await self._docs.update_one(
            {"_id": conv_id, "step": {"$ne": None}},
            {"$set": {"step": None}, "$push": _logged(entry)},
        )
        return bool(result.modified_count)

    async def erase(self, conv_ids: list[str]) -> None:
        if conv_ids:
            await self._docs.delete_many({"_id": {"$in": conv_ids}})

    async def export(self, conv_ids: list[str]) -> list[dict[str, Any]]:
        cursor = self._docs.find({"_id": {"$in": conv_ids}})
        return [_follow_up(doc).model_dump(mode="json") async for doc in cursor]


class DecayRecords:
    def __init__(self, store: Store) -> None:
        self._docs = store.collection(DECAY)

    async def get(self, lead_id: str) -> DecayRecord | None:
        doc = await self._docs.find_one({"_id": lead_id})
        if doc is None:
            return None
        record = DecayRecord.model_validate({**doc, "lead_id": doc["_id"]})
        record.since = _aware(record.since)
        return record

    async def begin(self, lead_id: str, conv_id: str, since: datetime) -> None:
        """The lead wrote: a new silence starts now, with nothing lost yet."""
        await self._docs.replace_one(
            {"_id": lead_id},
            {"conversation_id": conv_id, "since": since, "run": new_id(), "rounds": 0},
            upsert=True,
        )

    async def count_round(self, record: DecayRecord, rounds: int) -> bool:
        """Record that `rounds` losses are done, if nothing changed since `record` was read."""
        result = await self._docs.update_one(
            {"_id": record.lead_id, "run": record.run, "rounds": record.rounds}, {"$set": {"rounds": rounds}}
        )
        return bool(result.modified_count)

    async def erase(self, lead_id: str) -> None:
        await self._docs.delete_one({"_id": lead_id})

    async def export(self, lead_id: str) -> dict[str, Any] | None:
        record = await self.get(lead_id)
        return None if record is None else record.model_dump(mode="json")
