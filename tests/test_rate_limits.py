"""Rate limits on the real routes: new widget conversations per client address (`/ws/chat`),
visitor messages per conversation (`message` frames), sign-in attempts per client address
(`POST /login`) — counted in a real redis-server and, without one, in the process.

Time is a `FakeClock` the tests move; nothing sleeps. Client addresses come from
`X-Forwarded-For` through a trusted proxy (the test client itself), as behind a load balancer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from bot import keys
from bot.app import create_app
from bot.rate_limits import Rule
from bot.rate_local import SWEEP_ABOVE, LocalWindow
from bot.settings import Rate, Settings, SettingsError
from tests.conftest import ClientFactory, api_get, make_settings, settle
from tests.support.browser import chromium
from tests.support.fake_twilio import ServerFactory, start_rig
from tests.support.frames import DEADLINE
from tests.support.redis_server import RedisServer
from tests.support.visitor import Visitor

PASSWORD = "correct horse battery"
PROXY = "127.0.0.1"  # the test client is the trusted proxy; X-Forwarded-For names the client


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["redis", "in-process"])
def shared_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Each rule is proven twice: counted in a real Redis, and in the process without one."""
    if request.param == "redis":
        return {"LEADBOT_REDIS_URL": request.getfixturevalue("redis_url")}
    return {}


async def start(
    aiohttp_client: ClientFactory, data_dir: Path, clock: FakeClock, **env: str
) -> TestClient[Any, Any]:
    settings = make_settings(data_dir, LEADBOT_TRUSTED_PROXIES=PROXY, **env)
    return await aiohttp_client(create_app(settings, clock=clock))


def sent_from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def visitor_from(client: TestClient[Any, Any], address: str, token: str | None = None) -> Visitor:
    """`Visitor.connect` from a client address behind the proxy."""
    params = {"token": token} if token else {}
    visitor = Visitor(await client.ws_connect("/ws/chat", params=params, headers=sent_from(address)))
    visitor.hello = await visitor.next_frame("hello")
    return visitor


async def refused_socket(client: TestClient[Any, Any], **headers: str) -> dict[str, Any]:
    """Connect as a new visitor who is over the limit: the one frame sent, then the close."""
    ws = await client.ws_connect("/ws/chat", headers=headers)
    async with asyncio.timeout(DEADLINE):
        first = await ws.receive()
        closing = await ws.receive()
    assert first.type == WSMsgType.TEXT, first
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED), closing
    assert ws.close_code == WSCloseCode.TRY_AGAIN_LATER
    frame: dict[str, Any] = first.json()
    return frame


async def web_conversations(client: TestClient[Any, Any]) -> int:
    return len((await api_get(client, "/api/conversations?channel=web"))["items"])


async def login(
    client: TestClient[Any, Any], email: str, password: str, address: str
) -> aiohttp.ClientResponse:
    page = await (await client.get("/login", headers=sent_from(address))).text()
    found = re.search(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    form = {"email": email, "password": password, "csrf_token": found.group(1), "next": ""}
    response = await client.post("/login", data=form, headers=sent_from(address), allow_redirects=False)
    await response.read()
    return response


# -- settings ----------------------------------------------------------------------------


def test_limits_have_defaults_and_parse_n_per_second_minute_or_hour(tmp_path: Path) -> None:
    defaults = make_settings(tmp_path)
    assert defaults.limit_new_conversations == Rate(60, 3600.0)
    assert defaults.limit_messages == Rate(30, 60.0)
    assert defaults.limit_logins == Rate(20, 60.0)
    given = make_settings(
        tmp_path,
        LEADBOT_LIMIT_NEW_CONVERSATIONS=" 5 / Hour ",
        LEADBOT_LIMIT_MESSAGES="2/seconds",
        LEADBOT_LIMIT_LOGINS="0",
    )
    assert given.limit_new_conversations == Rate(5, 3600.0)
    assert given.limit_messages == Rate(2, 1.0)
    assert given.limit_logins is None  # 0 turns the limit off
    assert make_settings(tmp_path, LEADBOT_LIMIT_MESSAGES="0/minute").limit_messages is None


@pytest.mark.parametrize(
    "name", ["LEADBOT_LIMIT_NEW_CONVERSATIONS", "LEADBOT_LIMIT_MESSAGES", "LEADBOT_LIMIT_LOGINS"]
)
@pytest.mark.parametrize(
    "raw", ["fast", "20", "20/day", "-1/minute", "1.5/minute", "20 per minute", "10001/hour"]
)
def test_a_limit_that_cannot_be_read_names_its_variable(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"LEADBOT_DATA_DIR": str(tmp_path), name: raw})


