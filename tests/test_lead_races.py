"""Writers of one lead that race. A bot turn reads the whole lead when it begins and saves it back
when it ends; whatever else writes to the lead meanwhile — an outcome recorded by an agent or the
API, the visitor's consent, a score decay — must survive that save."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.models import Consent, Conversion, FlowRef, ScoreChange, StatusChange
from bot.store import Store
from tests.conftest import ClientFactory, api_call, api_get, settle
from tests.support.fake_llm import Hang
from tests.support.llm_chat import chat, greeted, open_fake

FLOW = FlowRef(id="default", version=1)
# How long the mark gets to land before the bot's turn is let go: it must not land meanwhile.
MARK_WINDOW_SECONDS = 0.5


async def test_a_conversion_marked_while_the_bot_answers_is_not_written_over(
    aiohttp_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    async with open_fake("openai", aiohttp_server) as llm:
        client = await chat(aiohttp_client, tmp_path, llm)
        visitor = await greeted(client)
        lead_id = (await api_get(client, f"/api/conversations/{visitor.conversation_id}"))["lead_id"]
        thinking = asyncio.Event()
        llm.then(Hang(thinking))  # the model holds the turn, which has read the lead already
        await visitor.send("We need to automate our lead follow-ups")
        async with asyncio.timeout(10):  # until the turn asks the model
            while True:
                if llm.requests:
                    break
                await asyncio.sleep(0.01)

        body = {"outcome": "converted", "value": 900}
        marking = asyncio.create_task(api_call(client, "POST", f"/api/leads/{lead_id}/conversion", body))
        done, _ = await asyncio.wait({marking}, timeout=MARK_WINDOW_SECONDS)
        assert not done, "the mark must wait for the bot's turn on the lead to be saved"
        thinking.set()
        marked = await marking
        await settle(client.app)

        lead = await api_get(client, f"/api/leads/{lead_id}")
        assert marked["conversion"] == lead["conversion"] and lead["conversion"]["value"] == 900.0
        assert lead["status"] == "converted"
        assert [c["status"] for c in lead["status_history"]] == ["new", "engaged", "converted"]
        assert lead["need"]  # the turn's own change is kept too
        await visitor.close()


async def test_saving_a_turns_copy_keeps_what_other_writers_wrote_since(store: Store) -> None:
    conv = await store.create_conversation("web", FLOW)
    turns_copy = await store.get_lead(conv.lead_id)  # read as a bot turn begins
    now = datetime.now(UTC).replace(microsecond=0)
    conversion = Conversion(outcome="converted", value=500.0, currency="EUR", at=now, by="agent-1")
    await store.record_outcome(
        conv.lead_id, conversion=conversion, change=StatusChange(status="converted", at=now)
    )
    consent = Consent(at=now, text="We keep this chat.", flow=FLOW, conversation_id=conv.id)
    await store.leads.update_one({"_id": conv.lead_id}, {"$set": {"consent": consent.model_dump()}})
    decayed = ScoreChange(at=now, score=0, reason="score 0 → 0: 14 days without a reply")
    assert await store.change_score(conv.lead_id, expect=0, change=decayed, grade="D", temperature="cold")

    turns_copy.slots["company"] = "Initech"
    turns_copy.score = 40
    saved = await store.save_turn(conv.id, state={}, lead=turns_copy, outs=[], answered_seq=0)
    assert saved is not None

    stored = await store.get_lead(conv.lead_id)
    assert saved[1] == stored  # what the turn goes on with is the lead as stored
    assert stored.conversion == conversion
    assert stored.consent == consent
    assert stored.score_history == [decayed]
    assert (stored.slots["company"], stored.score) == ("Initech", 40)  # the turn's own changes


async def test_a_turns_copy_merged_into_a_known_lead_brings_what_was_written_since(store: Store) -> None:
    known = await store.create_conversation("web", FLOW)
    lead = await store.get_lead(known.lead_id)
    lead.slots["email"] = "jane@example.com"
    await store.save_lead(lead)

    conv = await store.create_conversation("sms", FLOW, contact="+15555550100")
    turns_copy = await store.get_lead(conv.lead_id)  # read as a bot turn begins
    now = datetime.now(UTC).replace(microsecond=0)
    consent = Consent(at=now, text="We keep this chat.", flow=FLOW, conversation_id=conv.id)
    await store.leads.update_one({"_id": conv.lead_id}, {"$set": {"consent": consent.model_dump()}})

    turns_copy.slots["email"] = "jane@example.com"  # the same person: the two leads become one
    merged = await store.save_lead(turns_copy)

    assert merged.id == known.lead_id
    assert (await store.get_lead(known.lead_id)).consent == consent
