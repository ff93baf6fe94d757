"""Server secrets: from the environment, or generated once and kept in the data dir.

The admin API token (LEADBOT_API_TOKEN) and the key that signs attachment links
(LEADBOT_ATTACHMENT_SECRET) are kept the same way; several processes sharing one database
need the same values, so set them in the environment there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import Settings

TOKEN_FILE = "api_token"
ATTACHMENT_SECRET_FILE = "attachment_secret"


def kept_secret(given: str | None, data_dir: Path, filename: str) -> tuple[str, Path | None]:
    """`given`, or the secret kept in `data_dir/filename` (created on first use).

    Returns the secret and the file it is kept in (None when it was given)."""
    if given:
        return given, None
    path = data_dir / filename
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), path
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # Created readable by the owner only; O_EXCL so two processes starting together agree.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), path
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token, path


def api_token(settings: Settings) -> tuple[str, Path | None]:
    """The token and the file it is kept in (None when it comes from the environment)."""
    return kept_secret(settings.api_token, settings.data_dir, TOKEN_FILE)


def attachment_secret(settings: Settings) -> str:
    """The key of the HMAC that signs attachment links given to visitors and to Twilio."""
    return kept_secret(settings.attachment_secret, settings.data_dir, ATTACHMENT_SECRET_FILE)[0]
