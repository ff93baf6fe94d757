"""The admin API token: from LEADBOT_API_TOKEN, or generated once and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import Settings

TOKEN_FILE = "api_token"


def api_token(settings: Settings) -> tuple[str, Path | None]:
    """The token and the file it is kept in (None when it comes from the environment)."""
    if settings.api_token:
        return settings.api_token, None
    path = settings.data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), path
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # Created readable by the owner only; O_EXCL so two processes starting together agree.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), path
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token, path
