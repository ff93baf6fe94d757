"""LLM mode when the model fails: every failure falls back in time, the visitor always gets a reply.

The real SDK clients talk to a loopback fake of each provider. Each test checks what the widget
saw (deltas, resets, the final message) and the conversation's `llm` accounting: turns,
attempts, failures by kind, outcomes, tokens, and the cost at the configured prices.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ClientFactory
from tests.support.fake_llm import Hang, HttpError, Refusal, ToolCall, reply
from tests.support.llm_chat import (
    FIRST_OFFLINE,
    PROVIDERS,
    Fake,
    chat,
    conversation,
    exchange,
    greeted,
    is_extraction,
    open_fake,
    proposal,
)

PRICE_INPUT, PRICE_OUTPUT = 3.0, 15.0  # US dollars per million tokens
PRICES = {"LEADBOT_LLM_PRICE_INPUT": str(PRICE_INPUT), "LEADBOT_LLM_PRICE_OUTPUT": str(PRICE_OUTPUT)}
NEED = "We need to qualify our inbound leads faster"
WRITTEN = "Got it, faster qualification. Which company are you with?"


@pytest.fixture(params=PROVIDERS)
async def llm(request: pytest.FixtureRequest, aiohttp_server: Any) -> AsyncIterator[Fake]:
    async with open_fake(request.param, aiohttp_server) as fake:
        yield fake


def cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * PRICE_INPUT + output_tokens * PRICE_OUTPUT) / 1_000_000


def assert_accounting(
    record: dict[str, Any],
    *,
    outcomes: dict[str, int],
    failures: dict[str, int],
    tokens: tuple[int, int],
    attempts: int | None = None,
) -> None:
    assert record["turns"] == 1, record
    assert record["outcomes"] == outcomes, record
    assert record.get("failures", {}) == failures, record
    if attempts is not None:
        assert record["attempts"] == attempts, record
    assert (record["input_tokens"], record["output_tokens"]) == tokens, record
    assert record["cost_usd"] == pytest.approx(cost(*tokens), abs=1e-6), record


async def test_a_model_that_hangs_is_given_up_on_within_the_turns_time(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="1", **PRICES)
    visitor = await greeted(client)
    llm.then(*[Hang()] * 20)
    answer = await exchange(visitor, NEED)
    assert time.monotonic() - llm.arrivals[0] < 1.5  # a 1 s turn, and a little for the rest
    assert answer.text == FIRST_OFFLINE and answer.deltas == []
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert set(record["failures"]) == {"timeout"}, record
    assert record["outcomes"] == {"extract_failed:timeout": 1, "write_failed:timeout": 1}
    assert record["input_tokens"] == record["output_tokens"] == 0 and record["cost_usd"] == 0
    await visitor.close()


async def test_a_reply_that_stalls_after_a_delta_is_taken_back(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="1", **PRICES)
    visitor = await greeted(client)
    llm.extracting(proposal())
    llm.replying(*[reply("Got it, faster ", "qualification. ", "Which company?", stall_after=2)] * 5)
    answer = await exchange(visitor, NEED)
    assert time.monotonic() - llm.arrivals[0] < 1.5
    assert answer.streamed.startswith("Got it")  # shown, then …
    assert answer.deltas[-1] == {"type": "delta", "text": "", "reset": True}  # … taken back
    assert answer.text == FIRST_OFFLINE
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert record["outcomes"] == {"extracted": 1, "write_failed:timeout": 1}, record
    assert record["failures"] == {"timeout": record["attempts"] - 1}, record
    await visitor.close()


async def test_a_429_is_tried_again_after_retry_after_and_the_models_reply_is_used(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        HttpError(429, retry_after="0.4"),
        proposal(company="Initech"),
        reply("Thanks! How many ", "people work at Initech?"),
    )
    started = time.monotonic()
    answer = await exchange(visitor, f"{NEED}, at Initech")
    assert time.monotonic() - started >= 0.4  # the provider's pause, longer than leadbot's own first one
    assert answer.text == "Thanks! How many people work at Initech?" == answer.shown
    conv = await conversation(client, visitor.conversation_id)
    assert conv["lead"]["company"] == "Initech"
    assert_accounting(
        conv["llm"],
        outcomes={"extracted": 1, "written": 1},
        failures={"rate_limited": 1},
        attempts=3,
        tokens=(120 + 90, 30 + 12),
    )
    assert len(llm.requests) == 3
    await visitor.close()


async def test_a_429_asking_for_more_than_the_turn_has_is_not_waited_for(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="2", **PRICES)
    visitor = await greeted(client)
    llm.extracting(HttpError(429, retry_after="30"))
    llm.replying(HttpError(429, retry_after="30"))
    started = time.monotonic()
    answer = await exchange(visitor, NEED)
    assert time.monotonic() - started < 1.5
    assert answer.text == FIRST_OFFLINE
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert_accounting(
        record,
        outcomes={"extract_failed:rate_limited": 1, "write_failed:rate_limited": 1},
        failures={"rate_limited": 2},
        attempts=2,
        tokens=(0, 0),
    )
    await visitor.close()


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_tried_again_and_the_models_reply_is_used(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake, status: int
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        HttpError(status),
        proposal(),
        HttpError(status),
        reply("Got it, faster ", "qualification. ", "Which company are you with?"),
    )
    answer = await exchange(visitor, NEED)
    assert answer.text == WRITTEN == answer.shown and answer.resets == 0
    assert_accounting(
        (await conversation(client, visitor.conversation_id))["llm"],
        outcomes={"extracted": 1, "written": 1},
        failures={"server": 2},
        attempts=4,
        tokens=(120 + 90, 30 + 12),
    )
    await visitor.close()


async def test_malformed_tool_output_is_asked_for_again_and_billed(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        ToolCall(raw_args='{"company": "Initech", "team_si'),  # cut off: not JSON
        ToolCall(args={"company": 42}),  # JSON, but not the tool's schema
        proposal(company="Initech"),
        reply("Thanks! How many ", "people work at Initech?"),
    )
    answer = await exchange(visitor, f"{NEED}, at Initech")
    assert answer.text == "Thanks! How many people work at Initech?"
    conv = await conversation(client, visitor.conversation_id)
    assert conv["lead"]["company"] == "Initech"
    assert_accounting(
        conv["llm"],
        outcomes={"extracted": 1, "written": 1},
        failures={"malformed": 2},
        attempts=4,
        tokens=(3 * 120 + 90, 3 * 30 + 12),  # malformed answers are billed too
    )
    await visitor.close()


async def test_extraction_that_keeps_failing_leaves_the_reply_its_time(
    aiohttp_client: ClientFactory, tmp_path: Path, aiohttp_server: Any
) -> None:
    """Extraction gets at most half the turn, retries included (LlmTurn.propose): a model that
    never calls its tool right must not use up the time the reply needs. (The budget is the same
    for both providers: one is enough for a 2 s test.)"""
    async with open_fake("openai", aiohttp_server) as llm:
        await _extraction_keeps_failing(aiohttp_client, tmp_path, llm)


async def _extraction_keeps_failing(aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="4", **PRICES)
    visitor = await greeted(client)
    llm.extracting(*[ToolCall(raw_args="not json")] * 50)
    llm.replying(reply("Got it, faster ", "qualification. ", "Which company are you with?"))
    answer = await exchange(visitor, NEED)
    assert answer.text == WRITTEN
    bodies = llm.bodies
    [reply_at] = [at for at, body in zip(llm.arrivals, bodies, strict=True) if not is_extraction(body)]
    assert reply_at - llm.arrivals[0] < 2.05  # half of the 4 s turn, retries included
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert record["outcomes"] == {"extract_failed:malformed": 1, "written": 1}, record
    assert record["failures"] == {"malformed": len(bodies) - 1}, record
    await visitor.close()


async def test_a_refusal_is_not_asked_again_and_the_offline_reply_goes_out(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(proposal(), Refusal(), reply("never asked for"))
    answer = await exchange(visitor, NEED)
    assert answer.text == FIRST_OFFLINE and answer.streamed == ""
    assert len(llm.requests) == 2
    assert_accounting(
        (await conversation(client, visitor.conversation_id))["llm"],
        outcomes={"extracted": 1, "write_failed:refused": 1},
        failures={"refused": 1},
        attempts=2,
        tokens=(120 + 80, 30 + 9),  # a refusal is billed
    )
    await visitor.close()


async def test_a_refused_extraction_still_leaves_the_reply_to_the_model(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        Refusal(content_filter=True),
        reply("Got it, faster ", "qualification. ", "Which company are you with?"),
    )
    answer = await exchange(visitor, NEED)
    assert answer.text == WRITTEN
    assert_accounting(
        (await conversation(client, visitor.conversation_id))["llm"],
        outcomes={"extract_failed:refused": 1, "written": 1},
        failures={"refused": 1},
        attempts=2,
        tokens=(80 + 90, 9 + 12),
    )
    await visitor.close()


async def test_a_wrong_api_key_is_not_retried_and_the_bot_works_offline(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    key_variable = "OPENAI_API_KEY" if llm.provider == "openai" else "ANTHROPIC_API_KEY"
    client = await chat(aiohttp_client, tmp_path, llm, **{key_variable: "sk-revoked", **PRICES})
    visitor = await greeted(client)
    llm.then(proposal(), reply("never sent"))
    answer = await exchange(visitor, NEED)
    assert answer.text == FIRST_OFFLINE and answer.deltas == []
    assert len(llm.requests) == 2 and len(llm.script) == 2  # one try each, every one refused with 401
    assert_accounting(
        (await conversation(client, visitor.conversation_id))["llm"],
        outcomes={"extract_failed:auth": 1, "write_failed:auth": 1},
        failures={"auth": 2},
        attempts=2,
        tokens=(0, 0),
    )
    await visitor.close()


async def test_a_reply_cut_off_at_the_token_limit_is_written_again(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        proposal(),
        reply("Got it, faster qualification. Which ", "company are", truncated=True, output_tokens=300),
        reply("Got it, faster ", "qualification. ", "Which company are you with?"),
    )
    answer = await exchange(visitor, NEED)
    assert answer.text == WRITTEN == answer.shown
    assert "company are" not in answer.streamed.replace(WRITTEN, "")  # the cut-off end never showed
    assert_accounting(
        (await conversation(client, visitor.conversation_id))["llm"],
        outcomes={"extracted": 1, "written": 1},
        failures={"malformed": 1},
        attempts=3,
        tokens=(120 + 90 + 90, 30 + 300 + 12),  # the cut-off reply was billed in full
    )
    await visitor.close()


async def test_an_error_mid_stream_takes_back_what_was_shown(
    aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake
) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, LEADBOT_LLM_TURN_SECONDS="1", **PRICES)
    visitor = await greeted(client)
    llm.extracting(proposal())
    llm.replying(*[reply("Got it, faster ", "qualification. ", "Which company?", error_after=2)] * 20)
    answer = await exchange(visitor, NEED)
    assert "Got it" in answer.streamed  # the visitor saw the start …
    assert answer.deltas[-1] == {"type": "delta", "text": "", "reset": True}  # … then it was taken back
    # Every attempt's deltas were taken back before the next one started.
    assert answer.resets == sum(1 for f in answer.deltas if f["text"].startswith("Got it"))
    assert answer.text == FIRST_OFFLINE
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert record["outcomes"] == {"extracted": 1, "write_failed:server": 1}, record
    assert record["failures"] == {"server": record["attempts"] - 1} and record["attempts"] >= 3, record
    assert record["input_tokens"] == 120, record  # a broken stream reports no usage
    await visitor.close()


async def test_costs_add_up_over_turns(aiohttp_client: ClientFactory, tmp_path: Path, llm: Fake) -> None:
    client = await chat(aiohttp_client, tmp_path, llm, **PRICES)
    visitor = await greeted(client)
    llm.then(
        proposal(),
        reply("Got it, faster ", "qualification. ", "Which company are you with?", input_tokens=1500),
        proposal(company="Initech", input_tokens=1700, output_tokens=60),
        HttpError(500),
        reply("Thanks! How many ", "people work at Initech?", input_tokens=1800, output_tokens=20),
    )
    assert (await exchange(visitor, NEED)).text == WRITTEN
    assert (await exchange(visitor, "Initech")).text == "Thanks! How many people work at Initech?"
    record = (await conversation(client, visitor.conversation_id))["llm"]
    assert record["turns"] == 2 and record["attempts"] == 5 and record["failures"] == {"server": 1}
    assert record["outcomes"] == {"extracted": 2, "written": 2}
    tokens = (120 + 1500 + 1700 + 1800, 30 + 12 + 60 + 20)
    assert (record["input_tokens"], record["output_tokens"]) == tokens
    assert record["cost_usd"] == pytest.approx(cost(*tokens), abs=2e-6)
    assert record["seconds"] > 0
    await visitor.close()
