"""Prometheus metrics, on a registry of the app's own (no process-wide state), at `/metrics`.

Served without a token unless LEADBOT_METRICS_TOKEN is set; the numbers hold no personal data,
but keep the endpoint off the public internet all the same.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from bot import keys


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.llm_attempts = Counter(
            "leadbot_llm_attempts", "Model calls made, retries included", ["provider", "model"], registry=r
        )
        self.llm_failures = Counter(
            "leadbot_llm_failures", "Model calls that failed, by kind", ["provider", "kind"], registry=r
        )
        self.llm_tokens = Counter(
            "leadbot_llm_tokens", "Tokens the provider reported", ["provider", "direction"], registry=r
        )
        self.llm_cost = Counter("leadbot_llm_cost_usd", "Model cost in US dollars", ["provider"], registry=r)
        self.llm_outcomes = Counter(
            "leadbot_llm_outcomes",
            "What LLM mode did in a turn: extracted, written, blocked, fell back …",
            ["outcome"],
            registry=r,
        )
        self.llm_seconds = Histogram(
            "leadbot_llm_turn_seconds",
            "Time a turn spent in model calls",
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16),
            registry=r,
        )

    def observe_llm(
        self, provider: str, model: str, summary: Mapping[str, Any], events: Sequence[str]
    ) -> None:
        self.llm_attempts.labels(provider, model).inc(summary["attempts"])
        for kind in summary["failures"]:
            self.llm_failures.labels(provider, kind).inc()
        self.llm_tokens.labels(provider, "input").inc(summary["input_tokens"])
        self.llm_tokens.labels(provider, "output").inc(summary["output_tokens"])
        self.llm_cost.labels(provider).inc(summary["cost_usd"])
        self.llm_seconds.observe(summary["seconds"])
        for event in events:
            self.llm_outcomes.labels(event.split(":", 1)[0]).inc()


async def metrics_page(request: web.Request) -> web.Response:
    token = request.config_dict[keys.SETTINGS].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response(
                {"error": "unauthorized", "message": "send 'Authorization: Bearer <LEADBOT_METRICS_TOKEN>'"},
                status=401,
            )
    body = generate_latest(request.config_dict[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
