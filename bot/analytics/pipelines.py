"""The aggregation pipelines behind the analytics (pure: each function returns a pipeline).

Every stage and operator used here runs on MongoDB and on mongomock 4.3 (the embedded store and
the wire stand-in the tests use): `$match`, `$lookup` (localField/foreignField only), `$unwind`,
`$project`, `$sort`, `$group` (`$sum`, `$first`, `$push`), `$facet`, `$bucket`; expressions
`$cond`, `$ifNull`, `$eq`, `$ne`, `$gte`, `$in`, `$and`, `$or`, `$switch`, `$subtract` (of dates:
milliseconds), `$objectToArray`, `$setUnion`, `$filter`, `$arrayElemAt`. mongomock has no `$range`,
`$zip`, `$reduce` or percentile operators, its `$not` always answers false and its `$expr` fails
on missing fields; so pairing a visitor's message with the bot's answer, and the percentiles,
happen in Python (`timing.py`).

Facets return only grouped counts (a few rows each), never per-conversation lists, so their one
result document stays far below MongoDB's 16 MB limit; lists of durations are streamed instead.

The message pipelines (drop-off, timelines) take a chunk of the cohort's conversation ids
(`cohort_ids.py`) and read only those conversations' messages (`conversation_id` `$in`, served by
the messages' `(conversation_id, seq)` index); the callers add up or concatenate the chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from bot.analytics.window import Window
from bot.handed_off import HANDED_OFF_FIELDS

Pipeline = list[dict[str, Any]]

STAGES: Final = ("conversations", "engaged", "qualified", "handed_off", "converted")
# Where a handed-off conversation is now (the first that applies, in this order).
HANDOFF_STATES: Final = (
    "waiting",  # in the queue
    "with_agent",  # an agent owns it
    "converted",  # closed with the outcome converted
    "lost",  # closed with the outcome lost
    "closed_without_outcome",  # closed with no outcome (e.g. by the bot after a release)
    "back_with_bot",  # released to the bot
)
# Lead score buckets of 10 points; the last one holds 90–100.
SCORE_BOUNDARIES: Final = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 101]
OUT_OF_RANGE: Final = "other"
NO_SOURCE: Final = "unknown"
# Public messages: what the visitor, the bot and agents said (notes and notices excluded).
PUBLIC_SENDERS: Final = ["visitor", "bot", "agent"]


def run(collection: Any, pipeline: Pipeline) -> Any:
    """The pipeline's cursor (`async for`). A wide range's $sort and $group may pass MongoDB's
    100 MB in-memory limit: they may spill to disk (mongomock ignores the option)."""
    return collection.aggregate(pipeline, allowDiskUse=True)


def cohort_match(window: Window) -> dict[str, Any]:
    """The conversations a report covers (a filter over `conversations`)."""
    match: dict[str, Any] = {"created_at": {"$gte": window.start, "$lt": window.end}}
    if window.channel is not None:
        match["channel"] = window.channel
    if window.flow is not None:
        match["flow.id"] = window.flow
    return match


def _present(path: str) -> dict[str, Any]:
    """True when the field holds a value (not missing, not null)."""
    return {"$ne": [{"$ifNull": [path, None]}, None]}


def _flag(condition: dict[str, Any]) -> dict[str, Any]:
    return {"$cond": [condition, 1, 0]}


def handed_off(prefix: str = "") -> dict[str, Any]:
    """The conversation went to people at some point (bot/handed_off.py: the A/B tests count
    the same)."""
    return {"$or": [_present(f"${prefix}{name}") for name in HANDED_OFF_FIELDS]}


def _converted() -> dict[str, Any]:
    """The lead's recorded conversion says converted; leads recorded before conversions were
    kept (no `conversion`) count when their status is converted."""
    return {
        "$cond": [
            _present("$lead.conversion"),
            {"$eq": ["$lead.conversion.outcome", "converted"]},
            {"$eq": ["$lead.status", "converted"]},
        ]
    }


def _handoff_state() -> dict[str, Any]:
    cases = [
        ({"$eq": ["$mode", "pending_human"]}, "waiting"),
        ({"$eq": ["$mode", "human"]}, "with_agent"),
        ({"$eq": ["$outcome", "converted"]}, "converted"),
        ({"$eq": ["$outcome", "lost"]}, "lost"),
        ({"$eq": ["$mode", "closed"]}, "closed_without_outcome"),
    ]
    return {
        "$switch": {
            "branches": [{"case": case, "then": state} for case, state in cases],
            "default": "back_with_bot",
        }
    }


# The per-conversation facts the cohort pipeline carries from its $project to its facets.
_FACTS: Final = (
    "channel",
    "flow_id",
    "flow_version",
    "variants",
    "lead_id",
    "score",
    *STAGES[1:],
    "handoff_state",
    "claimed",
    "outcome_value",
)


def _stage_sums(key: Any) -> dict[str, Any]:
    sums: dict[str, Any] = {"_id": key, "conversations": {"$sum": 1}}
    sums.update({stage: {"$sum": f"${stage}"} for stage in STAGES[1:]})
    return {"$group": sums}


def cohort_pipeline(window: Window) -> Pipeline:
    """Over `conversations`: one document of facets (grouped counts).

    total / by_channel / by_source / by_flow_version / by_variant: per key, how many conversations
    reached each funnel stage. handoffs: handed-off conversations per state (with how many an
    agent took, and the value of the converted). scores: distinct leads per score bucket.
    """
    statuses = {"$ifNull": ["$lead.status_history.status", []]}
    facts = {
        "_id": 1,
        "channel": 1,
        "flow_id": "$flow.id",
        "flow_version": "$flow.version",
        "variants": {"$objectToArray": {"$ifNull": ["$variants", {}]}},
        "lead_id": 1,
        "score": {"$ifNull": ["$lead.score", 0]},
        "engaged": _flag(_present("$last_inbound_at")),  # set with every visitor message stored
        "qualified": _flag({"$in": ["qualified", statuses]}),
        "handed_off": _flag(handed_off()),
        "converted": _flag(_converted()),
        "handoff_state": _handoff_state(),
        "claimed": _flag({"$or": [_present("$claimed_at"), _present("$agent_id")]}),
        "outcome_value": {
            "$cond": [{"$eq": ["$outcome", "converted"]}, {"$ifNull": ["$outcome_value", 0]}, 0]
        },
    }
    first_touch: dict[str, Any] = {"_id": "$_id", "source": {"$first": "$touch.source"}}
    first_touch.update({name: {"$first": f"${name}"} for name in _FACTS})
    return [
        {"$match": cohort_match(window)},
        {"$lookup": {"from": "leads", "localField": "lead_id", "foreignField": "_id", "as": "lead"}},
        {"$unwind": {"path": "$lead", "preserveNullAndEmptyArrays": True}},
        {"$project": facts},
        # The source is the conversation's first touchpoint's (none yet: "unknown").
        {
            "$lookup": {
                "from": "touchpoints",
                "localField": "_id",
                "foreignField": "conversation_id",
                "as": "touch",
            }
        },
        {"$unwind": {"path": "$touch", "preserveNullAndEmptyArrays": True}},
        {"$sort": {"_id": 1, "touch.at": 1}},
        {"$group": first_touch},
        {
            "$facet": {
                "total": [_stage_sums(None)],
                "by_channel": [_stage_sums("$channel")],
                "by_source": [_stage_sums({"$ifNull": ["$source", NO_SOURCE]})],
                "by_flow_version": [_stage_sums({"flow": "$flow_id", "version": "$flow_version"})],
                "by_variant": [
                    {"$unwind": "$variants"},
                    _stage_sums({"experiment": "$variants.k", "variant": "$variants.v"}),
                ],
                "handoffs": [
                    {"$match": {"handed_off": 1}},
                    {
                        "$group": {
                            "_id": "$handoff_state",
                            "conversations": {"$sum": 1},
                            "claimed": {"$sum": "$claimed"},
                            "value": {"$sum": "$outcome_value"},
                        }
                    },
                ],
                "scores": [
                    {"$group": {"_id": "$lead_id", "score": {"$first": "$score"}}},
                    {
                        "$bucket": {
                            "groupBy": "$score",
                            "boundaries": SCORE_BOUNDARIES,
                            "default": OUT_OF_RANGE,
                            "output": {"leads": {"$sum": 1}},
                        }
                    },
                ],
            }
        },
    ]


def waits_pipeline(window: Window) -> Pipeline:
    """Over `conversations`: one `{wait_ms}` per conversation of the window an agent took after
    it last joined the queue (claimed_at − handed_off_at)."""
    match = cohort_match(window)
    match.update({"handed_off_at": {"$ne": None}, "claimed_at": {"$ne": None}})
    return [
        {"$match": match},
        {"$project": {"_id": 0, "wait_ms": {"$subtract": ["$claimed_at", "$handed_off_at"]}}},
        # Negative: it was claimed, then transferred back to the queue and waits again.
        {"$match": {"wait_ms": {"$gte": 0}}},
    ]


def _with_conversation() -> Pipeline:
    """After grouping messages by conversation (`_id`): each with its conversation's document
    under `conv` (one erased meanwhile drops out)."""
    return [
        {"$lookup": {"from": "conversations", "localField": "_id", "foreignField": "_id", "as": "conv"}},
        {"$unwind": "$conv"},
    ]


def dropoff_pipeline(conversation_ids: Sequence[str]) -> Pipeline:
    """Over `messages`, for these conversations (a chunk of the cohort): one document of facets.
    asked: per question (slot), the conversations whose bot asked it. dropped: per question, the
    conversations that stopped there: still with the bot, never handed off, and the bot's last
    message asked that question. Counts per slot: the chunks' facets add up."""
    return [
        {"$match": {"conversation_id": {"$in": list(conversation_ids)}, "sender": "bot"}},
        {"$sort": {"conversation_id": 1, "seq": 1}},
        {"$group": {"_id": "$conversation_id", "slots": {"$push": {"$ifNull": ["$expects.slot", None]}}}},
        *_with_conversation(),
        {
            "$project": {
                "asked": {"$setUnion": ["$slots", []]},
                "last_slot": {"$arrayElemAt": ["$slots", -1]},
                # (mongomock's $not answers false whatever it is given: $cond instead)
                "stopped": {"$cond": [handed_off("conv."), False, {"$eq": ["$conv.mode", "bot"]}]},
            }
        },
        {
            "$facet": {
                "asked": [
                    {"$unwind": "$asked"},
                    {"$match": {"asked": {"$ne": None}}},
                    {"$group": {"_id": "$asked", "conversations": {"$sum": 1}}},
                ],
                "dropped": [
                    {"$match": {"stopped": True, "last_slot": {"$ne": None}}},
                    {"$group": {"_id": "$last_slot", "conversations": {"$sum": 1}}},
                ],
            }
        },
    ]


