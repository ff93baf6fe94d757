"""Configuration read from an injected environment mapping, never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _number(environ: Mapping[str, str], name: str, default: N, low: N, high: N, kind: type[N]) -> N:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _origins(raw: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", ".")) / ".local" / "share")
    return Path(base) / "leadbot"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: Path(".leadbot"))
    mongodb_uri: str | None = None  # None → the embedded store under data_dir
    database: str = "leadbot"
    api_token: str | None = None  # None → generated once and kept in data_dir
    allowed_origins: frozenset[str] = frozenset()
    flows_dir: Path | None = None  # None → the flows shipped with the package
    default_flow: str = "default"
    max_message_chars: int = 4000
    snapshot_seconds: float = 2.0  # embedded store: how often unsaved changes are written to disk
    public_url: str | None = None
    session_idle_hours: float = 8.0  # an inbox session ends after this long unused …
    session_max_days: float = 7.0  # … and after this long in any case
    offer_timeout_seconds: float = 60.0  # an agent has this long to accept an offered conversation

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = env.get("LEADBOT_DATA_DIR")
        flows_dir = env.get("LEADBOT_FLOWS_DIR")
        return cls(
            host=env.get("LEADBOT_HOST", "127.0.0.1"),
            port=_number(env, "LEADBOT_PORT", 8080, 0, 65535, int),
            data_dir=Path(data_dir) if data_dir else _default_data_dir(env),
            mongodb_uri=env.get("MONGODB_URI") or None,
            database=env.get("LEADBOT_DATABASE", "leadbot"),
            api_token=env.get("LEADBOT_API_TOKEN") or None,
            allowed_origins=_origins(env.get("LEADBOT_ALLOWED_ORIGINS", "")),
            flows_dir=Path(flows_dir) if flows_dir else None,
            default_flow=env.get("LEADBOT_DEFAULT_FLOW", "default"),
            max_message_chars=_number(env, "LEADBOT_MAX_MESSAGE_CHARS", 4000, 1, 100_000, int),
            snapshot_seconds=_number(env, "LEADBOT_SNAPSHOT_SECONDS", 2.0, 0.05, 3600.0, float),
            public_url=(env.get("LEADBOT_PUBLIC_URL") or "").rstrip("/") or None,
            session_idle_hours=_number(env, "LEADBOT_SESSION_IDLE_HOURS", 8.0, 0.01, 24.0 * 30, float),
            session_max_days=_number(env, "LEADBOT_SESSION_MAX_DAYS", 7.0, 0.01, 365.0, float),
            offer_timeout_seconds=_number(env, "LEADBOT_OFFER_TIMEOUT", 60.0, 1.0, 3600.0, float),
        )

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None
