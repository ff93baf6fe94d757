"""Settings come from an injected environment, with defaults and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_need_nothing_from_the_environment() -> None:
    settings = Settings.from_env({"HOME": "/home/ada"})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.embedded and settings.mongodb_uri is None
    assert settings.data_dir == Path("/home/ada/.local/share/leadbot")
    assert settings.api_token is None and settings.allowed_origins == frozenset()
    assert settings.max_message_chars == 4000


def test_values_are_read_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "XDG_DATA_HOME": "/xdg",
            "LEADBOT_PORT": "9000",
            "MONGODB_URI": "mongodb://db:27017",
            "LEADBOT_ALLOWED_ORIGINS": " https://a.example/ ,https://b.example,, ",
            "LEADBOT_PUBLIC_URL": "https://chat.example/",
            "LEADBOT_SNAPSHOT_SECONDS": "0.5",
        }
    )
    assert settings.port == 9000 and not settings.embedded
    assert settings.data_dir == Path("/xdg/leadbot")
    assert settings.allowed_origins == {"https://a.example", "https://b.example"}
    assert settings.public_url == "https://chat.example" and settings.snapshot_seconds == 0.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADBOT_PORT", "eighty", "LEADBOT_PORT must be a whole number, got 'eighty'"),
        ("LEADBOT_PORT", "70000", "LEADBOT_PORT must be between 0 and 65535, got 70000"),
        ("LEADBOT_MAX_MESSAGE_CHARS", "0", "LEADBOT_MAX_MESSAGE_CHARS must be between 1"),
        ("LEADBOT_SNAPSHOT_SECONDS", "soon", "LEADBOT_SNAPSHOT_SECONDS must be a number, got 'soon'"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({name: value})
    assert str(bad.value).startswith(message)
