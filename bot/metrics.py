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
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot import keys


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turn_seconds = Histogram(
            "leadbot_turn_seconds",
            "Time from a visitor message to the bot's reply being stored, per turn",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16),
            registry=r,
        )
        self.duplicates = Counter(
            "leadbot_duplicate_messages",
            "Inbound messages recognised as already stored (widget resends, provider webhook retries)",
            ["channel"],
            registry=r,
        )
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


class AppState(Collector):
    """What is open right now, read when Prometheus scrapes: sockets, the queue, offers."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Any:
        sockets = GaugeMetricFamily("leadbot_sockets_open", "Open widget and inbox sockets on this process")
        sockets.add_metric([], len(self._app.get(keys.SOCKETS, ())))
        yield sockets
        waiting = GaugeMetricFamily(
            "leadbot_queue_waiting", "Conversations waiting for a person, by team", labels=["team"]
        )
        offers = GaugeMetricFamily("leadbot_offers_open", "Conversations offered to an agent right now")
        handoffs = self._app.get(keys.HANDOFFS)
        teams: dict[str, int] = {}
        offered = 0
        if handoffs is not None:
            for entry in handoffs.dispatcher.waiting():
                teams[entry.team] = teams.get(entry.team, 0) + 1
                offered += entry.offer is not None
        for team, count in sorted(teams.items()):
            waiting.add_metric([team], count)
        offers.add_metric([], offered)
        yield waiting
        yield offers


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
