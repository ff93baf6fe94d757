"""The flow editor's Follow-ups and Score decay sections in a real browser (docs/nurture.md).

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.conftest import AUTH, api_get
from tests.support.browser import Problems, chromium
from tests.test_browser_admin import open_as_admin

pytestmark = pytest.mark.browser

NURTURE = {
    "quiet_hours": {"start": "21:00", "end": "08:00", "timezone": "Europe/Berlin"},
    "business_hours_only": False,
    "steps": [
        {"after": "1h", "text": "Still there, {name|there}?"},
        {
            "after": "1d",
            "text": "Two quick questions left.",
            "when": ["mid_qualification", "unqualified"],
            "whatsapp": {"template_sid": "HX" + "ab12" * 8, "variables": {"1": "{name|there}", "2": "a = b"}},
        },
    ],
}
DECAY = {"after": "14d", "every": "7d", "points": 10, "floor": 20}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def read_form(page: Any) -> Any:
    """The body the form reads back, as the preview sends it."""
    async with page.expect_request(lambda r: r.url.endswith("/preview")) as sent:
        await page.get_by_role("button", name="Start test chat").click()
    return (await sent.value).post_data_json["flow"]


async def test_the_editor_shows_edits_and_reads_back_follow_ups_and_decay(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    body = {**(await api_get(client, "/api/flows/default"))["live"], "nurture": NURTURE, "decay": DECAY}
    imported = await client.post("/api/flows/import", data=yaml.safe_dump(body).encode(), headers=AUTH)
    assert (await imported.json())["valid"] is True
    assert (await client.post("/api/flows/default/publish", headers=AUTH)).status == 200
    stored = (await api_get(client, "/api/flows/default"))["live"]
    assert stored["nurture"] == NURTURE and stored["decay"] == DECAY

    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/default", problems)
    assert await read_form(page) == stored  # nothing lost, nothing added

    # A bad duration shows next to its field; fixed, it goes away.
    section = page.locator("#sec-nurture")
    second = section.locator(".list-item").nth(1)
    await second.locator(".disclosure").click()
    after = second.get_by_role("textbox", name="After", exact=True)
    await expect(after).to_have_value("1d")
    await after.fill("3x")
    problem = second.locator('[data-path="nurture.steps.1.after"] .problem')
    await expect(problem).to_contain_text("'3x' is not a duration")
    await expect(page.get_by_role("button", name="Publish…")).to_be_disabled()
    await after.fill("2d")
    await expect(problem).to_have_count(0)

    # Turning decay off and saving: the draft has the new step time and no decay.
    await page.locator("#sec-decay").get_by_label("Lower the score of silent leads").uncheck()
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#notice")).to_have_text("Draft saved.")
    await expect(page.locator("#changes-body")).to_contain_text("follow-up 2: after 1d → 2d")
    await expect(page.locator("#changes-body")).to_contain_text("score decay removed")
    draft = (await api_get(client, "/api/flows/default"))["draft"]
    assert draft["nurture"]["steps"][1]["after"] == "2d" and "decay" not in draft
    assert problems == []
