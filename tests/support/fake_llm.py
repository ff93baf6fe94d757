"""OpenAI and Anthropic, played on 127.0.0.1, scripted per test.

`FakeOpenAI` serves `/v1/chat/completions` and `FakeAnthropic` serves `/v1/messages`, in JSON
and as server-sent events, close enough to the real APIs that the real SDK clients (through
langchain-openai, and anthropic's AsyncAnthropic) parse them. A test queues what the next
requests get (`then(...)`): a tool call, a text reply (streamed in the chunks given), an HTTP
error, a hang until released, malformed tool arguments, a refusal, an error event mid-stream.
Every request is recorded (`requests`), so a test can look at the prompt, model, tools, limits.

Both check the API key as the providers do; `release()` (called by the fixtures at teardown)
lets every hang and stall finish, so no handler outlives its test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.llm.client import LlmClient
from bot.llm.config import LlmConfig
from bot.llm.factory import open_client

API_KEY = "sk-test-leadbot"

# ------------------------------------------------------------------------------ script steps


@dataclass(frozen=True)
class ToolCall:
    """The model calls the tool (the request's first tool unless `name`), with `args`, or with
    `raw_args` sent verbatim as the arguments' JSON text (malformed on purpose)."""

    args: dict[str, Any] = field(default_factory=dict)
    raw_args: str | None = None
    name: str | None = None
    input_tokens: int = 120
    output_tokens: int = 30

    @property
    def arguments(self) -> str:
        return self.raw_args if self.raw_args is not None else json.dumps(self.args)


@dataclass(frozen=True)
class Reply:
    """A text reply, sent in these chunks when streamed (joined otherwise). `stall_after`:
    stop after that many chunks until released. `error_after`: an error event after that many
    chunks (Anthropic's `error` event, OpenAI's `{"error": …}` chunk). `truncated`: it ends at
    the token limit."""

    chunks: tuple[str, ...]
    input_tokens: int = 90
    output_tokens: int = 12
    stall_after: int | None = None
    error_after: int | None = None
    truncated: bool = False

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass(frozen=True)
class Refusal:
    """The model declines. OpenAI: a `refusal` field, or with `content_filter` the
    `content_filter` finish reason; Anthropic: stop reason `refusal`."""

    text: str = "I'm sorry, I can't help with that."
    content_filter: bool = False
    input_tokens: int = 80
    output_tokens: int = 9


@dataclass(frozen=True)
class HttpError:
    status: int
    retry_after: str | None = None
    message: str = "scripted failure"


@dataclass(frozen=True)
class Hang:
    """No answer until `until` is set (the fake's own release event by default)."""

    until: asyncio.Event | None = None


Step = ToolCall | Reply | Refusal | HttpError | Hang


def reply(*chunks: str, **options: Any) -> Reply:
    return Reply(tuple(chunks), **options)


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


# ------------------------------------------------------------------------------ shared


@dataclass
class _FakeLlm:
    api_key: str = API_KEY
    script: deque[Step] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    unscripted: int = 0  # requests that found the script empty (answered 500)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        raise NotImplementedError

    def then(self, *steps: Step) -> Self:
        self.script.extend(steps)
        return self

    def release(self) -> None:
        self._released.set()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    async def _record(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json()
        self.requests.append(Recorded(request.path, dict(request.headers), body))
        return body

    def _next_step(self) -> Step | None:
        if not self.script:
            self.unscripted += 1
            return None
        return self.script.popleft()

    async def _hang(self, step: Hang) -> None:
        await (step.until or self._released).wait()

    async def _sse(
        self, request: web.Request, send: Callable[[SseWriter], Awaitable[None]]
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await send(SseWriter(response))
        await response.write_eof()
        return response

    def _stalled(self, chunk_index: int, step: Reply) -> bool:
        return step.stall_after is not None and chunk_index == step.stall_after


@dataclass
class SseWriter:
    response: web.StreamResponse

    async def data(self, payload: dict[str, Any] | str, event: str | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        prefix = f"event: {event}\n" if event else ""
        await self.response.write(f"{prefix}data: {text}\n\n".encode())


def _pieces(text: str, count: int = 3) -> list[str]:
    """A JSON text cut in a few pieces, as tool arguments stream."""
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


async def start(fake: _FakeLlm, aiohttp_server: Callable[..., Awaitable[TestServer]]) -> str:
    """Serve `fake` on 127.0.0.1; its base URL as the SDK wants it (OpenAI's ends in /v1)."""
    server = await aiohttp_server(fake.app())
    base = str(server.make_url("")).rstrip("/")
    return f"{base}/v1" if isinstance(fake, FakeOpenAI) else base


# ------------------------------------------------------------------------------ OpenAI


@dataclass
class FakeOpenAI(_FakeLlm):
    model_echo: str | None = None  # the model named in answers; the request's by default

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        return app

    def _error(
        self, status: int, message: str, *, code: str | None = None, retry_after: str | None = None
    ) -> web.Response:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
        headers = {"x-request-id": f"req_{next(self._ids)}"}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return web.json_response(body, status=status, headers=headers)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided.", code="invalid_api_key")
        step = self._next_step()
        if step is None:
            return self._error(500, "nothing scripted for this request")
        if isinstance(step, Hang):
            await self._hang(step)
            return self._error(504, "released after a hang")
        if isinstance(step, HttpError):
            return self._error(step.status, step.message, retry_after=step.retry_after)
        if body.get("stream"):
            return await self._sse(request, lambda out: self._stream(out, body, step))
        return web.json_response(self._completion(body, step))

    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": kind,
            "created": 1_700_000_000,
            "model": self.model_echo or body.get("model", "unknown"),
            "system_fingerprint": "fp_fake",
        }

    @staticmethod
    def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }

    @staticmethod
    def _tool_name(body: dict[str, Any], step: ToolCall) -> str:
        return step.name or str(body["tools"][0]["function"]["name"])

    def _completion(self, body: dict[str, Any], step: ToolCall | Reply | Refusal) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if isinstance(step, ToolCall):
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": self._tool_name(body, step), "arguments": step.arguments},
                }
            ]
            finish = "tool_calls"
        elif isinstance(step, Reply):
            message["content"] = step.text
            finish = "length" if step.truncated else "stop"
        elif step.content_filter:
            finish = "content_filter"
        else:
            message["refusal"] = step.text
            finish = "stop"
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": self._usage(step.input_tokens, step.output_tokens),
        }

    async def _stream(self, out: SseWriter, body: dict[str, Any], step: ToolCall | Reply | Refusal) -> None:
        envelope = self._envelope(body, "chat.completion.chunk")

        async def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            await out.data({**envelope, "choices": [choice]})

        await chunk({"role": "assistant", "content": ""})
        if isinstance(step, ToolCall):
            call = {"index": 0, "id": f"call_{next(self._ids)}", "type": "function"}
            await chunk(
                {"tool_calls": [{**call, "function": {"name": self._tool_name(body, step), "arguments": ""}}]}
            )
            for piece in _pieces(step.arguments):
                await chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            finish = "tool_calls"
        elif isinstance(step, Reply):
            for i, text in enumerate(step.chunks):
                if self._stalled(i, step):
                    await self._released.wait()
                    return
                if step.error_after == i:
                    await out.data({"error": {"message": "The server had an error", "type": "server_error"}})
                    return
                await chunk({"content": text})
            finish = "length" if step.truncated else "stop"
        elif step.content_filter:
            finish = "content_filter"
        else:
            await chunk({"refusal": step.text})
            finish = "stop"
        await chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            await out.data(
                {**envelope, "choices": [], "usage": self._usage(step.input_tokens, step.output_tokens)}
            )
        await out.data("[DONE]")


