"""Accounts and access over HTTP: sign-in, sessions, CSRF, throttling, role guards, pages.

Each `Browser` is its own cookie jar connecting from its own loopback address (127.0.0.x), so
per-address throttling is tested with real client addresses. Time is a `FakeClock` the tests
move forward; nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from http.cookies import Morsel
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from bot import keys
from bot.app import create_app
from bot.auth.guards import require_role
from bot.auth.rendering import render
from bot.auth.users import User
from tests.conftest import AUTH, ClientFactory, make_settings

PASSWORD = "correct horse battery"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Browser:
    """A cookie jar at one client address, talking to the test server."""

    def __init__(self, client: TestClient[Any, Any], address: str) -> None:
        self.client = client
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        kwargs.setdefault("allow_redirects", False)
        response = await self.http.request(method, self.client.make_url(path), **kwargs)
        await response.read()  # the body stays readable after the connection is released
        response.release()
        return response

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("POST", path, **kwargs)

    async def login_token(self) -> str:
        page = await (await self.get("/login")).text()
        found = re.search(
            r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page
        )
        assert found is not None, page
        return found.group(1)

    async def login(self, email: str, password: str = PASSWORD, next_url: str = "") -> aiohttp.ClientResponse:
        token = await self.login_token()
        form = {"email": email, "password": password, "csrf_token": token, "next": next_url}
        return await self.post("/login", data=form)

    async def csrf(self) -> str:
        """The session's CSRF token, as pages give it to scripts."""
        page = await (await self.get("/login")).text()
        found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
        assert found is not None and found.group(1), page
        return found.group(1)

    def cookie(self, name: str) -> str | None:
        for morsel in self.http.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    def set_cookie(self, name: str, value: str) -> None:
        self.http.cookie_jar.update_cookies({name: value}, URL(str(self.client.make_url("/"))))


BrowserFactory = Callable[[str], Browser]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _protected(request: web.Request) -> web.Response:
    return render(request, "base.html")


async def _protected_json(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "method": request.method})


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock) -> TestClient[Any, Any]:
    app = create_app(make_settings(tmp_path / "data"), clock=clock)
    # A tiny stand-in for the pages and endpoints other modules guard.
    app.router.add_get("/probe/admin-page", require_role("admin", page=True)(_protected))
    app.router.add_route("*", "/probe/agent-page", require_role("agent", page=True)(_protected))
    app.router.add_route("*", "/probe/admin.json", require_role("admin", page=False)(_protected_json))
    app.router.add_route("*", "/probe/agent.json", require_role("agent", page=False)(_protected_json))
    return await aiohttp_client(app)


@pytest.fixture
async def browsers(client: TestClient[Any, Any]) -> AsyncIterator[BrowserFactory]:
    made: list[Browser] = []

    def make(address: str = "127.0.0.2") -> Browser:
        made.append(Browser(client, address))
        return made[-1]

    yield make
    for browser in made:
        await browser.http.close()


async def add_user(client: TestClient[Any, Any], email: str, role: str = "agent", **extra: Any) -> User:
    return await client.app[keys.USERS].add(email, PASSWORD, role=role, **extra)


def _session_morsel(response: aiohttp.ClientResponse) -> Morsel[str]:
    morsel = response.cookies.get("leadbot_session")
    assert morsel is not None, response.headers.getall("Set-Cookie", [])
    return morsel


# -- sign-in and the session cookie -------------------------------------------------------


async def test_signing_in_sets_a_fresh_httponly_lax_cookie(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    browser.set_cookie("leadbot_session", "planted-by-an-attacker")
    signed_in = await browser.login("Dana@Example.com ")
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/inbox"
    cookie = _session_morsel(signed_in)
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]
    first = cookie.value
    assert first != "planted-by-an-attacker" and len(first) >= 43

    again = await browser.login("dana@example.com")
    second = _session_morsel(again).value
    assert second != first
    assert (await browser.get("/api/leads")).status == 200
    stale = browsers("127.0.0.3")
    stale.set_cookie("leadbot_session", first)
    assert (await stale.get("/api/leads")).status == 401  # the earlier id was ended at sign-in


