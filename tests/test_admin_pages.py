"""The admin pages (flows, the flow editor, the audit log): admins only, sent with the security
headers, and linked from the top bar for admins alone. No browser: tests/test_browser_admin.py
drives them in Chromium."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.auth.rendering import PAGE_CSP
from tests.support.inbox import Agent, add_user

PAGES = ["/admin/flows", "/admin/flows/default", "/admin/audit"]
SCRIPTS = {
    "/admin/flows": ["/static/admin-common.js", "/static/admin-flows.js"],
    "/admin/flows/default": [
        "/static/admin-common.js",
        "/static/admin-nurture.js",
        "/static/admin-consent.js",
        "/static/admin-form.js",
        "/static/admin-flow.js",
    ],
    "/admin/audit": ["/static/admin-common.js", "/static/admin-audit.js"],
}


async def signed_in(client: TestClient[Any, Any], role: str) -> Agent:
    user = await add_user(client, f"{role}@example.com", name=f"An {role}", role=role)
    return await Agent.sign_in(client, user)


async def fetch(
    http: aiohttp.ClientSession, client: TestClient[Any, Any], path: str
) -> aiohttp.ClientResponse:
    response = await http.get(client.make_url(path), allow_redirects=False)
    await response.read()
    return response


@pytest.mark.parametrize("path", ["/admin", *PAGES])
async def test_signed_out_the_pages_send_to_sign_in(client: TestClient[Any, Any], path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("path", ["/admin", *PAGES])
async def test_an_agent_is_refused(client: TestClient[Any, Any], path: str) -> None:
    agent = await signed_in(client, "agent")
    try:
        response = await fetch(agent.http, client, path)
        assert response.status == 403
        assert "admin role" in await response.text()
        assert response.headers["Content-Security-Policy"] == PAGE_CSP
    finally:
        await agent.close()


async def test_an_admin_gets_each_page_with_the_security_headers(client: TestClient[Any, Any]) -> None:
    admin = await signed_in(client, "admin")
    try:
        home = await fetch(admin.http, client, "/admin")
        assert home.status == 302
        assert home.headers["Location"] == "/admin/flows"
        for path in PAGES:
            response = await fetch(admin.http, client, path)
            assert response.status == 200, path
            assert response.content_type == "text/html"
            assert response.headers["Content-Security-Policy"] == PAGE_CSP
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["Cache-Control"] == "no-store"
            html = await response.text()
            assert f'<meta name="csrf-token" content="{admin.csrf}">' in html
            assert "<script>" not in html and " style=" not in html  # external files only
            for script in SCRIPTS[path]:
                assert f'<script src="{script}" defer></script>' in html, (path, script)
                assert (await fetch(admin.http, client, script)).status == 200
        assert (await fetch(admin.http, client, "/static/admin.css")).status == 200
    finally:
        await admin.close()


async def test_the_editor_names_its_flow_and_refuses_ids_no_flow_can_have(
    client: TestClient[Any, Any],
) -> None:
    admin = await signed_in(client, "admin")
    try:
        html = await admin.get_text("/admin/flows/default")
        assert 'data-flow-id="default"' in html
        for channel in ("web", "sms", "whatsapp", "email"):
            assert f'id="channel-{channel}"' in html
        odd = await fetch(admin.http, client, "/admin/flows/Not%20a%20flow")
        assert odd.status == 404
        assert "data-flow-id" not in await odd.text()
    finally:
        await admin.close()


async def test_the_nav_links_flows_and_audit_for_admins_only(client: TestClient[Any, Any]) -> None:
    admin = await signed_in(client, "admin")
    agent = await signed_in(client, "agent")
    try:
        for_admin = await admin.get_text("/inbox")
        assert '<a href="/admin/flows">Flows</a>' in for_admin
        assert '<a href="/admin/audit">Audit</a>' in for_admin
        on_flows = await admin.get_text("/admin/flows")
        assert '<a href="/admin/flows" aria-current="page">Flows</a>' in on_flows
        for_agent = await agent.get_text("/inbox")
        assert "/admin/flows" not in for_agent
        assert "/admin/audit" not in for_agent
        assert ">Inbox</a>" in for_agent
    finally:
        await admin.close()
        await agent.close()