# ------------------------------------------------------------------------------ Anthropic

_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
    503: "overloaded_error",
}


@dataclass
class FakeAnthropic(_FakeLlm):
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        return app

    def _error(self, status: int, message: str, *, retry_after: str | None = None) -> web.Response:
        headers = {"request-id": f"req_{next(self._ids)}"}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        kind = _ANTHROPIC_ERRORS.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return web.json_response(body, status=status, headers=headers)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        # anthropic 2.x sends the key as a Bearer token; older clients as x-api-key
        keys = {
            request.headers.get("x-api-key"),
            request.headers.get("Authorization", "").removeprefix("Bearer "),
        }
        if self.api_key not in keys:
            return self._error(401, "invalid x-api-key")
        step = self._next_step()
        if step is None:
            return self._error(500, "nothing scripted for this request")
        if isinstance(step, Hang):
            await self._hang(step)
            return self._error(529, "released after a hang")
        if isinstance(step, HttpError):
            return self._error(step.status, step.message, retry_after=step.retry_after)
        if body.get("stream"):
            return await self._sse(request, lambda out: self._stream(out, body, step))
        return web.json_response(self._message(body, step))

    def _start(self, body: dict[str, Any], input_tokens: int) -> dict[str, Any]:
        return {
            "id": f"msg_{next(self._ids):024d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "unknown"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }

    @staticmethod
    def _tool_name(body: dict[str, Any], step: ToolCall) -> str:
        return step.name or str(body["tools"][0]["name"])

    @staticmethod
    def _input(step: ToolCall) -> Any:
        try:
            return json.loads(step.arguments)
        except ValueError:
            return step.arguments  # what a broken proxy might pass on: a string, not an object

    def _message(self, body: dict[str, Any], step: ToolCall | Reply | Refusal) -> dict[str, Any]:
        message = self._start(body, step.input_tokens)
        if isinstance(step, ToolCall):
            block = {
                "type": "tool_use",
                "id": f"toolu_{next(self._ids)}",
                "name": self._tool_name(body, step),
            }
            message["content"] = [{**block, "input": self._input(step)}]
            message["stop_reason"] = "tool_use"
        elif isinstance(step, Reply):
            message["content"] = [{"type": "text", "text": step.text}]
            message["stop_reason"] = "max_tokens" if step.truncated else "end_turn"
        else:
            message["stop_reason"] = "refusal"
        message["usage"] = {"input_tokens": step.input_tokens, "output_tokens": step.output_tokens}
        return message

    async def _stream(self, out: SseWriter, body: dict[str, Any], step: ToolCall | Reply | Refusal) -> None:
        async def event(kind: str, **payload: Any) -> None:
            await out.data({"type": kind, **payload}, event=kind)

        await event("message_start", message=self._start(body, step.input_tokens))
        await event("ping")
        stop = "end_turn"
        if isinstance(step, ToolCall):
            block = {
                "type": "tool_use",
                "id": f"toolu_{next(self._ids)}",
                "name": self._tool_name(body, step),
            }
            await event("content_block_start", index=0, content_block={**block, "input": {}})
            for piece in _pieces(step.arguments):
                await event(
                    "content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": piece}
                )
            await event("content_block_stop", index=0)
            stop = "tool_use"
        elif isinstance(step, Reply):
            await event("content_block_start", index=0, content_block={"type": "text", "text": ""})
            for i, text in enumerate(step.chunks):
                if self._stalled(i, step):
                    await self._released.wait()
                    return
                if step.error_after == i:
                    error = {"type": "overloaded_error", "message": "Overloaded"}
                    await out.data({"type": "error", "error": error}, event="error")
                    return
                await event("content_block_delta", index=0, delta={"type": "text_delta", "text": text})
            await event("content_block_stop", index=0)
            stop = "max_tokens" if step.truncated else "end_turn"
        else:
            stop = "refusal"
        await event(
            "message_delta",
            delta={"stop_reason": stop, "stop_sequence": None},
            usage={"output_tokens": step.output_tokens},
        )
        await event("message_stop")


# ------------------------------------------------------------------------------ a rig per test

KEY_VARIABLES = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
}


@dataclass
class Rig:
    """A provider's fake, and leadbot's real client for it, configured as from the environment."""

    provider: str
    fake: FakeOpenAI | FakeAnthropic
    config: LlmConfig
    client: LlmClient


@asynccontextmanager
async def open_rig(
    provider: str, aiohttp_server: Callable[..., Awaitable[TestServer]], **env: str
) -> AsyncIterator[Rig]:
    fake: FakeOpenAI | FakeAnthropic = FakeOpenAI() if provider == "openai" else FakeAnthropic()
    key_variable, url_variable = KEY_VARIABLES[provider]
    url = await start(fake, aiohttp_server)
    config = LlmConfig.from_env({"LEADBOT_LLM": provider, key_variable: API_KEY, url_variable: url, **env})
    assert config is not None
    client = open_client(config)
    try:
        yield Rig(provider, fake, config, client)
    finally:
        fake.release()
        await client.aclose()
