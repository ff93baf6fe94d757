"""A lead with something of everything, for the export and erasure tests.

One person, two conversations on two channels: the widget (messages, a file) and SMS (which
opens a lead of its own that the shared phone number merges into the widget's lead). Their
lead also has a touchpoint, a webhook delivery, a pending job and reads in the access audit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from bot import keys
from tests.conftest import AUTH, api_get, settle
from tests.support.visitor import Visitor

NAME = "Quillon Zephyrine"
EMAIL = "quillon.zephyrine@example.com"
PHONE = "+14155550133"
WIDGET_TEXT = f"I'm {NAME}, write to {EMAIL} or call 415 555 0133"
FILE_CAPTION = "the zephyrine rollout plan"
FILE_BYTES = b"confidential: zephyrine budget 48000"
SMS_TEXT = "Hello again from the zephyrine phone"
JOB_KIND = "test.privacy_follow_up"


@dataclass
class SeededLead:
    lead_id: str
    web_conversation_id: str
    sms_conversation_id: str
    merged_lead_id: str
    attachment_id: str
    visitor: Visitor
    texts: list[str] = field(default_factory=list)

    @property
    def conversation_ids(self) -> list[str]:
        return [self.web_conversation_id, self.sms_conversation_id]

    def needles(self) -> list[str]:
        """What must not be left anywhere once the lead is erased."""
        return [
            self.lead_id,
            self.merged_lead_id,
            *self.conversation_ids,
            self.attachment_id,
            EMAIL,
            PHONE,
            "Quillon",
            "Zephyrine",
            "zephyrine",
            *self.texts,
            FILE_BYTES.decode(),
        ]


async def seed_lead(client: TestClient[Any, Any], *, consent: bool = False) -> SeededLead:
    """`consent`: the visitor accepts the flow's consent text first (the flow must ask one)."""
    app = client.app
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    if consent:
        assert "consent" in visitor.hello, visitor.hello
        await visitor.ws.send_json({"type": "consent"})
        await visitor.next_frame("consent")
    await visitor.say(WIDGET_TEXT)
    web_id = visitor.conversation_id
    lead_id = (await api_get(client, f"/api/conversations/{web_id}"))["lead_id"]
    lead = await api_get(client, f"/api/leads/{lead_id}")
    assert (lead.get("email"), lead.get("phone")) == (EMAIL, PHONE), lead

    form = aiohttp.FormData()
    form.add_field("id", secrets.token_hex(6))
    form.add_field("text", FILE_CAPTION)
    form.add_field("file", FILE_BYTES, filename="plan.txt", content_type="text/plain")
    uploaded = await client.post("/ws/chat/upload", params={"token": visitor.token}, data=form)
    assert uploaded.status == 201, await uploaded.text()
    attachment_id = (await uploaded.json())["attachments"][0]["url"].split("/")[2].split("?")[0]

    convs = app[keys.CONVERSATIONS]
    sms, _, _ = await convs.receive_from_contact(
        "sms", PHONE, text=SMS_TEXT, provider_id="SM" + secrets.token_hex(16), lead_slots={"phone": PHONE}
    )
    await settle(app)
    merged = await api_get(client, f"/api/leads/{lead_id}")
    assert sms.id in merged["conversation_ids"] and merged["merged_ids"], merged

    store = app[keys.STORE]
    now = app[keys.CLOCK]()
    await store.collection("touchpoints").insert_one(
        {
            "_id": secrets.token_hex(12),
            "lead_id": lead_id,
            "conversation_id": web_id,
            "at": now,
            "channel": "web",
            "source": "newsletter",
            "medium": "email",
            "campaign": "zephyrine-spring",
            "term": None,
            "content": None,
            "referrer": None,
            "landing_page": "https://example.com/pricing?utm_campaign=zephyrine-spring",
        }
    )
    await store.collection("webhook_deliveries").insert_one(
        {
            "_id": secrets.token_hex(12),
            "endpoint_id": "crm",
            "event_id": secrets.token_hex(12),
            "kind": "lead.created",
            "lead_id": lead_id,
            "seq": 1,
            "body": f'{{"lead": {{"id": "{lead_id}", "email": "{EMAIL}"}}}}',
            "status": "delivered",
            "attempts": [],
            "scheduled": False,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": now,
        }
    )
    # A module that registered no eraser, but names the conversation as others do: swept.
    await store.collection("email_message_ids").insert_one(
        {"_id": f"<{secrets.token_hex(8)}@zephyrine.example.com>", "conversation_id": web_id}
    )
    await app[keys.JOBS].schedule(
        JOB_KIND,
        {"lead_id": lead_id},
        key=f"{JOB_KIND}:{lead_id}",
        run_at=now + timedelta(days=3),
        subject=lead_id,
    )
    return SeededLead(
        lead_id=lead_id,
        web_conversation_id=web_id,
        sms_conversation_id=sms.id,
        merged_lead_id=merged["merged_ids"][0],
        attachment_id=attachment_id,
        visitor=visitor,
        texts=[WIDGET_TEXT, FILE_CAPTION, SMS_TEXT],
    )


async def erase(
    client: TestClient[Any, Any], lead_id: str, status: int = 200, headers: dict[str, str] | None = None
) -> Any:
    response = await client.delete(f"/api/leads/{lead_id}", headers=headers or AUTH)
    body = await response.json()
    assert response.status == status, body
    return body
