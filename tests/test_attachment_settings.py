"""The attachment limits: defaults, overrides, and refusals that name the variable."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_ATTACHMENT_TYPES, Settings, SettingsError


def test_defaults_are_ten_megabytes_of_pictures_pdfs_and_text() -> None:
    settings = Settings.from_env({})
    assert settings.attachment_max_bytes == 10 * 1024 * 1024
    assert settings.attachment_types == DEFAULT_ATTACHMENT_TYPES
    assert "image/svg+xml" not in settings.attachment_types


def test_types_and_size_are_configurable() -> None:
    settings = Settings.from_env(
        {"LEADBOT_ATTACHMENT_TYPES": " Image/PNG, application/pdf ", "LEADBOT_ATTACHMENT_MAX_BYTES": "2048"}
    )
    assert settings.attachment_types == frozenset({"image/png", "application/pdf"})
    assert settings.attachment_max_bytes == 2048


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LEADBOT_ATTACHMENT_TYPES": "png"}, "LEADBOT_ATTACHMENT_TYPES"),
        ({"LEADBOT_ATTACHMENT_MAX_BYTES": str(16 * 1024 * 1024)}, "LEADBOT_ATTACHMENT_MAX_BYTES"),
        ({"LEADBOT_ATTACHMENT_MAX_BYTES": "lots"}, "LEADBOT_ATTACHMENT_MAX_BYTES"),
    ],
)
def test_unusable_values_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_link_secret_stays_out_of_the_repr() -> None:
    assert "s3cret" not in repr(Settings.from_env({"LEADBOT_ATTACHMENT_SECRET": "s3cret"}))
