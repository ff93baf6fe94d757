"""Where the shipped flows and widget files are, in a checkout and in an installed package.

In the repository they sit at the top (`flows/`, `widget/`); `pip install .` ships them
inside the package as `bot/_flows` and `bot/_widget` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _asset_dir(top_level: str, installed: str) -> Path:
    in_checkout = _CHECKOUT / top_level
    if in_checkout.is_dir() and (_CHECKOUT / "pyproject.toml").is_file():
        return in_checkout
    return _PACKAGE / installed


def flows_dir() -> Path:
    return _asset_dir("flows", "_flows")


def widget_dir() -> Path:
    return _asset_dir("widget", "_widget")
