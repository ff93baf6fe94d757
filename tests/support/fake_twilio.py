"""Twilio, played on 127.0.0.1: its REST API's Messages.json, and webhooks signed as Twilio signs them.

`FakeTwilio` is an aiohttp server the real twilio SDK talks to (leadbot's `LEADBOT_TWILIO_API_URL`
aims the SDK's HTTP client at it). It checks the Basic auth like Twilio, records each message
created and answers 201 with a `sid`, or fails as told (`fail_with`), or holds requests until
released (`hold`). `Twilio` posts webhooks to leadbot with `X-Twilio-Signature` computed by the
SDK's own `RequestValidator.compute_signature` over the public URL and the form.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.clock import Timers
from bot.conversations import Clock
from bot.flowbook import FlowBook
from tests.conftest import make_settings, settle

ACCOUNT_SID = "AC" + "5ca1ab1e" * 4
AUTH_TOKEN = "twilio-auth-token-for-tests"
SMS_FROM = "+15005550006"
WHATSAPP_FROM = "whatsapp:+14155238886"
PUBLIC_URL = "https://leadbot.example.com"
STATUS_CALLBACK = f"{PUBLIC_URL}/channels/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@dataclass(frozen=True)
class Sent:
    """One message created through the fake REST API, as the SDK posted it."""

    sid: str
    to: str
    from_: str | None
    body: str | None
    status_callback: str | None
    content_sid: str | None
    content_variables: str | None
    messaging_service_sid: str | None
    media_urls: tuple[str, ...] = ()


@dataclass
class _Failure:
    status: int
    code: int
    message: str


@dataclass
class FakeTwilio:
    sent: list[Sent] = field(default_factory=list)
    requests: int = 0  # Messages.json requests received, answered or not
    requested: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first one
    _failure: _Failure | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Media a lead "sent": path → (content type, bytes); served to leadbot with Basic auth.
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    media_fetches: int = 0

    def __post_init__(self) -> None:
        self._released.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create_message)
        app.router.add_get("/2010-04-01/Accounts/{account}/Messages/{sid}/Media/{media}", self._get_media)
        return app

    def add_media(self, content_type: str, data: bytes) -> str:
        """A file as Twilio holds an inbound MMS's media; returns its `MediaUrl` (Twilio's host:
        leadbot's client is aimed at this fake)."""
        path = (
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{secrets.token_hex(16)}"
            f"/Media/ME{secrets.token_hex(16)}"
        )
        self.media[path] = (content_type, data)
        return f"https://api.twilio.com{path}"

    # -- what the test tells it -------------------------------------------------------

    def fail_with(self, status: int, code: int, message: str) -> None:
        """Answer every create with this Twilio error until `succeed()`."""
        self._failure = _Failure(status, code, message)

    def succeed(self) -> None:
        self._failure = None

    def hold(self) -> None:
        """Keep create requests waiting (as a slow Twilio would) until `release()`."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def to(self, address: str) -> list[Sent]:
        return [m for m in self.sent if m.to == address]

    def bodies_to(self, address: str) -> list[str]:
        return [m.body or "" for m in self.to(address)]

    # -- the API ----------------------------------------------------------------------

    def _error(self, status: int, code: int, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(body, status=status)

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return (
            request.headers.get("Authorization") == expected and request.match_info["account"] == ACCOUNT_SID
        )

    async def _get_media(self, request: web.Request) -> web.Response:
        self.media_fetches += 1
        if not self._authorized(request):
            return self._error(401, 20003, "Authentication Error - invalid username")
        found = self.media.get(request.path)
        if found is None:
            return self._error(404, 20404, "The requested resource was not found")
        return web.Response(body=found[1], content_type=found[0])

    async def _create_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.requested.set()
        await self._released.wait()
        if not self._authorized(request):
            return self._error(401, 20003, "Authentication Error - invalid username")
        form = await request.post()
        if self._failure is not None:
            return self._error(self._failure.status, self._failure.code, self._failure.message)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not values.get("To"):
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not values.get("From") and not values.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        media_urls = tuple(str(url) for url in form.getall("MediaUrl", []))
        if not values.get("Body") and not values.get("ContentSid") and not media_urls:
            return self._error(400, 21619, "A text message body or media urls must be specified.")
        sid = f"SM{next(self._sids):032x}"
        self.sent.append(
            Sent(
                sid=sid,
                to=values["To"],
                from_=values.get("From"),
                body=values.get("Body"),
                status_callback=values.get("StatusCallback"),
                content_sid=values.get("ContentSid"),
                content_variables=values.get("ContentVariables"),
                messaging_service_sid=values.get("MessagingServiceSid"),
                media_urls=media_urls,
            )
        )
        now = datetime.now().strftime("%a, %d %b %Y %H:%M:%S +0000")
        return web.json_response(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": values["To"],
                "from": values.get("From"),
                "messaging_service_sid": values.get("MessagingServiceSid"),
                "body": values.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "num_media": "0",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            status=201,
        )


def twilio_env(api_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "LEADBOT_TWILIO_SMS_FROM": SMS_FROM,
        "LEADBOT_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "LEADBOT_TWILIO_API_URL": api_url,
        "LEADBOT_PUBLIC_URL": PUBLIC_URL,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v}  # an empty override unsets it


def sign(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


class Twilio:
    """Twilio's side of the webhooks: signed form posts to leadbot, as Twilio makes them."""

    def __init__(self, client: TestClient[Any, Any], public_url: str = PUBLIC_URL) -> None:
        self.client = client
        self.public_url = public_url
        self._sids = itertools.count(1)

    def new_sid(self) -> str:
        return f"SM{secrets.token_hex(4)}{next(self._sids):024x}"

    async def post(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        signed_url: str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """POST `params` to `path`, signed for `signed_url` (the public URL + path by default)."""
        all_headers = dict(headers or {})
        if signature is None:
            signature = sign(signed_url or self.public_url + path, params)
        if signature:
            all_headers["X-Twilio-Signature"] = signature
        response = await self.client.post(path, data=dict(params), headers=all_headers)
        await response.read()
        return response

    def inbound(
        self, sender: str, body: str, *, sid: str | None = None, to: str = SMS_FROM, **extra: str
    ) -> dict[str, str]:
        sid = sid or self.new_sid()
        return {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    async def sms(self, sender: str, body: str, *, sid: str | None = None, **extra: str) -> ClientResponse:
        response = await self.post("/channels/twilio/sms", self.inbound(sender, body, sid=sid, **extra))
        assert response.status == 200, await response.text()
        assert await response.text() == EMPTY_TWIML
        return response

    async def whatsapp(self, number: str, body: str, **extra: str) -> ClientResponse:
        params = self.inbound(f"whatsapp:{number}", body, to=WHATSAPP_FROM, **extra)
        response = await self.post("/channels/twilio/whatsapp", params)
        assert response.status == 200, await response.text()
        return response

    async def status(self, sid: str, status: str, *, error_code: str | None = None) -> ClientResponse:
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        if error_code:
            params["ErrorCode"] = error_code
        return await self.post("/channels/twilio/status", params)


@dataclass
class Rig:
    """leadbot with Twilio configured, the fake REST API it sends to, and Twilio's webhooks."""

    client: TestClient[Any, Any]
    fake: FakeTwilio
    twilio: Twilio

    @property
    def app(self) -> web.Application:
        return self.client.app

    async def text(self, number: str, body: str) -> list[str]:
        """The lead texts `body`; returns what leadbot sent back to them once the bot is done."""
        before = len(self.fake.to(number))
        await self.twilio.sms(number, body)
        await settle(self.app)
        return self.fake.bodies_to(number)[before:]


async def start_rig(
    aiohttp_server: ServerFactory,
    aiohttp_client: ClientFactory,
    data_dir: Path,
    *,
    clock: Clock | None = None,
    timers: Timers | None = None,
    flows: FlowBook | None = None,
    **env: str,
) -> Rig:
    fake = FakeTwilio()
    server = await aiohttp_server(fake.app())
    api_url = str(server.make_url("")).rstrip("/")
    settings = make_settings(data_dir, **twilio_env(api_url, **env))
    client = await aiohttp_client(create_app(settings, clock=clock, timers=timers, flows=flows))
    # Without a public URL Twilio signs the URL it reached: this server, directly.
    signed_base = settings.public_url or str(client.make_url("")).rstrip("/")
    return Rig(client, fake, Twilio(client, signed_base))
