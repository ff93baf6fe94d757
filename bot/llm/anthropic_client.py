"""Anthropic through its SDK's AsyncAnthropic.

Extraction forces the one tool (`tool_choice` of type "tool") and reads its `input`; replies
stream with `messages.stream`, usage and stop reason from the final message. The SDK's own
retries are off: the turn's budget (budget.py) decides. Everything it raises becomes an `LlmFailure`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

import anthropic
import httpx2
from anthropic.types import AssistantMessageParam, Message, MessageParam, ToolParam, UserMessageParam
from anthropic.types import Usage as AnthropicUsage

from bot.llm.client import (
    ChatMessage,
    Proposal,
    Role,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolSpec,
    provider_turns,
    until,
)
from bot.llm.config import LlmConfig
from bot.llm.failure import FailureKind, LlmFailure, brief, kind_for_status, retry_after
from bot.llm.schema import problem_with_args
from bot.llm.usage import Usage

# An error event inside a stream arrives with HTTP 200: its type says what happened.
_EVENT_KINDS: dict[str, FailureKind] = {
    "overloaded_error": "server",
    "api_error": "server",
    "timeout_error": "timeout",
    "rate_limit_error": "rate_limited",
    "authentication_error": "auth",
    "permission_error": "auth",
    "billing_error": "auth",
}

# Said in place of a conversation that opens with the bot: the API wants a user turn first.
CONVERSATION_START = "(The visitor opened the chat.)"


class AnthropicClient:
    provider = "anthropic"

    def __init__(self, config: LlmConfig) -> None:
        self.model = config.model
        self._max_tokens = config.max_output_tokens
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key, base_url=config.base_url, max_retries=0, timeout=config.turn_seconds
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def extract(
        self, *, system: str, messages: Sequence[ChatMessage], tool: ToolSpec, deadline: float
    ) -> Proposal:
        spec: ToolParam = {
            "name": tool.name,
            "description": tool.description,
            "input_schema": cast(dict[str, object], dict(tool.parameters)),
        }
        try:
            message = await until(
                deadline,
                lambda: self._client.messages.create(
                    model=self.model,
                    max_tokens=self._max_tokens,
                    system=system,
                    messages=_conversation(messages),
                    tools=[spec],
                    tool_choice={"type": "tool", "name": tool.name},
                ),
            )
        except LlmFailure:
            raise
        except (anthropic.AnthropicError, httpx2.HTTPError, ValueError) as error:
            raise _failure(error) from error
        usage = _usage(message.usage)
        if message.stop_reason == "refusal":
            raise LlmFailure("refused", "the model refused", usage=usage)
        calls = [block for block in message.content if block.type == "tool_use" and block.name == tool.name]
        if not calls:
            raise LlmFailure("malformed", f"no tool call (stop reason {message.stop_reason})", usage=usage)
        args: Any = calls[0].input
        problem = problem_with_args(args, tool.parameters)
        if problem is not None:
            raise LlmFailure("malformed", problem, usage=usage)
        return Proposal(dict(args), usage)

    async def stream(
        self, *, system: str, messages: Sequence[ChatMessage], deadline: float, max_tokens: int
    ) -> AsyncGenerator[StreamEvent, None]:
        manager = self._client.messages.stream(
            model=self.model, max_tokens=max_tokens, system=system, messages=_conversation(messages)
        )
        parts: list[str] = []
        final: Message | None = None
        try:
            try:
                events = await until(deadline, manager.__aenter__)
                while True:
                    try:
                        event = await until(deadline, lambda: anext(events))
                    except StopAsyncIteration:
                        break
                    if event.type == "text" and event.text:
                        parts.append(event.text)
                        yield TextDelta(event.text)
                    elif event.type == "message_stop":
                        final = event.message
            except LlmFailure:
                raise
            except (anthropic.AnthropicError, httpx2.HTTPError, ValueError) as error:
                raise _failure(error) from error
        finally:
            await manager.__aexit__(None, None, None)
        if final is None:
            raise LlmFailure("malformed", "the stream ended before message_stop")
        usage = _usage(final.usage)
        if final.stop_reason == "refusal":
            raise LlmFailure("refused", "the model refused", usage=usage)
        text = "".join(parts)
        if not text.strip():
            raise LlmFailure("malformed", "the reply is empty", usage=usage)
        yield StreamDone(text, usage, truncated=final.stop_reason == "max_tokens")


def _conversation(messages: Sequence[ChatMessage]) -> list[MessageParam]:
    """User and assistant turns alternating, a user turn first, as the Messages API wants:
    consecutive messages of one side are joined."""
    merged: list[tuple[Role, str]] = []
    for role, text in provider_turns(messages):
        if merged and merged[-1][0] == role:
            merged[-1] = (role, f"{merged[-1][1]}\n\n{text}")
        else:
            merged.append((role, text))
    if not merged or merged[0][0] != "user":
        merged.insert(0, ("user", CONVERSATION_START))
    turns: list[MessageParam] = []
    for role, text in merged:
        if role == "user":
            turns.append(UserMessageParam(role="user", content=text))
        else:
            turns.append(AssistantMessageParam(role="assistant", content=text))
    return turns


def _usage(usage: AnthropicUsage) -> Usage:
    return Usage(usage.input_tokens or 0, usage.output_tokens or 0)


def _failure(error: BaseException) -> LlmFailure:
    detail = brief(error)
    if isinstance(error, anthropic.APITimeoutError | httpx2.TimeoutException):
        return LlmFailure("timeout", detail)
    if isinstance(error, anthropic.APIConnectionError | httpx2.TransportError):
        return LlmFailure("connection", detail)
    if isinstance(error, anthropic.APIStatusError):
        if error.status_code < 400:
            return LlmFailure(_EVENT_KINDS.get(str(error.type or ""), "rejected"), detail)
        return LlmFailure(
            kind_for_status(error.status_code), detail, retry_after=retry_after(error.response.headers)
        )
    if isinstance(error, anthropic.APIResponseValidationError):
        return LlmFailure("malformed", detail)
    if isinstance(error, anthropic.APIError):
        return LlmFailure("server", detail)
    return LlmFailure("malformed", detail)  # a tool's input that is not JSON, a broken event
