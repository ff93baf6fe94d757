"""LLM mode's per-flow settings and channels, end to end through the real SDKs.

A flow turns LLM mode on or off (`llm.enabled`), and its parts (`extract`, `compose`); it names
its own model and output limit, and gives the knowledge the bot may answer from. SMS and
WhatsApp get the final text only; the opt-out confirmation is always the flow's own words; the
model writes in the visitor's language.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ClientFactory, settle
from tests.support.fake_llm import reply
from tests.support.fake_twilio import ServerFactory, start_rig
from tests.support.llm_chat import (
    ASK_COMPANY,
    FIRST_OFFLINE,
    PROVIDERS,
    Fake,
    chat,
    conversation,
    exchange,
    greeted,
    is_extraction,
    llm_env,
    open_fake,
    proposal,
    publish_llm,
    system_of,
    turns_of,
)

NEED = "We need to qualify our inbound leads faster"
WRITTEN = "Got it, faster qualification. Which company are you with?"
KNOWLEDGE = "Leadbot connects to HubSpot and Salesforce. It answers in any language the visitor writes."
LEAD = "+14155550123"
OPTED_OUT = "You're unsubscribed and won't get more messages from us. Write START if you change your mind."
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


@pytest.fixture(params=PROVIDERS)
async def llm(request: pytest.FixtureRequest, aiohttp_server: Any) -> AsyncIterator[Fake]:
    async with open_fake(request.param, aiohttp_server) as fake:
        yield fake


def reply_bodies(llm: Fake) -> list[dict[str, Any]]:
    return [body for body in llm.bodies if not is_extraction(body)]


async def test_the_flows_knowledge_answers_questions(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    question = "Does it connect to HubSpot?"
    answer = "Yes, it connects to HubSpot. Which company are you with?"

    visitor = await greeted(client)  # a flow without knowledge
    llm.then(proposal(), reply(answer))
    await exchange(visitor, question)
    assert "KNOWLEDGE" not in system_of(reply_bodies(llm)[-1])
    await visitor.close()

    await publish_llm(client, knowledge=KNOWLEDGE)
    visitor = await greeted(client)
    llm.then(proposal(), reply("Yes, it connects ", "to HubSpot. ", ASK_COMPANY))
    assert (await exchange(visitor, question)).text == answer
    system = system_of(reply_bodies(llm)[-1])
    assert f"KNOWLEDGE:\n{KNOWLEDGE}" in system and "from KNOWLEDGE only" in system
    assert KNOWLEDGE not in system_of(llm.bodies[-2])  # extraction needs no knowledge
    # Not a question: nothing to answer, no knowledge given.
    llm.then(proposal(company="Initech"), reply("Thanks! How many people ", "work at Initech?"))
    await exchange(visitor, "Initech, we use HubSpot")
    assert KNOWLEDGE not in system_of(reply_bodies(llm)[-1])
    await visitor.close()


async def test_a_flow_with_llm_mode_off_never_calls_the_model(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    await publish_llm(client, enabled=False)
    visitor = await greeted(client)
    llm.then(proposal(company="Initech"), reply("never sent"))
    answer = await exchange(visitor, NEED)
    assert answer.text == FIRST_OFFLINE and answer.deltas == []
    conv = await conversation(client, visitor.conversation_id)
    assert llm.requests == [] and "llm" not in conv and conv["lead"]["company"] is None
    await visitor.close()


async def test_a_flow_without_extraction_only_asks_for_the_reply(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    await publish_llm(client, extract=False)
    visitor = await greeted(client)
    llm.then(reply("Got it, faster ", "qualification. ", ASK_COMPANY))
    assert (await exchange(visitor, NEED)).text == WRITTEN
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert len(llm.requests) == 1 and not is_extraction(llm.bodies[0])
    assert record["outcomes"] == {"written": 1} and record["attempts"] == 1
    await visitor.close()


async def test_a_flow_without_compose_sends_its_own_words(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    await publish_llm(client, compose=False)
    visitor = await greeted(client)
    llm.then(proposal(company="Initech"), reply("Words the model would have written."))
    answer = await exchange(visitor, f"{NEED}, at Initech")
    assert answer.deltas == [] and "model" not in answer.text
    assert answer.text.endswith("How many people are on your team?")  # the company came from the model
    conv = await conversation(client, visitor.conversation_id)
    assert conv["lead"]["company"] == "Initech"
    assert len(llm.requests) == 1 and is_extraction(llm.bodies[0]) and len(llm.script) == 1
    assert conv["llm"]["outcomes"] == {"extracted": 1}
    await visitor.close()


async def test_a_flows_model_and_output_limit_reach_the_provider(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await greeted(client)
    llm.then(proposal(), reply(WRITTEN))
    await exchange(visitor, NEED)
    assert {body["model"] for body in llm.bodies} == {DEFAULT_MODELS[llm.provider]}
    await visitor.close()

    model = f"{llm.provider}-model-of-this-flow"
    await publish_llm(client, model=model, max_output_tokens=123)
    before = len(llm.requests)
    visitor = await greeted(client)
    llm.then(proposal(), reply(WRITTEN))
    assert (await exchange(visitor, NEED)).text == WRITTEN
    bodies = llm.bodies[before:]
    assert [body["model"] for body in bodies] == [model, model]
    [written] = [body for body in bodies if not is_extraction(body)]
    assert written.get("max_completion_tokens", written.get("max_tokens")) == 123
    await visitor.close()


async def test_the_model_writes_in_the_visitors_language(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await greeted(client)
    german = "Wir müssen unsere eingehenden Leads schneller qualifizieren"
    llm.then(
        proposal(need="Leads schneller qualifizieren"),
        reply("Verstanden, schnellere Qualifizierung. ", "Bei welchem Unternehmen ", "sind Sie?"),
    )
    answer = await exchange(visitor, german)
    assert answer.text == "Verstanden, schnellere Qualifizierung. Bei welchem Unternehmen sind Sie?"
    [body] = reply_bodies(llm)
    system = system_of(body)
    assert "in the visitor's language (the language of their latest message" in system
    assert system.endswith(f"DRAFT:\n{FIRST_OFFLINE}")  # the flow's words, in English
    assert turns_of(body)[-1] == ("user", f"<visitor_message>\n{german}\n</visitor_message>")
    await visitor.close()


async def test_the_opt_out_confirmation_is_the_flows_own_words(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await greeted(client)
    llm.then(proposal(), reply(WRITTEN))
    await exchange(visitor, NEED)
    llm.then(proposal(), reply("Sad to see you go!"))  # would be the model's, were it asked
    answer = await exchange(visitor, "STOP")
    assert answer.text == OPTED_OUT and answer.deltas == []
    assert len(llm.requests) == 2
    await visitor.close()


async def test_sms_and_whatsapp_get_the_final_text_only(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    rig = await start_rig(aiohttp_server, aiohttp_client, tmp_path / "data", **llm_env(llm))
    text = "Hi, I'm the leadbot assistant! Got it, faster lead follow-up. Which company are you with?"
    llm.then(
        proposal(),
        reply("Hi, I'm the leadbot ", "assistant! Got it, ", "faster lead follow-up. ", ASK_COMPANY),
    )
    assert await rig.text(LEAD, "Hi, we need to automate our lead follow-ups") == [text]
    # The first reply opens with the greeting: the model was given it in the draft.
    assert "DRAFT:\nHi! I'm the leadbot assistant." in system_of(reply_bodies(llm)[-1])

    whatsapp = "+14155550188"
    llm.then(proposal(), reply("Hello! ", "Which company ", "are you with?"))
    await rig.twilio.whatsapp(whatsapp, "Hi, we need a better CRM")
    await settle(rig.app)
    assert rig.fake.bodies_to(f"whatsapp:{whatsapp}") == ["Hello! Which company are you with?"]

    # STOP is answered with the flow's own confirmation, with no model asked; so are the
    # messages after it (silence) and START.
    asked = len(llm.requests)
    assert await rig.text(LEAD, "STOP") == [OPTED_OUT]
    assert await rig.text(LEAD, "hello?") == []
    [welcome] = await rig.text(LEAD, "START")
    assert welcome.startswith("Welcome back!")
    assert len(llm.requests) == asked and llm.unscripted == 0
