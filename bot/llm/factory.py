"""The configured provider's client. Its SDK is imported here, on first use, so leadbot without
LLM mode never loads langchain-openai or anthropic."""

from __future__ import annotations

from bot.llm.client import LlmClient
from bot.llm.config import LlmConfig


def open_client(config: LlmConfig) -> LlmClient:
    """A client for `config`; close it with `await client.aclose()` when the app stops."""
    if config.provider == "openai":
        from bot.llm.openai_client import OpenAIClient

        return OpenAIClient(config)
    from bot.llm.anthropic_client import AnthropicClient

    return AnthropicClient(config)
