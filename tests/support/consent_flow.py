"""A flows directory whose default flow asks for consent in the widget (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.assets import flows_dir

CONSENT_TEXT = "We keep this chat to answer you. How we use it: https://example.com/privacy"


def consent_flows(directory: Path, *, required: bool, text: str = CONSENT_TEXT) -> Path:
    """`directory` with the shipped default flow plus a `consent` section; for LEADBOT_FLOWS_DIR."""
    flow: dict[str, Any] = yaml.safe_load((flows_dir() / "default.yaml").read_text(encoding="utf-8"))
    flow["consent"] = {"text": text, "required": required, "button": "I agree"}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "default.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True), encoding="utf-8")
    return directory
