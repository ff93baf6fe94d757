"""The flow editor's Consent section in a real browser (docs/privacy.md, "Consent in the widget").

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.conftest import AUTH, api_get
from tests.support.browser import Problems, chromium
from tests.support.consent_flow import CONSENT_TEXT
from tests.test_browser_admin import open_as_admin
from tests.test_browser_nurture import read_form

pytestmark = pytest.mark.browser

CONSENT = {"text": CONSENT_TEXT, "required": True, "button": "I agree"}
NEW_TEXT = "We keep this chat for a year to answer you. Details: https://example.com/privacy"
HTML_TEXT = 'We keep this chat. Read <a href="https://example.com/privacy">our policy</a>.'


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def publish_default_with(client: TestClient[Any, Any], **sections: Any) -> dict[str, Any]:
    """Publish the default flow with `sections` added; the live body as the API gives it."""
    body = {**(await api_get(client, "/api/flows/default"))["live"], **sections}
    imported = await client.post("/api/flows/import", data=yaml.safe_dump(body).encode(), headers=AUTH)
    assert (await imported.json())["valid"] is True
    assert (await client.post("/api/flows/default/publish", headers=AUTH)).status == 200
    live: dict[str, Any] = (await api_get(client, "/api/flows/default"))["live"]
    return live


async def test_the_editor_shows_validates_and_saves_the_consent_step(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    stored = await publish_default_with(client, consent=CONSENT)
    assert stored["consent"] == CONSENT

    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/default", problems)
    assert await read_form(page) == stored  # nothing lost, nothing added

    # The jump link leads to the section, which shows the flow's consent step.
    jump = page.get_by_role("navigation", name="Parts of the flow")
    await jump.get_by_role("link", name="Consent", exact=True).click()
    await expect(page).to_have_url(re.compile("#sec-consent$"))
    section = page.locator("#sec-consent")
    await expect(section).to_be_in_viewport()
    await expect(section.get_by_label("Ask widget visitors for consent")).to_be_checked()
    text = section.get_by_role("textbox", name="Consent text")
    await expect(text).to_have_value(CONSENT_TEXT)
    await expect(section.get_by_label("Required: the visitor cannot write before accepting")).to_be_checked()
    label = section.get_by_role("textbox", name="Button")
    await expect(label).to_have_value("I agree")

    # HTML in the text: the server's problem shows next to the field, and blocks publishing.
    await text.fill(HTML_TEXT)
    problem = section.locator('[data-path="consent.text"] .problem')
    await expect(problem).to_contain_text("write a link as a plain URL")
    await expect(text).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("button", name="Publish…")).to_be_disabled()
    await page.get_by_role("button", name="Show the field: consent.text").click()
    await expect(text).to_be_focused()

    # Fixed, the problem goes; saved, the draft holds the new text and what was not touched.
    await text.fill(NEW_TEXT)
    await expect(problem).to_have_count(0)
    await expect(text).not_to_have_attribute("aria-invalid", "true")
    await label.fill("")  # empty: the widget's default, Accept
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#notice")).to_have_text("Draft saved.")
    await expect(page.locator("#changes-body")).to_contain_text("consent text changed")
    await expect(page.locator("#changes-body")).to_contain_text("consent button changed")
    draft = (await api_get(client, "/api/flows/default"))["draft"]
    assert draft["consent"] == {"text": NEW_TEXT, "required": True}
    untouched = ("consent", "version")
    assert {k: v for k, v in draft.items() if k not in untouched} == {
        k: v for k, v in stored.items() if k not in untouched
    }
    assert problems == []


async def test_a_consent_step_is_added_and_removed_in_the_editor(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    problems = Problems()
    page = await open_as_admin(client, browser, "/admin/flows/default", problems)
    section = page.locator("#sec-consent")
    changes = page.locator("#changes-body")
    ask = section.get_by_label("Ask widget visitors for consent")
    text = section.get_by_role("textbox", name="Consent text")
    await expect(ask).not_to_be_checked()
    await expect(text).to_be_hidden()

    # Turned on without a text: the server asks for one, next to the field.
    await ask.check()
    await expect(text).to_be_visible()
    problem = section.locator('[data-path="consent.text"] .problem')
    await expect(problem).to_contain_text("at least 1 character")
    await text.fill(CONSENT_TEXT)
    await section.get_by_label("Required: the visitor cannot write before accepting").check()
    await expect(problem).to_have_count(0)
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.locator("#notice")).to_have_text("Draft saved.")
    await expect(changes).to_contain_text("consent step added (required before writing)")
    draft = (await api_get(client, "/api/flows/default"))["draft"]
    assert draft["consent"] == {"text": CONSENT_TEXT, "required": True}

    # Turned off again: the draft has no consent step, like the live version.
    await ask.uncheck()
    await expect(text).to_be_hidden()
    await page.get_by_role("button", name="Save draft").click()
    await expect(changes).to_contain_text("None: the draft is the same as the live version.")
    assert "consent" not in (await api_get(client, "/api/flows/default"))["draft"]
    assert problems == []