def test_the_in_process_window_forgets_quiet_keys_so_a_spray_of_addresses_stays_bounded() -> None:
    window = LocalWindow(Rate(1, 60.0))
    for n in range(SWEEP_ABOVE + 1):  # all within one minute: nothing to forget yet
        assert window.hit(f"198.51.{n // 256}.{n % 256}", now=0.0) is None
    assert window.hit("198.51.0.0", now=30.0) == 30.0
    for n in range(SWEEP_ABOVE + 2):  # a minute later, as many again: the first spray is swept out
        assert window.hit(f"203.0.{n // 256}.{n % 256}", now=61.0) is None
    assert not any(key.startswith("198.51.") for key in window._uses)
    assert len(window._uses) == SWEEP_ABOVE + 2


# -- new conversations per client address: GET /ws/chat ---------------------------------


async def test_new_widget_conversations_are_limited_per_client_address(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, shared_env: dict[str, str]
) -> None:
    client = await start(
        aiohttp_client, tmp_path / "data", clock, LEADBOT_LIMIT_NEW_CONVERSATIONS="3/hour", **shared_env
    )
    visitors = []
    for _ in range(3):  # at 9:00, 9:10 and 9:20
        visitors.append(await visitor_from(client, "203.0.113.7"))
        clock.advance(minutes=10)
    clock.advance(minutes=-10)

    frame = await refused_socket(client, **sent_from("203.0.113.7"))
    assert frame == {
        "type": "error",
        "code": "rate_limited",
        "message": "too many new conversations from this address; try again in 2400 s",
        "retry_after": 40 * 60,  # at 10:00 the first of the three leaves the hour
    }
    assert await web_conversations(client) == 3  # the refused socket started nothing

    # Coming back to a conversation is not a new one; another address has its own count.
    again = await visitor_from(client, "203.0.113.7", visitors[0].token)
    assert again.conversation_id == visitors[0].conversation_id
    elsewhere = await visitor_from(client, "198.51.100.2")
    # An unknown token would start a conversation: it counts, and is refused too.
    assert (await refused_socket(client, **sent_from("203.0.113.7")))["code"] == "rate_limited"
    forged = await client.ws_connect(
        "/ws/chat", params={"token": "made-up"}, headers=sent_from("203.0.113.7")
    )
    assert (await forged.receive()).json()["code"] == "rate_limited"
    await forged.close()

    clock.advance(minutes=40)  # 10:00, the first conversation's hour is over: one more fits
    fourth = await visitor_from(client, "203.0.113.7")
    assert (await refused_socket(client, **sent_from("203.0.113.7")))["retry_after"] == 10 * 60
    assert await web_conversations(client) == 5
    for visitor in [*visitors, again, elsewhere, fourth]:
        await visitor.close()
    await settle(client.app)


# -- visitor messages per conversation: `message` frames ---------------------------------


async def test_visitor_messages_are_limited_per_conversation_and_a_refused_one_is_not_stored(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, shared_env: dict[str, str]
) -> None:
    client = await start(
        aiohttp_client, tmp_path / "data", clock, LEADBOT_LIMIT_MESSAGES="3/minute", **shared_env
    )
    visitor = await Visitor.connect(client)
    other = await Visitor.connect(client)
    for n in range(3):
        sent = await visitor.send(f"message {n}")
        assert (await visitor.next_frame("ack"))["id"] == sent
        clock.advance(seconds=10)

    refused_id = await visitor.send("one too many")
    refused = await visitor.next_frame("error")
    assert refused == {
        "type": "error",
        "code": "rate_limited",
        "message": "too many messages; send this one again later",
        "id": refused_id,
        "retry_after": 30,  # the first message leaves the minute in 30 s
    }
    await settle(client.app)
    stored = await client.app[keys.STORE].messages_after(visitor.conversation_id, 0)
    assert "one too many" not in [m.text for m in stored]
    # Another conversation has its own count.
    assert (await other.say("Hello there"))["from"] == "bot"

    clock.advance(seconds=30)  # the widget sends it again, same id, after the wait
    await visitor.ws.send_json({"type": "message", "id": refused_id, "text": "one too many"})
    assert (await visitor.next_frame("ack"))["id"] == refused_id
    await settle(client.app)
    stored = await client.app[keys.STORE].messages_after(visitor.conversation_id, 0)
    assert [m.text for m in stored].count("one too many") == 1
    await visitor.close()
    await other.close()


