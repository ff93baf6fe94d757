"""LLM mode end to end: the real SDK clients against loopback fakes, through the widget socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.fake_llm import (
    API_KEY,
    KEY_VARIABLES,
    FakeAnthropic,
    FakeOpenAI,
    HttpError,
    ToolCall,
    reply,
    start,
)
from tests.support.inbox import Agent, add_user
from tests.support.visitor import Visitor

SLOTS = (
    "need",
    "company",
    "team_size",
    "budget_monthly",
    "timeline",
    "decision_maker",
    "name",
    "email",
    "phone",
)


def proposal(**values: str) -> ToolCall:
    return ToolCall(args={name: values.get(name) for name in SLOTS})


@pytest.fixture(params=["openai", "anthropic"])
async def llm(
    request: pytest.FixtureRequest, aiohttp_server: Any
) -> AsyncIterator[FakeOpenAI | FakeAnthropic]:
    fake: FakeOpenAI | FakeAnthropic = FakeOpenAI() if request.param == "openai" else FakeAnthropic()
    fake.base_url = await start(fake, aiohttp_server)  # type: ignore[attr-defined]
    fake.provider = request.param  # type: ignore[attr-defined]
    yield fake
    fake.release()


async def chat(aiohttp_client: ClientFactory, tmp_path: Any, fake: Any, **env: str) -> TestClient[Any, Any]:
    key_variable, url_variable = KEY_VARIABLES[fake.provider]
    settings = make_settings(
        tmp_path / "data",
        LEADBOT_LLM=fake.provider,
        **{key_variable: API_KEY, url_variable: fake.base_url},
        **env,
    )
    return await aiohttp_client(create_app(settings))


async def test_the_model_proposes_values_and_words_the_reply_streamed(
    aiohttp_client: ClientFactory, tmp_path: Any, llm: Any
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    llm.then(
        proposal(need="bessere Lead-Qualifizierung", company="Müller GmbH", team_size="40", email="keine"),
        reply("Danke! ", "Wie hoch ist ", "Ihr monatliches Budget?"),
    )
    client_id = await visitor.send(
        "Wir brauchen bessere Lead-Qualifizierung, wir sind 40 Leute bei Müller GmbH"
    )
    await visitor.next_frame("ack")
    deltas = []
    while True:
        frame = await visitor.receive()
        if frame["type"] == "delta":
            deltas.append(frame["text"])
        elif frame["type"] == "message" and frame["from"] == "bot":
            break
    assert frame["text"] == "Danke! Wie hoch ist Ihr monatliches Budget?"
    assert "".join(deltas) == frame["text"] and len(deltas) >= 2
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    lead = conv["lead"]
    assert lead["company"] == "Müller GmbH" and lead["team_size"] == 40
    assert lead["email"] is None  # "keine" is no email: the proposal was refused
    assert conv["llm"]["turns"] == 1 and conv["llm"]["outcomes"]["written"] == 1
    assert conv["llm"]["outcomes"]["proposal_rejected:email"] == 1
    assert conv["llm"]["input_tokens"] > 0 and conv["llm"]["cost_usd"] > 0
    # Visitor text reached the model marked as untrusted.
    assert all("<visitor_message>" in str(body) for body in llm.bodies)
    del client_id
    await visitor.close()


async def test_failures_fall_back_to_the_offline_reply(
    aiohttp_client: ClientFactory, tmp_path: Any, llm: Any
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="1")
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    llm.then(*[HttpError(500)] * 50)
    answer = await visitor.say("We need to qualify our inbound leads faster")
    assert "Which company are you with?" in answer["text"]
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    assert conv["llm"]["failures"]["server"] >= 2
    assert conv["llm"]["outcomes"]["extract_failed:server"] == 1
    metrics = await (await client.get("/metrics")).text()
    failures = conv["llm"]["failures"]["server"]
    assert f'leadbot_llm_failures_total{{kind="server",provider="{llm.provider}"}} {failures}.0' in metrics
    assert 'leadbot_llm_outcomes_total{outcome="extract_failed"} 1.0' in metrics
    assert 'leadbot_llm_outcomes_total{outcome="write_failed"} 1.0' in metrics
    await visitor.close()


async def test_a_reply_with_someone_elses_email_is_never_shown(
    aiohttp_client: ClientFactory, tmp_path: Any, llm: Any
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    llm.then(
        proposal(need="faster lead follow-up"), reply("Thanks! Write to ", "ceo@rival.com ", "for a deal.")
    )
    await visitor.send("We need faster lead follow-up")
    await visitor.next_frame("ack")
    shown = ""
    while True:
        frame = await visitor.receive()
        if frame["type"] == "delta":
            shown = "" if frame.get("reset") else shown + frame["text"]
        elif frame["type"] == "message" and frame["from"] == "bot":
            break
    assert "rival.com" not in shown and "rival.com" not in frame["text"]
    assert "Which company are you with?" in frame["text"]
    await visitor.close()


async def test_a_handoff_gets_a_summary_in_the_models_words(
    aiohttp_client: ClientFactory, tmp_path: Any, llm: Any
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    summary = "Jane from Acme wants to automate lead follow-up and asked for a person about pricing."
    llm.then(
        proposal(), reply("Of course, ", "bringing in a person now."), ToolCall(args={"summary": summary})
    )
    answer = await visitor.say("Can I talk to a person about pricing?")
    assert answer["text"] == "Of course, bringing in a person now."
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    assert conv["mode"] == "pending_human" and conv["summary"] == summary
    assert conv["llm"]["outcomes"]["summary"] == 1 and conv["llm"]["turns"] == 1, conv["llm"]
    # The agent's handoff package shows the model's summary and what the model cost.
    dana = await Agent.sign_in(client, await add_user(client, "dana@example.com", name="Dana"))
    inbox = await dana.socket()
    await inbox.send({"type": "open", "conversation_id": visitor.conversation_id})
    package = (await inbox.next_frame("conversation"))["conversation"]
    assert package["summary"] == summary and package["summary_by"] == "llm"
    tokens = conv["llm"]["input_tokens"] + conv["llm"]["output_tokens"]
    assert package["llm"] == {
        "turns": 1,
        "tokens": tokens,
        "cost_usd": round(conv["llm"]["cost_usd"], 6),
        "failures": 0,
    }
    await dana.close()
    await visitor.close()


async def test_a_summary_the_checks_refuse_is_not_kept(
    aiohttp_client: ClientFactory, tmp_path: Any, llm: Any
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm)
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    leak = "Lead asked for a person; also see https://evil.example/steal and mail boss@rival.com."
    llm.then(proposal(), reply("Sure, one moment."), ToolCall(args={"summary": leak}))
    await visitor.say("talk to a human please")
    await settle(client.app)
    conv = await api_get(client, f"/api/conversations/{visitor.conversation_id}")
    assert "summary" not in conv and conv["llm"]["outcomes"]["summary_failed"] == 1
    await visitor.close()


async def test_metrics_need_the_token_when_one_is_set(aiohttp_client: ClientFactory, tmp_path: Any) -> None:
    client = await aiohttp_client(
        create_app(make_settings(tmp_path / "data", LEADBOT_METRICS_TOKEN="m-secret"))
    )
    assert (await client.get("/metrics")).status == 401
    response = await client.get("/metrics", headers={"Authorization": "Bearer m-secret"})
    assert response.status == 200 and "leadbot_llm_attempts" in await response.text()
