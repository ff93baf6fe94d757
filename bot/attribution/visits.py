"""The widget's `visit` frame: where a visit came from (docs/protocol.md, "Visits").

Reading it is pure: a frame becomes a `Visit` or a `FrameError` (`bad_frame`), which the
socket answers with an `error` frame while staying open.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from bot.frames import FrameError

MAX_VISIT_ID: Final = 100
MAX_UTM: Final = 200
MAX_URL: Final = 2000
# The widget keeps visits for 30 days; older ones are refused, whatever a client says.
MAX_AGE: Final = timedelta(days=90)
UTM_FIELDS: Final = ("source", "medium", "campaign", "term", "content")
DIRECT: Final = "direct"


@dataclass(frozen=True)
class Visit:
    id: str
    age: timedelta  # how long ago the visit began (the client's own clock; no offset matters)
    utm: Mapping[str, str | None]  # the five UTM fields, None when absent
    referrer: str | None
    landing_page: str

    @property
    def source(self) -> str:
        """utm_source, else the referrer's host (another site's), else "direct"."""
        if self.utm["source"]:
            return self.utm["source"]
        referrer_host = urlsplit(self.referrer).hostname if self.referrer else None
        if referrer_host and referrer_host != urlsplit(self.landing_page).hostname:
            return referrer_host
        return DIRECT


def _bad(message: str) -> FrameError:
    return FrameError("bad_frame", f"visit: {message}")


def _text(frame: Mapping[str, Any], name: str, limit: int) -> str | None:
    """An optional string field: trimmed, None when absent or empty, refused when too long."""
    value = frame.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string or null")
    value = value.strip()
    if len(value) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return value or None


def _url(value: str | None, name: str, *, web_only: bool) -> str | None:
    """An absolute URL without its fragment (it never reaches a server, and can hold secrets)."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise _bad(f"{name} is not a URL") from None
    if not parts.scheme or not host or (web_only and parts.scheme not in ("http", "https")):
        kind = "an http(s) URL" if web_only else "an absolute URL"
        raise _bad(f"{name} must be {kind}")
    return urlunsplit(parts._replace(fragment=""))


def _id(frame: Mapping[str, Any]) -> str:
    value = frame.get("id")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VISIT_ID:
        raise _bad(f"id must be a string of 1 to {MAX_VISIT_ID} characters")
    return value


def _age(frame: Mapping[str, Any]) -> timedelta:
    value = frame.get("age", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad("age must be a number of seconds")
    limit = int(MAX_AGE.total_seconds())
    if not 0 <= value <= limit:
        raise _bad(f"age must be between 0 and {limit} seconds")
    return timedelta(seconds=value)


def _utm(frame: Mapping[str, Any]) -> dict[str, str | None]:
    given = frame.get("utm") or {}
    if not isinstance(given, dict):
        raise _bad("utm must be an object")
    return {name: _text(given, name, MAX_UTM) for name in UTM_FIELDS}


def read_visit(frame: Mapping[str, Any]) -> Visit:
    """The visit a `visit` frame describes; FrameError("bad_frame") when it is malformed."""
    landing_page = _url(_text(frame, "landing_page", MAX_URL), "landing_page", web_only=True)
    if landing_page is None:
        raise _bad("landing_page is required")
    return Visit(
        id=_id(frame),
        age=_age(frame),
        utm=_utm(frame),
        # Apps refer with other schemes (android-app://…): any absolute URL names a source.
        referrer=_url(_text(frame, "referrer", MAX_URL), "referrer", web_only=False),
        landing_page=landing_page,
    )