# -- sign-in attempts per client address: POST /login ------------------------------------


async def test_sign_in_attempts_are_limited_per_client_address(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, shared_env: dict[str, str]
) -> None:
    client = await start(
        aiohttp_client, tmp_path / "data", clock, LEADBOT_LIMIT_LOGINS="3/minute", **shared_env
    )
    await client.app[keys.USERS].add("dana@example.com", PASSWORD, role="agent")
    # Three attempts at three accounts (the per-account lockout needs five at one), 5 s apart.
    for n in range(3):
        clock.advance(seconds=5)
        assert (await login(client, f"guess{n}@example.com", "nope", "203.0.113.7")).status == 401

    refused = await login(client, "dana@example.com", PASSWORD, "203.0.113.7")  # even the right password
    assert refused.status == 429 and refused.headers["Retry-After"] == "50"  # the first leaves the minute
    assert "Too many sign-in attempts from your network, try again in 1 minute." in await refused.text()
    assert (await login(client, "dana@example.com", PASSWORD, "198.51.100.2")).status == 303  # someone else

    clock.advance(seconds=50)
    assert (await login(client, "dana@example.com", PASSWORD, "203.0.113.7")).status == 303


async def test_the_account_lockout_keeps_its_rules_when_shared_through_redis(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, redis_url: str
) -> None:
    """The per-account throttle (bot/auth/throttle.py) on Redis: locked on one process, locked
    on every process, for longer each time, forgotten after a quiet window."""
    one = await start(aiohttp_client, tmp_path / "one", clock, LEADBOT_REDIS_URL=redis_url)
    two = await start(aiohttp_client, tmp_path / "two", clock, LEADBOT_REDIS_URL=redis_url)
    for client in (one, two):
        await client.app[keys.USERS].add("dana@example.com", PASSWORD, role="agent")
    for _ in range(5):
        assert (await login(one, "dana@example.com", "wrong!", "203.0.113.7")).status == 401
    locked = await login(two, "dana@example.com", PASSWORD, "198.51.100.2")  # another process, address
    assert locked.status == 429 and locked.headers["Retry-After"] == "60"
    assert "Too many attempts, try again in 1 minute." in await locked.text()

    clock.advance(seconds=61)
    for _ in range(5):
        assert (await login(two, "DANA@example.com", "wrong!", "198.51.100.2")).status == 401
    locked = await login(one, "dana@example.com", PASSWORD, "203.0.113.7")
    assert locked.status == 429 and "try again in 2 minutes" in await locked.text()

    clock.advance(minutes=16)  # past the lockout and the window
    assert (await login(one, "dana@example.com", PASSWORD, "203.0.113.7")).status == 303
    for _ in range(4):  # success started the account afresh: four more failures do not lock it
        assert (await login(two, "dana@example.com", "wrong!", "198.51.100.2")).status == 401
    assert (await login(two, "dana@example.com", PASSWORD, "198.51.100.2")).status == 303
    # The records are in Redis (and expire by themselves).
    r = redis.Redis.from_url(redis_url)
    try:
        assert r.pttl("leadbot:throttle:address:198.51.100.2:failures") > 0
    finally:
        r.close()


# -- across processes --------------------------------------------------------------------


async def test_two_processes_on_one_redis_share_every_count(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, redis_url: str
) -> None:
    env = {
        "LEADBOT_REDIS_URL": redis_url,
        "LEADBOT_LIMIT_NEW_CONVERSATIONS": "3/hour",
        "LEADBOT_LIMIT_MESSAGES": "2/minute",
        "LEADBOT_LIMIT_LOGINS": "2/minute",
    }
    one = await start(aiohttp_client, tmp_path / "one", clock, **env)
    two = await start(aiohttp_client, tmp_path / "two", clock, **env)
    address = "203.0.113.7"
    visitors = [await visitor_from(one, address), await visitor_from(two, address)]
    visitors.append(await visitor_from(one, address))
    assert (await refused_socket(two, **sent_from(address)))["code"] == "rate_limited"

    # A conversation lives in one store here (two data dirs), so its messages are counted on
    # `one` and the count is asked of `two`'s limiter: the Redis key is the conversation's id.
    visitor = visitors[0]
    for text in ("first", "second"):
        await visitor.send(text)
        await visitor.next_frame("ack")
    assert await two.app[keys.RATE_LIMITS].hit(Rule.MESSAGES, visitor.conversation_id) == 60.0

    assert (await login(one, "nobody@example.com", "x", "198.51.100.2")).status == 401
    assert (await login(two, "nobody@example.com", "x", "198.51.100.2")).status == 401
    assert (await login(one, "nobody@example.com", "x", "198.51.100.2")).status == 429
    for v in visitors:
        await v.close()
    await settle(one.app)


