"""The admin leads page in a real browser: find a lead, export it, erase it after confirming; the
audit page then shows the reads and the erasure. Debian's chromium through playwright."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.conftest import api_get
from tests.support.browser import Problems, chromium
from tests.support.inbox import PASSWORD, add_user
from tests.support.visitor import Visitor

pytestmark = pytest.mark.browser

EMAIL = "ines.moreau@example.com"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def test_an_admin_finds_exports_and_erases_a_lead(
    client: TestClient[Any, Any], browser: Any, tmp_path: Path
) -> None:
    visitor = await Visitor.connect(client)
    await visitor.greeting()
    await visitor.say(f"I'm Ines, {EMAIL}")
    lead_id = (await api_get(client, f"/api/conversations/{visitor.conversation_id}"))["lead_id"]

    await add_user(client, "ada@example.com", name="Ada Lovelace", role="admin")
    expect.set_options(timeout=15_000)
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = await context.new_page()
    problems = Problems()
    problems.watch(page)
    await page.goto(str(client.make_url("/admin/leads")))
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/admin/leads$"))

    await page.get_by_label("Lead id, email, phone or name").fill(EMAIL)
    await page.get_by_role("button", name="Search").click()
    row = page.locator("#results-body tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(EMAIL)
    await row.get_by_role("button", name="Open").click()
    detail = page.locator("#lead")
    await expect(detail).to_contain_text(f"Lead {lead_id}")
    await expect(detail).to_contain_text(EMAIL)

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Export JSON").click()
    download = await download_info.value
    saved = tmp_path / "export.json"
    await download.save_as(saved)
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["lead_id"] == lead_id and exported["lead"]["email"] == EMAIL

    # Erasing asks first; Cancel keeps the lead.
    await page.get_by_role("button", name="Erase…").click()
    question = page.get_by_role("dialog", name="Erase this lead?")
    await expect(question).to_be_visible()
    await expect(question.get_by_role("button", name="Cancel")).to_be_focused()  # not one Enter away
    await question.get_by_role("button", name="Cancel").click()
    await api_get(client, f"/api/leads/{lead_id}")
    await page.get_by_role("button", name="Erase…").click()
    await (
        page.get_by_role("dialog", name="Erase this lead?")
        .get_by_role("button", name="Erase everything")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Erased. Removed 1 conversation")
    await expect(detail).to_be_hidden()
    await expect(row).to_have_count(0)
    await api_get(client, f"/api/leads/{lead_id}", status=404)

    await page.goto(str(client.make_url("/admin/audit?kind=privacy")))
    await expect(page.locator("#audit-body tr").first).to_contain_text("Erased a lead")
    await expect(page.locator("#audit-body")).not_to_contain_text(EMAIL)
    await page.get_by_label("Kind").select_option("access")
    await expect(page.locator("#audit-body")).to_contain_text("Exported a lead")
    await expect(page.locator("#audit-body")).to_contain_text("Searched leads")
    assert not problems, problems
