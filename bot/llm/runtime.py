"""LLM mode for a running server: one client per model, opened on first use, closed at stop.

A flow may name its own model (`llm.model`); every other setting comes from `LlmConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bot.llm.client import LlmClient
from bot.llm.config import LlmConfig
from bot.llm.factory import open_client


class LlmRuntime:
    def __init__(self, config: LlmConfig, opener: Callable[[LlmConfig], LlmClient] = open_client) -> None:
        self.config = config
        self._opener = opener
        self._clients: dict[str, LlmClient] = {}

    def client(self, model: str | None = None) -> LlmClient:
        name = model or self.config.model
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._opener(dataclasses.replace(self.config, model=name))
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
