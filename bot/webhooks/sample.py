"""The made-up lead of a test event (`webhook.test`): every field filled, nobody real."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.lead_events import LeadEvent
from bot.models import Conversation, FlowRef, Lead
from bot.webhooks.payload import event_document

SAMPLE_ID = "000000000000000000000000"


def sample_document(event_id: str, now: datetime) -> dict[str, Any]:
    lead = Lead(
        id=SAMPLE_ID,
        slots={
            "need": "Route chat leads to the right sales team",
            "company": "Example Corp",
            "team_size": 40,
            "budget_monthly": 8000,
            "timeline": "immediate",
            "decision_maker": True,
            "name": "Jane Example",
            "email": "jane@example.com",
            "phone": "+15555550100",
        },
        score=85,
        grade="A",
        temperature="hot",
        status="qualified",
        score_reasons=[
            "budget_monthly ≥ 5000: +30",
            "timeline = immediate: +25",
            "decision_maker = yes: +20",
        ],
        conversation_ids=[SAMPLE_ID],
        created_at=now,
        updated_at=now,
    )
    conversation = Conversation(
        id=SAMPLE_ID,
        channel="web",
        flow=FlowRef(id="default", version=1),
        lead_id=SAMPLE_ID,
        mode="pending_human",
        handoff_reason="qualified",
        team="sales",
        created_at=now,
        updated_at=now,
    )
    event = LeadEvent(kind="lead.qualified", at=now, lead=lead, conversation=conversation)
    return {**event_document(event_id, event), "kind": "webhook.test"}
