"""LLM mode end to end: leadbot with a loopback fake of OpenAI or Anthropic, and a widget visitor.

`open_fake` serves a provider's fake (fake_llm.py) that can also be scripted per kind of
request: `extracting(...)` for the extraction tool calls, `replying(...)` for the streamed
replies. A step queued there is taken by the next request of that kind whatever came before,
so a test does not depend on how many retries fit in a turn; `then(...)` serves either kind.
`chat` starts leadbot pointed at the fake; `exchange` sends a visitor message and collects
every delta frame up to the bot's message.
"""

from __future__ import annotations

import copy
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from tests.conftest import AUTH, ClientFactory, api_get, make_settings, settle
from tests.support.fake_llm import (
    API_KEY,
    KEY_VARIABLES,
    FakeAnthropic,
    FakeOpenAI,
    Step,
    ToolCall,
    start,
)
from tests.support.frames import Frame
from tests.support.visitor import Visitor

PROVIDERS = ["openai", "anthropic"]

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

# The offline replies of the default flow (flows/default.yaml) that these tests meet.
ASK_COMPANY = "Which company are you with?"
FIRST_OFFLINE = f"Thanks, that helps. {ASK_COMPANY}"  # after a need, e.g. "We need …"


def proposal(*, input_tokens: int = 120, output_tokens: int = 30, **values: str | None) -> ToolCall:
    """The extraction tool's arguments: every slot, null unless given."""
    unknown = set(values) - set(SLOTS)
    assert not unknown, f"not slots: {unknown}"
    args = {name: values.get(name) for name in SLOTS}
    return ToolCall(args=args, input_tokens=input_tokens, output_tokens=output_tokens)


class _ByKind:
    """Queues for extraction requests (they carry tools) and reply requests, before the shared
    script; and when each request arrived (`arrivals`, time.monotonic())."""

    requests: list[Any]
    extracts: deque[Step]
    replies: deque[Step]
    arrivals: list[float]

    def extracting(self, *steps: Step) -> _ByKind:
        self.extracts.extend(steps)
        return self

    def replying(self, *steps: Step) -> _ByKind:
        self.replies.extend(steps)
        return self

    def _next_step(self) -> Step | None:
        self.arrivals.append(time.monotonic())
        queue = self.extracts if is_extraction(self.requests[-1].body) else self.replies
        if queue:
            return queue.popleft()
        return super()._next_step()  # type: ignore[misc]


@dataclass
class OpenAIFake(_ByKind, FakeOpenAI):
    provider: str = "openai"
    base_url: str = ""
    extracts: deque[Step] = field(default_factory=deque)
    replies: deque[Step] = field(default_factory=deque)
    arrivals: list[float] = field(default_factory=list)


@dataclass
class AnthropicFake(_ByKind, FakeAnthropic):
    provider: str = "anthropic"
    base_url: str = ""
    extracts: deque[Step] = field(default_factory=deque)
    replies: deque[Step] = field(default_factory=deque)
    arrivals: list[float] = field(default_factory=list)


Fake = OpenAIFake | AnthropicFake


@asynccontextmanager
async def open_fake(
    provider: str, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> AsyncIterator[Fake]:
    fake: Fake = OpenAIFake() if provider == "openai" else AnthropicFake()
    fake.base_url = await start(fake, aiohttp_server)
    try:
        yield fake
    finally:
        fake.release()


def llm_env(fake: Fake, **env: str) -> dict[str, str]:
    """The environment that points leadbot at `fake` (`env` may override any of it)."""
    key_variable, url_variable = KEY_VARIABLES[fake.provider]
    return {"LEADBOT_LLM": fake.provider, key_variable: API_KEY, url_variable: fake.base_url, **env}


async def chat(aiohttp_client: ClientFactory, tmp_path: Path, fake: Fake, **env: str) -> TestClient[Any, Any]:
    settings = make_settings(tmp_path / "data", **llm_env(fake, **env))
    return await aiohttp_client(create_app(settings))


# ------------------------------------------------------------------------------ the widget


@dataclass
class Answer:
    """The bot's answer to one visitor message, as the widget saw it."""

    deltas: list[Frame]
    message: Frame

    @property
    def text(self) -> str:
        return str(self.message["text"])

    @property
    def streamed(self) -> str:
        """Every piece of text any delta carried, resets or not: all the visitor could have seen."""
        return "".join(str(frame["text"]) for frame in self.deltas)

    @property
    def shown(self) -> str:
        """The streamed text on screen just before the message: what followed the last reset."""
        text = ""
        for frame in self.deltas:
            text = "" if frame.get("reset") else text + str(frame["text"])
        return text

    @property
    def resets(self) -> int:
        return sum(1 for frame in self.deltas if frame.get("reset"))


async def exchange(visitor: Visitor, text: str) -> Answer:
    """Send `text`; every delta frame until the bot's message, and the message."""
    client_id = await visitor.send(text)
    acked = False
    deltas: list[Frame] = []
    while True:
        frame = await visitor.receive()
        if frame["type"] == "ack":
            assert frame["id"] == client_id, frame
            acked = True
        elif frame["type"] == "delta":
            deltas.append(frame)
        elif frame["type"] == "message" and frame["from"] == "bot":
            assert acked, "the bot answered before the visitor's message was acknowledged"
            return Answer(deltas, frame)


async def greeted(client: TestClient[Any, Any]) -> Visitor:
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    return visitor


async def conversation(client: TestClient[Any, Any], conv_id: str) -> dict[str, Any]:
    """The conversation's record once every turn and background job is done."""
    await settle(client.app)
    return dict(await api_get(client, f"/api/conversations/{conv_id}"))


# ------------------------------------------------------------------------------ flows


async def publish_llm(client: TestClient[Any, Any], **settings: Any) -> None:
    """Publish the default flow with these `llm` settings (new conversations use it)."""
    flow = await api_get(client, "/api/flows/default")
    body = copy.deepcopy(flow["live"])
    body["llm"] = settings
    saved = await client.put("/api/flows/default/draft", json=body, headers=AUTH)
    assert saved.status == 200, await saved.text()
    published = await client.post("/api/flows/default/publish", json={}, headers=AUTH)
    assert published.status == 200, await published.text()


# ------------------------------------------------------------------------------ requests


def is_extraction(body: dict[str, Any]) -> bool:
    return bool(body.get("tools"))


def system_of(body: dict[str, Any]) -> str:
    """The system prompt of a recorded request, either provider."""
    if "system" in body:  # Anthropic
        system = body["system"]
        return system if isinstance(system, str) else "".join(block["text"] for block in system)
    return "".join(_text(m["content"]) for m in body["messages"] if m["role"] in ("system", "developer"))


def turns_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The conversation of a recorded request as (role, text), without the system prompt."""
    return [
        (m["role"], _text(m["content"])) for m in body["messages"] if m["role"] not in ("system", "developer")
    ]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or [])


def everything_sent(bodies: list[dict[str, Any]]) -> str:
    """All that a list of requests carried, as one text (JSON escapes undone)."""
    return "\n".join(json.dumps(body, ensure_ascii=False) for body in bodies)
