"""A known data set for the analytics tests, and every number it should give, counted by hand.

`seed()` builds conversations, leads, messages and touchpoints with known times (March 2024,
plus two conversations just outside it); `plant(store, data)` writes them straight into the
store's collections; `expected(data, start, end, ...)` recounts every table of the report in
plain Python over the seeded records, independently of bot/analytics (no pipelines, no shared
helpers), in the JSON API's shape.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import Store

FROM = "2024-03-01"
TO = "2024-03-31"
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)  # TO's whole day included
SCRIPT_SOURCE = "<script>alert(1)</script>"
FORMULA_SOURCE = '=HYPERLINK("http://evil.example")'


def day(d: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, d, hour, minute, second, tzinfo=UTC)


@dataclass
class Data:
    conversations: list[dict[str, Any]] = field(default_factory=list)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)

    def lead(
        self,
        lead_id: str,
        score: int,
        statuses: list[str],
        *,
        created: datetime,
        conversion: dict[str, Any] | None = None,
    ) -> None:
        doc: dict[str, Any] = {
            "_id": lead_id,
            "slots": {},
            "details": {},
            "skipped": [],
            "score": score,
            "grade": "D",
            "temperature": "cold",
            "status": statuses[-1],
            "score_reasons": [],
            "status_history": [
                {"status": s, "at": created + timedelta(minutes=i), "reason": None}
                for i, s in enumerate(statuses)
            ],
            "conversation_ids": [],
            "variants": {},
            "created_at": created,
            "updated_at": created,
        }
        if conversion is not None:
            doc["conversion"] = {
                "value": None,
                "currency": None,
                "reason": None,
                "by": "agent-1",
                **conversion,
            }
        self.leads[lead_id] = doc

    def conversation(
        self,
        conv_id: str,
        *,
        lead: str,
        created: datetime,
        channel: str = "web",
        flow: tuple[str, int] = ("default", 1),
        script: Sequence[tuple[Any, ...]] = (),
        touches: Sequence[tuple[float, str]] = (),
        **fields: Any,
    ) -> None:
        """`script`: (sender, seconds after creation[, slot asked | "private"]); `touches`:
        (seconds after creation, source); `fields`: the conversation's own (mode, handoff …),
        with times given in seconds after creation."""
        messages = []
        for seq, step in enumerate(script, start=1):
            sender, after = step[0], step[1]
            extra = step[2] if len(step) > 2 else None
            messages.append(
                {
                    "_id": f"{conv_id}-m{seq}",
                    "conversation_id": conv_id,
                    "seq": seq,
                    "sender": sender,
                    "text": f"{sender} says something",
                    "expects": {"slot": extra, "input": "text", "choices": []}
                    if sender == "bot" and extra
                    else None,
                    "private": extra == "private",
                    "author": "Ann" if sender == "agent" else None,
                    "agent_id": "agent-1" if sender == "agent" else None,
                    "meta": {},
                    "attachments": [],
                    "created_at": created + timedelta(seconds=after),
                }
            )
        visitor_times = [m["created_at"] for m in messages if m["sender"] == "visitor"]
        doc: dict[str, Any] = {
            "_id": conv_id,
            "channel": channel,
            "flow": {"id": flow[0], "version": flow[1]},
            "lead_id": lead,
            "mode": "bot",
            "handoff_reason": None,
            "opted_out": False,
            "last_seq": len(messages),
            "state": {},
            "answered_seq": 0,
            "team": None,
            "routing_reasons": [],
            "queued_at": None,
            "handed_off_at": None,
            "claimed_at": None,
            "agent_id": None,
            "outcome": None,
            "outcome_value": None,
            "contact": None,
            # Set by the store with every visitor message: the last one's time.
            "last_inbound_at": max(visitor_times) if visitor_times else None,
            "variants": {},
            "llm": {},
            "summary": None,
            "created_at": created,
            "updated_at": created,
        }
        for name, value in fields.items():
            doc[name] = (
                created + timedelta(seconds=value) if name.endswith("_at") and value is not None else value
            )
        self.conversations.append(doc)
        self.messages.extend(messages)
        self.leads[lead]["conversation_ids"].append(conv_id)
        for i, (after, source) in enumerate(touches):
            self.touchpoints.append(
                {
                    "_id": f"{conv_id}-t{i}",
                    "lead_id": lead,
                    "conversation_id": conv_id,
                    "at": created + timedelta(seconds=after),
                    "channel": channel,
                    "source": source,
                    "medium": None,
                    "campaign": None,
                    "term": None,
                    "content": None,
                    "referrer": None,
                    "landing_page": None,
                }
            )


def seed() -> Data:
    data = Data()
    data.lead("L01", 15, ["new", "engaged"], created=day(2, 10))
    data.lead(
        "L02",
        85,
        ["new", "engaged", "qualified", "converted"],
        created=day(5, 9),
        conversion={"outcome": "converted", "value": 5000.0, "currency": "USD", "at": day(6, 12)},
    )
    data.lead("L03", 40, ["new", "engaged"], created=day(10, 14))
    data.lead("L04", 0, ["new"], created=day(12, 8))
    # Converted, then re-marked lost: the conversion (lost) decides.
    data.lead(
        "L05",
        55,
        ["new", "engaged", "converted", "lost"],
        created=day(15, 16),
        conversion={"outcome": "lost", "reason": "budget", "at": day(16)},
    )
    data.lead("L06", 100, ["new", "engaged", "qualified"], created=day(20, 11))
    data.lead("L07", 20, ["new", "engaged", "unqualified"], created=day(1))
    data.lead("L08", 5, ["new"], created=day(31, 23, 59, 59))
    data.lead(
        "L09",
        95,
        ["new", "engaged", "qualified", "converted"],
        created=day(29, 23, 59, 59, month=2),
        conversion={"outcome": "converted", "value": 100.0, "currency": "USD", "at": day(2)},
    )
    data.lead("L10", 70, ["new", "engaged"], created=day(1, month=4))
    data.lead("L11", 30, ["new", "engaged"], created=day(25, 13))
    # Converted before conversions were recorded: no `conversion`, the status says it.
    data.lead("L13", 75, ["new", "engaged", "qualified", "converted"], created=day(28, 10))

    data.conversation(
        "c01",
        lead="L01",
        created=day(2, 10),
        variants={"greeting": "a"},
        script=[
            ("bot", 0, "need"),
            ("visitor", 20),
            ("bot", 22, "company"),
            ("visitor", 40),
            ("bot", 41.5, "team_size"),
        ],
        touches=[(-60, "google"), (1800, "newsletter")],
    )
    data.conversation(
        "c02",
        lead="L02",
        created=day(5, 9),
        flow=("default", 2),
        variants={"greeting": "b"},
        script=[
            ("bot", 0, "need"),
            ("visitor", 10),
            ("bot", 13, "budget_monthly"),
            ("visitor", 30),
            ("bot", 34),
            ("system", 90),
            ("agent", 120),
            ("agent", 125, "private"),
            ("visitor", 150),
            ("agent", 170),
        ],
        touches=[(-300, SCRIPT_SOURCE), (93600, "newsletter")],
        handoff_reason="qualified",
        handed_off_at=35,
        claimed_at=90,
        agent_id="agent-1",
        mode="closed",
        outcome="converted",
        outcome_value=5000.0,
    )
    data.conversation(
        "c03",
        lead="L03",
        created=day(10, 14),
        channel="sms",
        contact="+15550100",
        script=[
            ("visitor", 0),
            ("bot", 2, "need"),
            ("visitor", 60),
            ("bot", 62.5, "email"),
            ("visitor", 100),
            ("bot", 101),
        ],
        handoff_reason="requested",
        handed_off_at=101,
        queued_at=101,
        mode="pending_human",
    )
    data.conversation(
        "c04",
        lead="L04",
        created=day(12, 8),
        variants={"greeting": "a"},
        script=[("bot", 0, "need")],
        touches=[(-60, "google")],
    )
    data.conversation(
        "c05",
        lead="L05",
        created=day(15, 16),
        channel="whatsapp",
        script=[
            ("visitor", 0),
            ("bot", 4, "need"),
            ("visitor", 30),
            ("bot", 31),
            ("system", 200),
            ("agent", 260),
            ("visitor", 300),
            ("agent", 320),
        ],
        touches=[(-60, FORMULA_SOURCE)],
        handoff_reason="requested",
        handed_off_at=31,
        claimed_at=200,
        agent_id="agent-2",
        mode="closed",
        outcome="lost",
    )
    # Taken by an agent, then transferred back to a team's queue: waiting again.
    data.conversation(
        "c06",
        lead="L06",
        created=day(20, 11),
        channel="email",
        script=[
            ("visitor", 0),
            ("bot", 5, "need"),
            ("visitor", 50),
            ("bot", 52),
            ("system", 100),
            ("agent", 130),
        ],
        touches=[(-60, "@evil")],
        handoff_reason="transferred",
        handed_off_at=400,
        queued_at=400,
        claimed_at=100,
        mode="pending_human",
    )
    data.conversation(
        "c07",
        lead="L07",
        created=day(1),  # the first moment of the range
        script=[("bot", 0, "need"), ("visitor", 30), ("bot", 31)],
        touches=[(-5, "-sale")],
        mode="closed",
    )
    data.conversation(
        "c08",
        lead="L08",
        created=day(31, 23, 59, 59),  # the last second of the range
        script=[("bot", 0, "need")],
    )
    # Outside the range (its messages are inside it, and must not count).
    data.conversation(
        "c09",
        lead="L09",
        created=day(29, 23, 59, 59, month=2),
        script=[("bot", 0, "need"), ("visitor", 5), ("bot", 6, "company"), ("bot", 8)],
        touches=[(-30, "google")],
        handoff_reason="qualified",
        handed_off_at=8,
        claimed_at=10,
        agent_id="agent-1",
        mode="human",
    )
    data.conversation(
        "c10",
        lead="L10",
        created=day(1, month=4),
        script=[("bot", 0, "need"), ("visitor", 1), ("bot", 2, "company")],
    )
    # Handed off, taken, then released to the bot, which asks on.
    data.conversation(
        "c11",
        lead="L11",
        created=day(25, 13),
        variants={"greeting": "b"},
        script=[
            ("bot", 0, "need"),
            ("visitor", 10),
            ("bot", 11),
            ("system", 40),
            ("agent", 45),
            ("bot", 100, "company"),
        ],
        touches=[(-3600, "+promo")],
        handoff_reason="requested",
        handed_off_at=11,
        claimed_at=40,
        mode="bot",
    )
    # The same person as c03, writing by email: one lead for both.
    data.conversation(
        "c12",
        lead="L03",
        created=day(11, 9),
        channel="email",
        flow=("webinar", 1),
        contact="ann@example.com",
        script=[("visitor", 0), ("bot", 3, "need")],
        touches=[(0, "email")],
    )
    data.conversation(
        "c13",
        lead="L13",
        created=day(28, 10),
        flow=("default", 2),
        variants={"greeting": "a"},
        script=[("bot", 0, "need"), ("visitor", 8), ("bot", 9), ("system", 20), ("agent", 25)],
        touches=[(-3600, "google")],
        handoff_reason="qualified",
        handed_off_at=9,
        claimed_at=20,
        agent_id="agent-1",
        mode="closed",
        outcome="converted",
        outcome_value=1200.0,
    )
    return data


async def plant(store: Store, data: Data) -> None:
    await store.conversations.insert_many(data.conversations)
    await store.leads.insert_many(list(data.leads.values()))
    await store.messages.insert_many(data.messages)
    await store.collection("touchpoints").insert_many(data.touchpoints)


# -- the numbers, counted by hand ------------------------------------------------------------


def _rank(values: list[float], percent: int) -> float | None:
    """Nearest rank: the ⌈p·n/100⌉-th smallest value."""
    if not values:
        return None
    return sorted(values)[-(-percent * len(values) // 100) - 1]


def _went_to_people(conv: dict[str, Any]) -> bool:
    return any(
        conv[name] is not None
        for name in ("handoff_reason", "handed_off_at", "queued_at", "claimed_at", "agent_id")
    )


def _converted(lead: dict[str, Any]) -> bool:
    if lead.get("conversion"):
        return bool(lead["conversion"]["outcome"] == "converted")
    return bool(lead["status"] == "converted")


def _state(conv: dict[str, Any]) -> str:
    if conv["mode"] == "pending_human":
        return "waiting"
    if conv["mode"] == "human":
        return "with_agent"
    if conv["outcome"] in ("converted", "lost"):
        return str(conv["outcome"])
    return "closed_without_outcome" if conv["mode"] == "closed" else "back_with_bot"


def _stages(conv: dict[str, Any], data: Data) -> dict[str, int]:
    lead = data.leads[conv["lead_id"]]
    mine = [m for m in data.messages if m["conversation_id"] == conv["_id"]]
    return {
        "conversations": 1,
        "engaged": int(any(m["sender"] == "visitor" for m in mine)),
        "qualified": int(any(c["status"] == "qualified" for c in lead["status_history"])),
        "handed_off": int(_went_to_people(conv)),
        "converted": int(_converted(lead)),
    }


def _source(conv: dict[str, Any], data: Data) -> str:
    mine = sorted((t["at"], t["source"]) for t in data.touchpoints if t["conversation_id"] == conv["_id"])
    return mine[0][1] if mine else "unknown"


def _add(rows: dict[Any, dict[str, int]], key: Any, stages: dict[str, int]) -> None:
    row = rows.setdefault(key, dict.fromkeys(stages, 0))
    for name, value in stages.items():
        row[name] += value


def _group_rows(rows: dict[Any, dict[str, int]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for key, counts in rows.items():
        parts = key if isinstance(key, tuple) else (key,)
        rate = counts["converted"] / counts["conversations"] if counts["conversations"] else None
        out.append({**dict(zip(names, parts, strict=True)), **counts, "conversion_rate": rate})
    return out


def expected(
    data: Data, start: datetime, end: datetime, channel: str | None = None, flow: str | None = None
) -> dict[str, Any]:
    cohort = [
        c
        for c in data.conversations
        if start <= c["created_at"] < end
        and (channel is None or c["channel"] == channel)
        and (flow is None or c["flow"]["id"] == flow)
    ]
    total = {"conversations": 0, "engaged": 0, "qualified": 0, "handed_off": 0, "converted": 0}
    by: dict[str, dict[Any, dict[str, int]]] = {"channel": {}, "source": {}, "flow": {}, "variant": {}}
    for conv in cohort:
        stages = _stages(conv, data)
        for name in total:
            total[name] += stages[name]
        _add(by["channel"], conv["channel"], stages)
        _add(by["source"], _source(conv, data), stages)
        _add(by["flow"], (conv["flow"]["id"], conv["flow"]["version"]), stages)
        for experiment, variant in conv["variants"].items():
            _add(by["variant"], (experiment, variant), stages)

    asked: dict[str, int] = {}
    dropped: dict[str, int] = {}
    bot_seconds: list[float] = []
    first_reply: list[float] = []
    for conv in cohort:
        mine = sorted(
            (m for m in data.messages if m["conversation_id"] == conv["_id"]), key=lambda m: m["seq"]
        )
        bot_slots = [(m["expects"] or {}).get("slot") for m in mine if m["sender"] == "bot"]
        for slot in {s for s in bot_slots if s}:
            asked[slot] = asked.get(slot, 0) + 1
        if conv["mode"] == "bot" and not _went_to_people(conv) and bot_slots and bot_slots[-1]:
            dropped[bot_slots[-1]] = dropped.get(bot_slots[-1], 0) + 1
        public = [m for m in mine if m["sender"] in ("visitor", "bot", "agent") and not m["private"]]
        for before, after in itertools.pairwise(public):
            if before["sender"] == "visitor" and after["sender"] == "bot":
                bot_seconds.append((after["created_at"] - before["created_at"]).total_seconds())
        if conv["handed_off_at"] is not None:
            replies = [
                m["created_at"]
                for m in public
                if m["sender"] == "agent" and m["created_at"] >= conv["handed_off_at"]
            ]
            if replies:
                first_reply.append((min(replies) - conv["handed_off_at"]).total_seconds())
    waits = [
        (c["claimed_at"] - c["handed_off_at"]).total_seconds()
        for c in cohort
        if c["claimed_at"] is not None
        and c["handed_off_at"] is not None
        and c["claimed_at"] >= c["handed_off_at"]
    ]
    all_dropped = sum(dropped.values())

    handed = [c for c in cohort if _went_to_people(c)]
    states = ["waiting", "with_agent", "converted", "lost", "closed_without_outcome", "back_with_bot"]
    handoffs = []
    for state in states:
        mine = [c for c in handed if _state(c) == state]
        handoffs.append(
            {
                "outcome": state,
                "conversations": len(mine),
                "claimed": sum(1 for c in mine if c["claimed_at"] is not None or c["agent_id"] is not None),
                "share": len(mine) / len(handed) if handed else None,
                "value": float(sum(c["outcome_value"] or 0 for c in mine if c["outcome"] == "converted")),
            }
        )

    scores = [data.leads[lead_id]["score"] for lead_id in {c["lead_id"] for c in cohort}]
    buckets = []
    for low in range(0, 100, 10):
        high = 100 if low == 90 else low + 9
        buckets.append(
            {"score_from": low, "score_to": high, "leads": sum(1 for s in scores if low <= s <= high)}
        )

    def timing(measure: str, values: list[float]) -> dict[str, Any]:
        return {
            "measure": measure,
            "count": len(values),
            "p50_seconds": _rank(values, 50),
            "p90_seconds": _rank(values, 90),
        }

    return {
        "funnel": [
            {
                "stage": name,
                "conversations": count,
                "share": count / total["conversations"] if total["conversations"] else None,
            }
            for name, count in total.items()
        ],
        "funnel_by_channel": _group_rows(by["channel"], ("channel",)),
        "funnel_by_source": _group_rows(by["source"], ("source",)),
        "funnel_by_flow_version": _group_rows(by["flow"], ("flow", "version")),
        "funnel_by_variant": _group_rows(by["variant"], ("experiment", "variant")),
        "dropoff": [
            {
                "question": slot,
                "asked": asked.get(slot, 0),
                "dropped": dropped.get(slot, 0),
                "share": dropped.get(slot, 0) / all_dropped if all_dropped else None,
                "rate": dropped.get(slot, 0) / asked[slot] if asked.get(slot) else None,
            }
            for slot in set(asked) | set(dropped)
        ],
        "response_times": [
            timing("bot_response", bot_seconds),
            timing("queue_wait", waits),
            timing("first_agent_reply", first_reply),
        ],
        "handoff_outcomes": handoffs,
        "lead_scores": buckets,
    }


def expected_attribution(data: Data, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    """First-touch, last-touch and linear credit per source, for conversions in [start, end)."""
    credit: dict[str, dict[str, float]] = {"first_touch": {}, "last_touch": {}, "linear": {}}
    for lead in data.leads.values():
        conversion = lead.get("conversion")
        if not conversion or conversion["outcome"] != "converted" or not start <= conversion["at"] < end:
            continue
        touches = sorted(
            (t["at"], t["source"])
            for t in data.touchpoints
            if t["lead_id"] == lead["_id"] and t["at"] <= conversion["at"]
        )
        shares = {
            "first_touch": [(touches[0][1], 1.0)],
            "last_touch": [(touches[-1][1], 1.0)],
            "linear": [(source, 1 / len(touches)) for _, source in touches],
        }
        for model, parts in shares.items():
            for source, share in parts:
                credit[model][source] = credit[model].get(source, 0.0) + share
    return credit