# -- Redis going away --------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, on its own port: the test stops and starts it."""
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_limits_hold_in_the_process_while_redis_is_away_and_move_back_to_it(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, own_redis: RedisServer
) -> None:
    client = await start(
        aiohttp_client,
        tmp_path / "data",
        clock,
        LEADBOT_REDIS_URL=own_redis.url,
        LEADBOT_LIMIT_NEW_CONVERSATIONS="2/hour",
        LEADBOT_LIMIT_MESSAGES="2/minute",
        LEADBOT_LIMIT_LOGINS="2/minute",
    )
    link, address = client.app[keys.REDIS], "203.0.113.7"
    opened = [await visitor_from(client, address)]
    assert (await client.get("/healthz")).status == 200

    own_redis.stop()
    # Counted in this process from now on: it never saw the first conversation, so two more fit.
    opened += [await visitor_from(client, address), await visitor_from(client, address)]
    assert not link.healthy
    assert (await refused_socket(client, **sent_from(address)))["code"] == "rate_limited"
    visitor = opened[-1]
    for text in ("first", "second"):
        await visitor.send(text)
        await visitor.next_frame("ack")
    await visitor.send("third")
    assert (await visitor.next_frame("error"))["code"] == "rate_limited"
    for _ in range(2):
        assert (await login(client, "nobody@example.com", "x", "198.51.100.2")).status == 401
    assert (await login(client, "nobody@example.com", "x", "198.51.100.2")).status == 429
    assert (await (await client.get("/healthz")).json())["status"] == "degraded"

    back = asyncio.Event()
    link.on_change(lambda healthy: back.set() if healthy else None)
    own_redis.start()  # an empty Redis (no persistence): its counts start over
    async with asyncio.timeout(10):
        await back.wait()  # the link's own watcher found it
    opened += [await visitor_from(client, address), await visitor_from(client, address)]
    assert (await refused_socket(client, **sent_from(address)))["code"] == "rate_limited"
    r = redis.Redis.from_url(own_redis.url)
    try:  # counted in Redis again, not in the process
        assert r.zcard("leadbot:rl:new_conversations:203.0.113.7") == 2
    finally:
        r.close()
    for v in opened:
        await v.close()
    await settle(client.app)


async def test_a_redis_that_refuses_writes_is_no_reason_to_fail_a_request(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, own_redis: RedisServer
) -> None:
    """Reachable but answering errors (here: a read-only replica, as after a failover that left
    us on the old primary): count in the process instead."""
    client = await start(
        aiohttp_client,
        tmp_path / "data",
        clock,
        LEADBOT_REDIS_URL=own_redis.url,
        LEADBOT_LIMIT_LOGINS="2/minute",
        LEADBOT_LIMIT_NEW_CONVERSATIONS="1/hour",
    )
    r = redis.Redis.from_url(own_redis.url)
    try:
        r.replicaof("127.0.0.1", "1")  # a primary that is not there: we are a read-only replica now
        before = set(r.keys())  # what was there already (the job queue's worker records itself)
        for _ in range(2):
            assert (await login(client, "nobody@example.com", "x", "198.51.100.2")).status == 401
        assert (await login(client, "nobody@example.com", "x", "198.51.100.2")).status == 429
        visitor = await Visitor.connect(client)
        assert (await refused_socket(client))["code"] == "rate_limited"
        assert set(r.keys()) == before  # nothing could be written there
        await visitor.close()
    finally:
        r.replicaof("NO", "ONE")
        r.close()
    await settle(client.app)


# -- webhooks are not limited ------------------------------------------------------------


