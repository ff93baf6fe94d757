"""The webhooks admin page in a real browser: add an endpoint (a problem shown by its field, the
body previewed, the secret shown once), then a delivery that failed for good is redelivered from
the failures view.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from bot import keys
from bot.app import create_app
from bot.clock import ManualClock
from bot.webhooks.service import RETRY
from tests.conftest import ClientFactory, api_call, make_settings, settle
from tests.support.browser import Problems, chromium
from tests.support.inbox import PASSWORD, add_user
from tests.support.visitor import Visitor
from tests.support.webhook_receiver import ServerFactory, start_receiver

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def test_an_admin_adds_an_endpoint_and_redelivers_a_failed_delivery(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, tmp_path: Path, browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    # Manual time, from now: sessions and signatures look current to the browser and the receiver.
    clock = ManualClock(datetime.now(UTC))
    client = await aiohttp_client(create_app(make_settings(tmp_path / "data"), clock=clock.now, timers=clock))
    app = client.app
    receiver = await start_receiver(aiohttp_server, clock.now)

    # A CRM that refuses everything: the lead.created delivery uses up its attempts and fails.
    failing = await api_call(
        client, "POST", "/api/webhooks", {"url": receiver.url, "events": ["lead.created"]}, status=201
    )
    receiver.secrets.append(failing["secret"])
    receiver.answers = [500] * RETRY.attempts
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await settle(app)
    await app[keys.JOBS].idle()
    for _ in range(RETRY.attempts):
        clock.advance(RETRY.max_delay_seconds * 1.2)
        await app[keys.JOBS].idle()
    assert len(receiver.received) == RETRY.attempts

    await add_user(client, "ada@example.com", name="Ada Lovelace", role="admin")
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await context.new_page()
    problems = Problems()
    problems.watch(page)
    await page.goto(str(client.make_url("/admin/webhooks")))
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/admin/webhooks$"))
    await expect(page.get_by_role("link", name="Webhooks")).to_have_attribute("aria-current", "page")

    # The failures view: the failed delivery, its last error, and a Redeliver button.
    failures = page.locator("#deliveries-body tr")
    await expect(failures).to_have_count(1)
    row = failures.first
    await expect(row).to_contain_text("lead.created")
    await expect(row).to_contain_text("Failed")
    await expect(row).to_contain_text("HTTP 500: the CRM says no (500)")
    await expect(row.locator("td.num")).to_have_text(str(RETRY.attempts))
    receiver.answers = []  # the CRM is back
    await row.get_by_role("button", name=re.compile("^Redeliver")).click()
    await expect(page.locator("#notice")).to_contain_text("Redelivered lead.created")
    await expect(failures).to_have_count(0)
    await expect(page.locator("#deliveries-empty")).to_be_visible()
    assert receiver.received[-1].delivery == receiver.received[0].delivery
    await page.get_by_label("Show", exact=True).select_option("delivered")
    await expect(failures).to_have_count(1)
    await failures.first.get_by_role("button", name=re.compile("^Attempts")).click()
    attempts = page.get_by_role("dialog")
    await expect(attempts.locator("tbody tr")).to_have_count(RETRY.attempts + 1)
    await expect(attempts.locator("tbody tr").last).to_contain_text("manual")
    await expect(attempts.locator("pre")).to_contain_text('"kind": "lead.created"')
    await attempts.get_by_role("button", name="Close").click()

    # Adding an endpoint: a bad URL is named by its field; the preview shows the HubSpot body.
    await page.get_by_role("button", name="Add endpoint").click()
    url = page.get_by_role("textbox", name="URL")
    await url.fill("ftp://crm.example.com/hook")
    await page.get_by_label("Body shape").select_option("hubspot_contact")
    await expect(page.locator("#body-preview")).to_contain_text('"properties"')
    await expect(page.locator("#body-preview")).to_contain_text('"lifecyclestage": "salesqualifiedlead"')
    await page.get_by_role("button", name="Add an override").click()
    await page.get_by_role("textbox", name="Field").fill("properties.leadbot_score")
    await page.get_by_role("textbox", name="Path or value").fill("lead.score")
    await expect(page.locator("#body-preview")).to_contain_text('"leadbot_score": 85')
    await page.locator("#endpoint-form").get_by_role("button", name="Add endpoint").click()
    await expect(page.locator("#problem-url")).to_contain_text("https://")
    await expect(url).to_have_attribute("aria-invalid", "true")
    await url.fill("https://crm.example.com/hook")
    await page.locator("#endpoint-form").get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("dialog", name="Signing secret")
    await expect(secret.get_by_label("Secret")).to_have_value(re.compile(r"^whsec_"))
    await secret.get_by_role("button", name="Close").click()
    added = page.locator("#endpoints-body tr").filter(has_text="https://crm.example.com/hook")
    await expect(added).to_contain_text("HubSpot contact")
    await expect(added).to_contain_text("1 override")
    await expect(added).to_contain_text("Active")
    assert problems == []
    await context.close()
