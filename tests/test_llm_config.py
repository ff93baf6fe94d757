"""LLM mode's settings: off unless asked for or a key is there, defaults per provider, and a
clear message naming the variable for every value that cannot be used."""

from __future__ import annotations

import pytest

from bot.llm.config import LlmConfig
from bot.llm.usage import Prices
from bot.settings import SettingsError

OPENAI = {"OPENAI_API_KEY": "sk-openai"}
ANTHROPIC = {"ANTHROPIC_API_KEY": "sk-ant"}


def test_off_without_a_key_or_when_switched_off() -> None:
    assert LlmConfig.from_env({}) is None
    assert LlmConfig.from_env({"LEADBOT_LLM": "off", **OPENAI, **ANTHROPIC}) is None
    assert LlmConfig.from_env({"LEADBOT_LLM": " OFF ", **OPENAI}) is None
    assert LlmConfig.from_env({"OPENAI_API_KEY": "  "}) is None  # a blank key is no key


def test_openai_defaults_when_its_key_is_set() -> None:
    config = LlmConfig.from_env(OPENAI)
    assert config == LlmConfig(
        provider="openai",
        api_key="sk-openai",
        base_url="https://api.openai.com/v1",
        model="gpt-4o-mini",
        turn_seconds=8.0,
        max_output_tokens=300,
        prices=Prices(0.15, 0.60),
    )
    assert "sk-openai" not in repr(config)


def test_anthropic_defaults_when_its_key_is_set() -> None:
    config = LlmConfig.from_env(ANTHROPIC)
    assert config is not None
    assert (config.provider, config.model, config.base_url) == (
        "anthropic",
        "claude-haiku-4-5",
        "https://api.anthropic.com",
    )
    assert config.prices == Prices(1.0, 5.0)


def test_both_keys_choose_openai_unless_told() -> None:
    both = {**OPENAI, **ANTHROPIC}
    assert (config := LlmConfig.from_env(both)) is not None and config.provider == "openai"
    chosen = LlmConfig.from_env({**both, "LEADBOT_LLM": "Anthropic"})
    assert chosen is not None and chosen.provider == "anthropic" and chosen.api_key == "sk-ant"


def test_a_local_openai_compatible_server() -> None:
    config = LlmConfig.from_env(
        {
            **OPENAI,
            "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1/",
            "LEADBOT_LLM_MODEL": "llama3.1:8b",
            "LEADBOT_LLM_TURN_SECONDS": "4.5",
            "LEADBOT_LLM_MAX_OUTPUT_TOKENS": "200",
        }
    )
    assert config is not None
    assert config.base_url == "http://127.0.0.1:11434/v1"
    assert (config.model, config.turn_seconds, config.max_output_tokens) == ("llama3.1:8b", 4.5, 200)
    assert config.prices == Prices(0.0, 0.0)  # another model's prices are unknown until given


def test_prices_as_given() -> None:
    config = LlmConfig.from_env(
        {**ANTHROPIC, "LEADBOT_LLM_PRICE_INPUT": "3", "LEADBOT_LLM_PRICE_OUTPUT": "15.5"}
    )
    assert config is not None and config.prices == Prices(3.0, 15.5)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LEADBOT_LLM": "openai"}, "OPENAI_API_KEY"),
        ({"LEADBOT_LLM": "anthropic", **OPENAI}, "ANTHROPIC_API_KEY"),
        ({"LEADBOT_LLM": "gemini", **OPENAI}, "LEADBOT_LLM"),
        ({**OPENAI, "LEADBOT_LLM_TURN_SECONDS": "fast"}, "LEADBOT_LLM_TURN_SECONDS"),
        ({**OPENAI, "LEADBOT_LLM_TURN_SECONDS": "0"}, "LEADBOT_LLM_TURN_SECONDS"),
        ({**OPENAI, "LEADBOT_LLM_TURN_SECONDS": "nan"}, "LEADBOT_LLM_TURN_SECONDS"),
        ({**OPENAI, "LEADBOT_LLM_MAX_OUTPUT_TOKENS": "2.5"}, "LEADBOT_LLM_MAX_OUTPUT_TOKENS"),
        ({**OPENAI, "LEADBOT_LLM_MAX_OUTPUT_TOKENS": "1000000"}, "LEADBOT_LLM_MAX_OUTPUT_TOKENS"),
        ({**OPENAI, "LEADBOT_LLM_PRICE_INPUT": "-1"}, "LEADBOT_LLM_PRICE_INPUT"),
        ({**OPENAI, "LEADBOT_LLM_PRICE_OUTPUT": "$5"}, "LEADBOT_LLM_PRICE_OUTPUT"),
        ({**OPENAI, "OPENAI_BASE_URL": "localhost:11434"}, "OPENAI_BASE_URL"),
        ({**ANTHROPIC, "ANTHROPIC_BASE_URL": "ftp://proxy"}, "ANTHROPIC_BASE_URL"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        LlmConfig.from_env(env)
    assert issubclass(SettingsError, ValueError)


def test_the_other_providers_url_is_not_read() -> None:
    config = LlmConfig.from_env({**OPENAI, "ANTHROPIC_BASE_URL": "not a url"})
    assert config is not None and config.base_url == "https://api.openai.com/v1"