async def test_sms_webhooks_are_never_answered_429(
    aiohttp_server: ServerFactory, aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    """A provider retries a 429, and its message is durable with us anyway: SMS, WhatsApp and
    email are limited by the provider and by signature checks, not by these rules."""
    rig = await start_rig(
        aiohttp_server,
        aiohttp_client,
        tmp_path / "data",
        LEADBOT_LIMIT_NEW_CONVERSATIONS="1/hour",
        LEADBOT_LIMIT_MESSAGES="1/minute",
    )
    for n in range(3):
        assert (await rig.twilio.sms(f"+1415555010{n}", "Hi there")).status == 200
    for text in ("we need a CRM", "Acme", "about fifty"):
        assert (await rig.twilio.sms("+14155550100", text)).status == 200
    await settle(rig.app)
    assert len((await api_get(rig.client, "/api/conversations?channel=sms"))["items"]) == 3


# -- the widget --------------------------------------------------------------------------


async def open_widget(browser: Any, base: str, problems: list[str]) -> Any:
    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    await page.clock.install()  # time still flows; the test jumps it past the waits the server asks for
    await page.goto(base)
    await page.get_by_role("button", name="Open chat").click()
    return page


@pytest.mark.browser
async def test_the_widget_says_why_and_tries_again_after_the_wait(
    aiohttp_server: ServerFactory, tmp_path: Path, clock: FakeClock
) -> None:
    expect.set_options(timeout=15_000)
    settings = make_settings(
        tmp_path / "data", LEADBOT_LIMIT_NEW_CONVERSATIONS="1/hour", LEADBOT_LIMIT_MESSAGES="2/minute"
    )
    server = await aiohttp_server(create_app(settings, clock=clock))
    base, problems = str(server.make_url("/")), list[str]()
    async with chromium() as browser:
        page = await open_widget(browser, base, problems)
        bot, box = page.locator(".lb-bot .lb-txt"), page.get_by_role("textbox", name="Your message")
        await expect(bot.first).to_contain_text("What are you hoping to solve with us?")

        # Two messages a minute: the third is kept (pending, not failed) with a notice ...
        for text in ("Pipeline reporting", "Acme Corp", "about fifty"):
            await box.fill(text)
            await box.press("Enter")
        await expect(page.locator(".lb-err")).to_have_text(
            "You’re sending messages too quickly. Please wait a moment."
        )
        await expect(page.locator(".lb-pending .lb-txt")).to_have_text("about fifty")
        await expect(page.locator(".lb-failed")).to_have_count(0)
        # ... and sent again, same id, once the minute has passed.
        clock.advance(seconds=61)
        await page.clock.fast_forward(60_000)
        await expect(page.locator(".lb-pending")).to_have_count(0)
        await expect(bot.last).to_contain_text("What monthly budget")
        visitor = page.locator(".lb-visitor .lb-txt")
        await expect(visitor).to_have_text(["Pipeline reporting", "Acme Corp", "about fifty"])

        # One new conversation an hour from this address: the next visitor is told, not left hanging.
        other = await open_widget(browser, base, problems)
        await expect(other.locator(".lb-err")).to_have_text(
            "Too many chats were started from your network just now. We’ll connect you as soon as we can."
        )
        await expect(other.locator(".lb-bot")).to_have_count(0)
        await expect(other.locator(".lb-status")).to_have_text("")
        clock.advance(hours=1)
        await other.clock.fast_forward(3600_000)  # the widget waits what the server said, then connects
        await expect(other.locator(".lb-bot .lb-txt").first).to_contain_text("What are you hoping to solve")
    assert not problems, problems


async def test_a_file_counts_as_a_message(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock, shared_env: dict[str, str]
) -> None:
    from aiohttp import FormData

    client = await start(
        aiohttp_client, tmp_path / "data", clock, LEADBOT_LIMIT_MESSAGES="2/minute", **shared_env
    )
    visitor = await Visitor.connect(client)
    sent = await visitor.send("first")
    assert (await visitor.next_frame("ack"))["id"] == sent

    def upload(client_id: str) -> FormData:
        form = FormData()
        form.add_field("client_id", client_id)
        form.add_field("file", b"hello", filename="notes.txt", content_type="text/plain")
        return form

    accepted = await client.post("/ws/chat/upload", params={"token": visitor.token}, data=upload("f1"))
    assert accepted.status == 201, await accepted.text()
    refused = await client.post("/ws/chat/upload", params={"token": visitor.token}, data=upload("f2"))
    assert refused.status == 429 and refused.headers["Retry-After"] == "60"
    assert (await refused.json())["error"] == "rate_limited"
    await settle(client.app)
    stored = await client.app[keys.STORE].messages_after(visitor.conversation_id, 0)
    assert sum(bool(m.attachments) for m in stored) == 1  # the refused file was not kept
    await visitor.close()
