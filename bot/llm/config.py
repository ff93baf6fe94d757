"""LLM mode's settings, read from an injected environment mapping (docs/llm.md).

`LlmConfig.from_env` returns None when LLM mode is off: the bot then runs exactly as without
it. Every value is checked here, so a typo fails at start with the variable's name, not at the
first visitor message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.llm.usage import Prices
from bot.settings import SettingsError

Provider = Literal["openai", "anthropic"]


@dataclass(frozen=True)
class _Defaults:
    key_variable: str
    url_variable: str
    base_url: str
    model: str
    prices: Prices  # for `model`, in USD per million tokens, as published when this was written


DEFAULTS: dict[Provider, _Defaults] = {
    "openai": _Defaults(
        key_variable="OPENAI_API_KEY",
        url_variable="OPENAI_BASE_URL",
        base_url="https://api.openai.com/v1",
        model="gpt-4o-mini",
        prices=Prices(0.15, 0.60),
    ),
    "anthropic": _Defaults(
        key_variable="ANTHROPIC_API_KEY",
        url_variable="ANTHROPIC_BASE_URL",
        base_url="https://api.anthropic.com",
        model="claude-haiku-4-5",
        prices=Prices(1.00, 5.00),
    ),
}


@dataclass(frozen=True)
class LlmConfig:
    provider: Provider
    api_key: str = field(repr=False)
    # Always explicit: left unset, both SDKs would read their own variables from os.environ.
    base_url: str
    model: str
    turn_seconds: float = 8.0  # a turn's time for every model call and retry, then the offline path
    max_output_tokens: int = 300
    prices: Prices = field(default_factory=Prices)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LlmConfig | None:
        provider = _provider(environ)
        if provider is None:
            return None
        defaults = DEFAULTS[provider]
        api_key = (environ.get(defaults.key_variable) or "").strip()
        if not api_key:
            raise SettingsError(
                f"LEADBOT_LLM={provider} needs {defaults.key_variable} "
                "(any placeholder will do for a local server that takes no key)"
            )
        model = (environ.get("LEADBOT_LLM_MODEL") or "").strip() or defaults.model
        # The default prices are the default model's; another model's are unknown until given.
        known = defaults.prices if model == defaults.model else Prices()
        return cls(
            provider=provider,
            api_key=api_key,
            base_url=_url(defaults.url_variable, environ.get(defaults.url_variable)) or defaults.base_url,
            model=model,
            turn_seconds=_number(environ, "LEADBOT_LLM_TURN_SECONDS", 8.0, 0.1, 120.0),
            max_output_tokens=int(
                _number(environ, "LEADBOT_LLM_MAX_OUTPUT_TOKENS", 300, 16, 32_000, whole=True)
            ),
            prices=Prices(
                _number(environ, "LEADBOT_LLM_PRICE_INPUT", known.input_per_million, 0.0, 10_000.0),
                _number(environ, "LEADBOT_LLM_PRICE_OUTPUT", known.output_per_million, 0.0, 10_000.0),
            ),
        )


def _provider(environ: Mapping[str, str]) -> Provider | None:
    raw = (environ.get("LEADBOT_LLM") or "").strip().lower()
    if raw == "off":
        return None
    for provider in DEFAULTS:
        if raw == provider:
            return provider
    if raw:
        raise SettingsError(f"LEADBOT_LLM must be openai, anthropic or off, got {raw!r}")
    # Unset: on when a key is there; with both keys, OpenAI (say LEADBOT_LLM to choose).
    for provider in DEFAULTS:  # openai first
        if (environ.get(DEFAULTS[provider].key_variable) or "").strip():
            return provider
    return None


def _number(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float, *, whole: bool = False
) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        what = "a whole number" if whole else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def _url(name: str, raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"https?://[^/?#\s]+(?:/[^?#\s]*)?", value):
        raise SettingsError(f"{name} must be an http(s) URL such as http://127.0.0.1:11434/v1, got {value!r}")
    return value.rstrip("/")
