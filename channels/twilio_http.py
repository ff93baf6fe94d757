"""The Twilio REST client: the SDK on its asynchronous HTTP client, opened and closed with the app.

The SDK writes every URL as `https://<product>.twilio.com/...`. `LEADBOT_TWILIO_API_URL`
(a stand-in such as the test suite's fake, or a recording proxy) replaces that scheme and
host in the HTTP client — the SDK's hook for how requests go out — and keeps the path, so
the stand-in sees exactly the requests Twilio would.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import ClientSession, ClientTimeout
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from bot.settings import Settings

# A send that takes longer than this is recorded as failed rather than holding a bot turn.
REQUEST_TIMEOUT_SECONDS = 15.0


class TwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client with a request timeout, optionally aimed at another host."""

    def __init__(self, base_url: str | None, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        super().__init__(pool_connections=False, timeout=timeout)
        self.session = ClientSession(timeout=ClientTimeout(total=timeout))
        self._base = urlsplit(base_url) if base_url else None

    def aimed(self, url: str) -> str:
        if self._base is None:
            return url
        parts = urlsplit(url)
        return urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, parts.fragment))

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        # The SDK passes timeout=None, which aiohttp reads as "no timeout at all".
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        # Credentials as a header: the SDK would wrap them in aiohttp's deprecated BasicAuth.
        auth = kwargs.pop("auth", None)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, self.aimed(url), **kwargs)


@contextlib.asynccontextmanager
async def twilio_client(settings: Settings) -> AsyncIterator[Any]:
    """A `twilio.rest.Client` whose HTTP session closes when the block ends."""
    http = TwilioHttpClient(settings.twilio_api_url)
    try:
        credentials = {
            "TWILIO_ACCOUNT_SID": settings.twilio_account_sid or "",
            "TWILIO_AUTH_TOKEN": settings.twilio_auth_token or "",
        }
        # The SDK's environment is our settings: given none, it would read os.environ itself
        # (TWILIO_REGION, TWILIO_EDGE …), behind the back of `Settings.from_env`.
        yield Client(http_client=http, environment=credentials)
    finally:
        await http.close()
