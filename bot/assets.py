"""Where the shipped flows and widget files are, in a checkout and in an installed package.

In the repository they sit at the top (`flows/`, `widget/`); `pip install .` ships them as
`bot/_flows` and `bot/_widget` (see pyproject.toml), so look for the checkout first.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _asset_dir(top_level: str, package: str) -> Path:
    in_checkout = _CHECKOUT / top_level
    if in_checkout.is_dir() and (_CHECKOUT / "pyproject.toml").is_file():
        return in_checkout
    return Path(str(resources.files(package)))


def flows_dir() -> Path:
    return _asset_dir("flows", "bot._flows")


def widget_dir() -> Path:
    return _asset_dir("widget", "bot._widget")