async def test_the_cookie_is_secure_when_the_public_url_is_https(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", LEADBOT_PUBLIC_URL="https://leads.example.com")
    client = await aiohttp_client(create_app(settings))
    await add_user(client, "dana@example.com")
    browser = Browser(client, "127.0.0.2")
    try:
        token = await browser.login_token()
        assert browser.cookie("leadbot_login_csrf") == token  # Secure: the jar keeps it from http://
        form = {"email": "dana@example.com", "password": PASSWORD, "csrf_token": token}
        signed_in = await browser.post("/login", data=form, headers={"Cookie": f"leadbot_login_csrf={token}"})
        assert signed_in.status == 303 and _session_morsel(signed_in)["secure"]
    finally:
        await browser.http.close()


async def test_wrong_password_unknown_email_and_disabled_account_look_alike(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    await add_user(client, "gone@example.com")
    await client.app[keys.USERS].disable("gone@example.com")
    answers = []
    for n, (email, password) in enumerate(
        [
            ("dana@example.com", "not it at all"),
            ("nobody@example.com", PASSWORD),
            ("gone@example.com", PASSWORD),
        ]
    ):
        response = await browsers(f"127.0.0.{10 + n}").login(email, password)
        answers.append((response.status, "leadbot_session" in response.cookies))
        assert "Wrong email or password." in await response.text()
    assert answers == [(401, False)] * 3


async def test_an_empty_form_is_answered_plainly(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    response = await browsers().login("", "")
    assert response.status == 400 and "Enter your email and your password." in await response.text()


async def test_signing_out_ends_the_session_and_needs_the_csrf_token(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    session_id = browser.cookie("leadbot_session")
    assert session_id

    refused = await browser.post("/logout")
    assert refused.status == 403 and "You were not signed out" in await refused.text()
    assert (await browser.get("/api/leads")).status == 200

    out = await browser.post("/logout", data={"csrf_token": await browser.csrf()})
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert out.cookies["leadbot_session"].value == ""
    replay = browsers("127.0.0.3")
    replay.set_cookie("leadbot_session", session_id)
    assert (await replay.get("/api/leads")).status == 401


async def test_a_session_ends_after_the_idle_limit(
    client: TestClient[Any, Any], browsers: BrowserFactory, clock: FakeClock
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    clock.advance(hours=7, minutes=59)
    assert (await browser.get("/api/leads")).status == 200  # use restarts the idle time
    clock.advance(hours=7, minutes=59)
    assert (await browser.get("/api/leads")).status == 200
    clock.advance(hours=8)
    response = await browser.get("/api/leads")
    assert response.status == 401 and (await response.json())["error"] == "unauthorized"


async def test_a_session_ends_after_the_absolute_limit_however_busy(
    client: TestClient[Any, Any], browsers: BrowserFactory, clock: FakeClock
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    for _ in range(23):  # 23 × 7 h = 6 days 17 h: busy all week, never idle for 8 h
        clock.advance(hours=7)
        assert (await browser.get("/api/leads")).status == 200
    clock.advance(hours=7)  # 7 days and a bit since signing in
    assert (await browser.get("/api/leads")).status == 401


async def test_a_disabled_user_loses_session_and_token(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    users = client.app[keys.USERS]
    token = await users.issue_api_token("dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await browser.get("/api/leads")).status == 200
    assert (await client.get("/api/leads", headers=bearer)).status == 200

    await users.disable("dana@example.com")
    assert (await browser.get("/api/leads")).status == 401
    assert (await client.get("/api/leads", headers=bearer)).status == 401
    assert (await browser.login("dana@example.com")).status == 401


# -- the API ------------------------------------------------------------------------------


async def test_api_reads_need_an_agent_by_any_of_the_three_means(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    users = client.app[keys.USERS]
    old_token = await users.issue_api_token("dana@example.com")
    token = await users.issue_api_token("dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    for path in ("/api/conversations", "/api/leads"):
        anonymous = await client.get(path)
        assert anonymous.status == 401 and (await anonymous.json())["error"] == "unauthorized"
        assert (await client.get(path, headers=AUTH)).status == 200
        assert (await browser.get(path)).status == 200
        assert (await client.get(path, headers={"Authorization": f"Bearer {token}"})).status == 200
        stale = await client.get(path, headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status == 401  # a new token replaces the old one
    # An Authorization header decides alone: a bad token is not rescued by a good cookie.
    assert (await browser.get("/api/leads", headers={"Authorization": "Bearer nope"})).status == 401


async def test_unsafe_api_requests_with_a_session_need_the_csrf_token(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    token = await client.app[keys.USERS].issue_api_token("dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    csrf = await browser.csrf()

    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        refused = await browser.post("/api/leads", headers=headers, json={})
        assert refused.status == 403
        assert (await refused.json()) == {
            "error": "csrf",
            "message": "send the session's CSRF token in the X-CSRF-Token header or the csrf_token field",
        }
    # With the token the request gets past the guard (to the route, which only reads: 405).
    passed = await browser.post("/api/leads", headers={"X-CSRF-Token": csrf}, json={})
    assert passed.status == 405
    ok = await browser.post("/probe/agent.json", headers={"X-CSRF-Token": csrf})
    assert ok.status == 200 and (await ok.json())["method"] == "POST"
    form = await browser.post("/probe/agent.json", data={"csrf_token": csrf})
    assert form.status == 200
    # Bearer tokens need none: no browser adds that header for another site.
    assert (await client.post("/api/leads", headers=AUTH)).status == 405
    assert (await client.delete("/api/leads", headers={"Authorization": f"Bearer {token}"})).status == 405


async def test_json_guards_answer_401_and_403(client: TestClient[Any, Any], browsers: BrowserFactory) -> None:
    await add_user(client, "dana@example.com")
    anonymous = await client.get("/probe/agent.json")
    assert anonymous.status == 401 and (await anonymous.json())["error"] == "unauthorized"
    browser = browsers()
    await browser.login("dana@example.com")
    assert (await browser.get("/probe/agent.json")).status == 200
    wrong_role = await browser.get("/probe/admin.json")
    assert wrong_role.status == 403
    assert await wrong_role.json() == {
        "error": "forbidden",
        "message": "this needs the admin role; you are signed in as agent",
    }


# -- pages --------------------------------------------------------------------------------


async def test_pages_send_anonymous_visitors_to_sign_in_and_back(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "boss@example.com", role="admin")
    await add_user(client, "dana@example.com")
    browser = browsers()
    away = await browser.get("/probe/admin-page?tab=open")
    assert away.status == 302
    assert away.headers["Location"] == "/login?next=/probe/admin-page?tab%3Dopen"
    form = await (await browser.get(away.headers["Location"])).text()
    assert 'name="next" value="/probe/admin-page?tab=open"' in form
    back = await browser.login("boss@example.com", next_url="/probe/admin-page?tab=open")
    assert back.status == 303 and back.headers["Location"] == "/probe/admin-page?tab=open"
    page = await browser.get(back.headers["Location"])
    assert page.status == 200 and "Sign out" in await page.text()

    agent = browsers("127.0.0.3")
    await agent.login("dana@example.com")
    refused = await agent.get("/probe/admin-page")
    assert refused.status == 403
    assert "This needs the admin role" in await refused.text()
    assert refused.headers["Content-Security-Policy"] == CSP


async def test_unsafe_page_requests_need_the_csrf_form_field(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    await browser.login("dana@example.com")
    refused = await browser.post("/probe/agent-page", data={"note": "hi"})
    assert refused.status == 403 and "Form expired" in await refused.text()
    ok = await browser.post("/probe/agent-page", data={"note": "hi", "csrf_token": await browser.csrf()})
    assert ok.status == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/inbox",
        "/\\evil.com",
        "\\\\evil.com",
        "///evil.com",
        "/\t/evil.com",
        "evil.com",
        "javascript:alert(1)",
    ],
)
async def test_next_never_leads_off_the_site(
    client: TestClient[Any, Any], browsers: BrowserFactory, target: str
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    page = await browser.get("/login", params={"next": target})
    assert 'name="next" value="/inbox"' in await page.text()
    signed_in = await browser.login("dana@example.com", next_url=target)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/inbox"


async def test_sign_in_from_another_site_is_refused(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "dana@example.com")
    victim = browsers()
    await victim.get("/login")  # has a sign-in cookie of its own
    attacker = browsers("127.0.0.3")
    attackers_token = await attacker.login_token()
    form = {"email": "dana@example.com", "password": PASSWORD}
    for extra in ({}, {"csrf_token": ""}, {"csrf_token": attackers_token}):
        forged = await victim.post("/login", data={**form, **extra})
        assert forged.status == 403 and "leadbot_session" not in forged.cookies
        assert "sent from another site" in await forged.text()
    fresh = browsers("127.0.0.4")  # no cookie at all, as a cross-site post arrives
    assert (await fresh.post("/login", data={**form, "csrf_token": attackers_token})).status == 403


async def test_the_sign_in_page_is_locked_down(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    page = await browsers().get("/login")
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.cookies["leadbot_login_csrf"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/login"
    html = await page.text()
    assert (
        '<meta name="csrf-token" content="">' in html
        and '<link rel="stylesheet" href="/static/app.css">' in html
    )
    assert "<script" not in html and re.search(r"\son[a-z]+\s*=", html) is None  # nothing inline to run


async def test_hostile_names_and_emails_are_escaped(
    client: TestClient[Any, Any], browsers: BrowserFactory
) -> None:
    await add_user(client, "boss@example.com", role="admin", name='<script>alert("name")</script>')
    browser = browsers()
    await browser.login("boss@example.com")
    html = await (await browser.get("/probe/admin-page")).text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html

    hostile = '"><script>alert(1)</script>@example.com'
    failed = await browsers("127.0.0.3").login(hostile, "whatever it is")
    text = await failed.text()
    assert failed.status == 401 and "<script>" not in text and "&#34;&gt;&lt;script&gt;" in text


async def test_static_files_come_only_from_the_static_folder(client: TestClient[Any, Any]) -> None:
    css = await client.get("/static/app.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    for path in (
        "/static/__init__.py",
        "/static/missing.css",
        "/static/..%2Fsettings.py",
        "/static/%2e%2e/templates/base.html",
        "/static/.hidden.css",
    ):
        assert (await client.get(path)).status == 404, path


# -- throttling ---------------------------------------------------------------------------


async def _fail(browser: Browser, email: str, times: int) -> None:
    for _ in range(times):
        assert (await browser.login(email, "wrong password!")).status == 401


async def test_failed_sign_ins_lock_the_account_for_longer_each_time(
    client: TestClient[Any, Any], browsers: BrowserFactory, clock: FakeClock
) -> None:
    await add_user(client, "dana@example.com")
    here, elsewhere = browsers("127.0.0.2"), browsers("127.0.0.3")
    await _fail(here, "dana@example.com", 5)
    locked = await elsewhere.login("dana@example.com")  # the right password, from another address
    assert locked.status == 429 and locked.headers["Retry-After"] == "60"
    assert "Too many attempts, try again in 1 minute." in await locked.text()

    clock.advance(seconds=61)
    await _fail(elsewhere, "DANA@example.com", 5)
    locked = await here.login("dana@example.com")
    assert locked.status == 429 and "try again in 2 minutes" in await locked.text()

    clock.advance(minutes=16)  # past the lockout and the window
    assert (await here.login("dana@example.com")).status == 303
    # Success starts the account afresh: four more failures do not lock it.
    await _fail(elsewhere, "dana@example.com", 4)
    assert (await elsewhere.login("dana@example.com")).status == 303


async def test_failed_sign_ins_from_one_address_lock_that_address(
    client: TestClient[Any, Any], browsers: BrowserFactory, clock: FakeClock
) -> None:
    await add_user(client, "dana@example.com")
    sprayer, colleague = browsers("127.0.0.4"), browsers("127.0.0.5")
    for n in range(5):
        await _fail(sprayer, f"guess{n}@example.com", 1)
    refused = await sprayer.login("dana@example.com")
    assert refused.status == 429 and "Too many attempts" in await refused.text()
    assert (await colleague.login("dana@example.com")).status == 303  # the account is fine

    clock.advance(minutes=16)
    assert (await sprayer.login("dana@example.com")).status == 303


class BehindProxy(Browser):
    """A client whose requests reach us through a proxy at `proxy`, which names it `client_ip`."""

    def __init__(self, client: TestClient[Any, Any], proxy: str, client_ip: str) -> None:
        super().__init__(client, proxy)
        self.http.headers["X-Forwarded-For"] = f"{client_ip}, {proxy}"


async def test_behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own(
    aiohttp_client: ClientFactory, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path / "data", LEADBOT_TRUSTED_PROXIES="127.0.0.9")
    client = await aiohttp_client(create_app(settings, clock=clock))
    await add_user(client, "dana@example.com")
    sprayer, colleague = (
        BehindProxy(client, "127.0.0.9", "203.0.113.7"),
        BehindProxy(client, "127.0.0.9", "198.51.100.2"),
    )
    untrusted = BehindProxy(client, "127.0.0.8", "192.0.2.1")  # not our proxy: its header is ignored
    try:
        for n in range(5):
            await _fail(sprayer, f"guess{n}@example.com", 1)
        assert (await sprayer.login("dana@example.com")).status == 429
        assert (await colleague.login("dana@example.com")).status == 303  # same proxy, another person
        for n in range(5):
            await _fail(untrusted, f"spray{n}@example.com", 1)
        forged = BehindProxy(client, "127.0.0.8", "192.0.2.99")  # a new header, the same real peer
        assert (await forged.login("dana@example.com")).status == 429
        await forged.http.close()
    finally:
        for browser in (sprayer, colleague, untrusted):
            await browser.http.close()


async def test_failures_older_than_the_window_are_forgotten(
    client: TestClient[Any, Any], browsers: BrowserFactory, clock: FakeClock
) -> None:
    await add_user(client, "dana@example.com")
    browser = browsers()
    await _fail(browser, "dana@example.com", 4)
    clock.advance(minutes=15)
    await _fail(browser, "dana@example.com", 4)
    assert (await browser.login("dana@example.com")).status == 303


# -- the repository -----------------------------------------------------------------------


async def test_users_are_stored_with_hashed_secrets_only(client: TestClient[Any, Any]) -> None:
    users = client.app[keys.USERS]
    dana = await add_user(client, "Dana@Example.COM", name="Dana Scully", teams=["sales", " dach ", "sales"])
    assert (dana.email, dana.name, dana.teams, dana.capacity) == (
        "dana@example.com",
        "Dana Scully",
        ["sales", "dach"],
        5,
    )
    token = await users.issue_api_token("dana@example.com")
    dump = await client.app[keys.STORE].dump()
    stored = str(dump["users"])
    assert PASSWORD not in stored and token not in stored and "$argon2id$" in stored
    assert await users.by_api_token(token) == dana
    assert await users.by_email("DANA@example.com") == dana and await users.get(dana.id) == dana
    assert await users.verify_password("dana@example.com", PASSWORD) == dana
    assert dana.acts_as("agent") and not dana.acts_as("admin")
    boss = await add_user(client, "boss@example.com", role="admin")
    assert boss.acts_as("agent") and boss.name == "boss"
    assert [u.email for u in await users.list()] == ["boss@example.com", "dana@example.com"]
