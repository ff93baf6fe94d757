"""What the bot asks of a model, provider-neutral: propose slot values through a tool, or write
a reply as a stream of text.

The qualifier talks to `LlmClient` only; openai_client.py and anthropic_client.py translate to
their SDKs and map every error to `LlmFailure`. A `deadline` is a `time.monotonic()` instant:
the client gives up when it passes, so the turn's budget (budget.py) is never overrun.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from bot.llm.failure import LlmFailure
from bot.llm.guard import sanitize_untrusted
from bot.llm.usage import Usage

T = TypeVar("T")


@dataclass(frozen=True)
class ChatMessage:
    """One message of the conversation as the model sees it. Visitor text is untrusted and is
    wrapped by `provider_turns`; the bot's own messages (and an agent's) are `bot`.
    The last message should be the visitor's: the model answers it."""

    role: Literal["visitor", "bot"]
    text: str


@dataclass(frozen=True)
class ToolSpec:
    """The one tool a model must call to propose values; `parameters` is a JSON schema object."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Proposal:
    """What the model proposed through the tool. Deterministic code decides what to keep."""

    args: dict[str, Any]
    usage: Usage


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class StreamDone:
    """The end of a reply stream: the full text (the deltas joined) and what it cost."""

    text: str
    usage: Usage = field(default_factory=Usage)
    truncated: bool = False  # cut off at max_tokens: the text ends mid-sentence


StreamEvent = TextDelta | StreamDone


class LlmClient(Protocol):
    provider: str
    model: str

    async def extract(
        self, *, system: str, messages: Sequence[ChatMessage], tool: ToolSpec, deadline: float
    ) -> Proposal:
        """Force a call of `tool`; its arguments, checked against `tool.parameters`."""
        ...

    def stream(
        self, *, system: str, messages: Sequence[ChatMessage], deadline: float, max_tokens: int
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text deltas in order, then one `StreamDone`. Raises `LlmFailure`, possibly after deltas.
        Close it (`aclose`) when leaving early, to release the connection at once."""
        ...

    async def aclose(self) -> None: ...


Role = Literal["user", "assistant"]


def provider_turns(messages: Sequence[ChatMessage]) -> list[tuple[Role, str]]:
    """The conversation as user/assistant turns, every visitor message marked untrusted.

    Done here, once for both providers, so no prompt can forget it (OWASP LLM01)."""
    turns: list[tuple[Role, str]] = []
    for message in messages:
        if message.role == "visitor":
            turns.append(("user", sanitize_untrusted(message.text)))
        else:
            turns.append(("assistant", message.text))
    return turns


def seconds_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise LlmFailure("timeout", "no time left in the turn")
    return left


async def until(deadline: float, step: Callable[[], Awaitable[T]]) -> T:
    """Await one step, cancelled when the deadline passes. Each step of a stream is bounded on
    its own rather than one timeout spanning the `yield`s, which would cancel the consumer."""
    left = seconds_left(deadline)  # before the step is made, so no coroutine is left unawaited
    try:
        async with asyncio.timeout(left):
            return await step()
    except TimeoutError:
        raise LlmFailure("timeout", "the turn's deadline passed") from None


async def relay(
    events: AsyncGenerator[StreamEvent, None], on_delta: Callable[[str], Awaitable[None]]
) -> StreamDone:
    """Pass each delta on (to a widget socket, say) and return the final event."""
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, TextDelta):
                await on_delta(event.text)
            else:
                return event
    raise LlmFailure("malformed", "the stream ended without its final event")