def timelines_pipeline(conversation_ids: Sequence[str]) -> Pipeline:
    """Over `messages`: per conversation of these (a chunk of the cohort), who wrote each public
    message and when (`senders`, `times`, in order), and `first_response_ms`: from when it last
    joined the queue to the first agent reply at or after that (null when there is none). One
    document per conversation: the chunks' documents concatenate."""
    agent_after_queue = {
        "$filter": {
            "input": "$entries",
            "as": "m",
            "cond": {
                "$and": [
                    {"$eq": ["$$m.sender", "agent"]},
                    _present("$conv.handed_off_at"),
                    {"$gte": ["$$m.at", "$conv.handed_off_at"]},
                ]
            },
        }
    }
    return [
        {
            "$match": {
                "conversation_id": {"$in": list(conversation_ids)},
                "sender": {"$in": PUBLIC_SENDERS},
                "private": {"$ne": True},
            }
        },
        {"$sort": {"conversation_id": 1, "seq": 1}},
        {
            "$group": {
                "_id": "$conversation_id",
                "entries": {"$push": {"sender": "$sender", "at": "$created_at"}},
            }
        },
        *_with_conversation(),
        {
            "$project": {
                "senders": "$entries.sender",
                "times": "$entries.at",
                "handed_off_at": {"$ifNull": ["$conv.handed_off_at", None]},
                "agent_after_queue": agent_after_queue,
            }
        },
        {
            "$project": {
                "senders": 1,
                "times": 1,
                "first_response_ms": {
                    "$subtract": [{"$arrayElemAt": ["$agent_after_queue.at", 0]}, "$handed_off_at"]
                },
            }
        },
    ]
