"""OpenAI, and OpenAI-compatible servers (vLLM, Ollama …), through langchain-openai's ChatOpenAI.

Extraction forces the one tool (`tool_choice`) and reads its arguments; replies stream with
`astream`, usage in the last chunk (`stream_usage`). The SDK's own retries are off: the turn's
budget (budget.py) decides. Everything the SDK raises becomes an `LlmFailure`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

import httpx2
import openai
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from bot.llm.client import (
    ChatMessage,
    Proposal,
    StreamDone,
    StreamEvent,
    TextDelta,
    ToolSpec,
    provider_turns,
    until,
)
from bot.llm.config import LlmConfig
from bot.llm.failure import LlmFailure, brief, kind_for_status, retry_after
from bot.llm.schema import problem_with_args
from bot.llm.usage import Usage

# Errors that mean the answer could not be read (a broken chunk, a body without `choices`):
# langchain-openai raises these plain types when it parses a response.
_UNREADABLE = (ValueError, KeyError, TypeError)


class _ChatOpenAI(ChatOpenAI):
    """ChatOpenAI that keeps a streamed refusal: langchain-openai copies only content and tool
    calls from each delta, so without this a refusal streams as an empty reply."""

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict[Any, Any], default_chunk_class: type, base_generation_info: dict[Any, Any] | None
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        choices = chunk.get("choices") or []
        refusal = (choices[0].get("delta") or {}).get("refusal") if choices else None
        if generation is not None and refusal:
            generation.message.additional_kwargs["refusal"] = refusal
        return generation


class OpenAIClient:
    provider = "openai"

    def __init__(self, config: LlmConfig) -> None:
        self.model = config.model
        # Our own connection pool, closed by aclose(): langchain-openai otherwise shares one
        # cached client per base URL across the process and every event loop.
        self._http = openai.DefaultAsyncHttpxClient(timeout=config.turn_seconds)
        self._chat = _ChatOpenAI(
            model=config.model,
            api_key=SecretStr(config.api_key),
            base_url=config.base_url,
            timeout=config.turn_seconds,
            max_retries=0,
            max_tokens=config.max_output_tokens,
            stream_usage=True,  # off by default for a custom base URL or client
            use_responses_api=False,  # OpenAI-compatible servers speak chat completions only
            output_version="v0",  # plain string content, whatever LC_OUTPUT_VERSION says
            http_async_client=self._http,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def extract(
        self, *, system: str, messages: Sequence[ChatMessage], tool: ToolSpec, deadline: float
    ) -> Proposal:
        function = {"name": tool.name, "description": tool.description, "parameters": dict(tool.parameters)}
        spec = {"type": "function", "function": function}
        model = self._chat.bind_tools([spec], tool_choice=tool.name)
        prompt = _prompt(system, messages)
        try:
            reply = await until(deadline, lambda: model.ainvoke(prompt))
        except LlmFailure:
            raise
        except (openai.OpenAIError, httpx2.HTTPError, *_UNREADABLE) as error:
            raise _failure(error) from error
        assert isinstance(reply, AIMessage)
        usage = _usage(reply.usage_metadata)
        refusal = reply.additional_kwargs.get("refusal")
        if refusal or _filtered(reply):
            raise LlmFailure("refused", brief(refusal or "content filter"), usage=usage)
        calls = [call for call in reply.tool_calls if call["name"] == tool.name]
        if not calls:
            why = "arguments that are not JSON" if reply.invalid_tool_calls else "no call of the tool"
            raise LlmFailure("malformed", why, usage=usage)
        args = calls[0]["args"]
        problem = problem_with_args(args, tool.parameters)
        if problem is not None:
            raise LlmFailure("malformed", problem, usage=usage)
        return Proposal(dict(args), usage)

    async def stream(
        self, *, system: str, messages: Sequence[ChatMessage], deadline: float, max_tokens: int
    ) -> AsyncGenerator[StreamEvent, None]:
        # Typed as an iterator, made by an async generator: closed explicitly so an abandoned
        # stream releases its connection now rather than when collected.
        chunks = cast(
            AsyncGenerator[AIMessageChunk, None],
            self._chat.astream(_prompt(system, messages), max_tokens=max_tokens, stream_usage=True),
        )
        parts: list[str] = []
        usage = Usage()
        refused = truncated = False
        try:
            while True:
                try:
                    chunk = await until(deadline, lambda: anext(chunks))
                except StopAsyncIteration:
                    break
                except LlmFailure:
                    raise
                except (openai.OpenAIError, httpx2.HTTPError, *_UNREADABLE) as error:
                    raise _failure(error) from error
                refused = refused or bool(chunk.additional_kwargs.get("refusal")) or _filtered(chunk)
                truncated = truncated or chunk.response_metadata.get("finish_reason") == "length"
                if chunk.usage_metadata:
                    usage = _usage(chunk.usage_metadata)
                if isinstance(chunk.content, str) and chunk.content:
                    parts.append(chunk.content)
                    yield TextDelta(chunk.content)
        finally:
            await chunks.aclose()
        if refused:
            raise LlmFailure("refused", "the model refused to reply", usage=usage)
        text = "".join(parts)
        if not text.strip():
            raise LlmFailure("malformed", "the reply is empty", usage=usage)
        yield StreamDone(text, usage, truncated)


def _prompt(system: str, messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    prompt: list[BaseMessage] = [SystemMessage(system)]
    for role, text in provider_turns(messages):
        prompt.append(HumanMessage(text) if role == "user" else AIMessage(text))
    return prompt


def _usage(metadata: UsageMetadata | None) -> Usage:
    if not metadata:
        return Usage()
    return Usage(metadata.get("input_tokens", 0), metadata.get("output_tokens", 0))


def _filtered(message: AIMessage | AIMessageChunk) -> bool:
    return message.response_metadata.get("finish_reason") == "content_filter"


def _failure(error: BaseException) -> LlmFailure:
    detail = brief(error)
    if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
        return LlmFailure("timeout", detail)
    if isinstance(error, openai.APIConnectionError | httpx2.TransportError):
        return LlmFailure("connection", detail)
    if isinstance(error, openai.APIStatusError):
        code = error.code or ""
        if code == "insufficient_quota":  # a 429 that waiting does not cure: the account has no credit
            return LlmFailure("auth", detail)
        if error.status_code == 400 and code in ("content_filter", "content_policy_violation"):
            return LlmFailure("refused", detail)
        return LlmFailure(
            kind_for_status(error.status_code), detail, retry_after=retry_after(error.response.headers)
        )
    if isinstance(error, openai.APIResponseValidationError):
        return LlmFailure("malformed", detail)
    if isinstance(error, openai.APIError):  # an error event in the middle of a stream
        return LlmFailure("server", detail)
    return LlmFailure("malformed", detail)
