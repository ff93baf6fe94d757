"""Attribution in a real browser: the widget records where the visitor came from (UTM parameters,
referrer, landing page) across page loads; an agent closes a conversation as lost with a reason.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
Run it alone with `python -m pytest tests/test_browser_attribution.py -q`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from bot import keys
from bot.app import create_app
from bot.attribution.touchpoints import Touchpoint, touchpoints_of_leads
from bot.settings import Settings
from tests.support.browser import Problems, chromium
from tests.test_browser_inbox import add_user, open_inbox, open_widget, say

pytestmark = pytest.mark.browser

ServerFactory = Callable[..., Awaitable[TestServer]]
AD = "utm_source=google&utm_medium=cpc&utm_campaign=spring-sale&utm_term=crm"


@pytest.fixture
async def server(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    app = create_app(Settings.from_env({"LEADBOT_DATA_DIR": str(tmp_path / "data")}))
    return await aiohttp_server(app)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def the_touchpoints(server: TestServer) -> list[Touchpoint]:
    store = server.app[keys.STORE]
    [conv] = await store.list_conversations()
    lead = await store.get_lead(conv.lead_id)
    return (await touchpoints_of_leads(store, [lead]))[lead.id]


async def chat(page: Any, text: str) -> None:
    """Say something and wait for its ack: the widget's visits, sent before it, are handled."""
    await say(page, text)
    await expect(page.locator(".lb-pending")).to_have_count(0)


async def test_the_widget_records_each_visit_once(server: TestServer, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    base = str(server.make_url("/"))
    problems = Problems()
    page = await (await browser.new_context()).new_page()
    problems.watch(page)

    # Arriving from a Google ad (typed-in: no referrer), the fragment is not part of the page.
    await page.goto(f"{base}?{AD}#pricing")
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.locator(".lb-bot .lb-txt").first).to_contain_text("What are you hoping to solve")
    await chat(page, "Pipeline reporting")
    [ad] = await the_touchpoints(server)
    assert (ad.channel, ad.source, ad.medium, ad.campaign, ad.term, ad.content) == (
        "web",
        "google",
        "cpc",
        "spring-sale",
        "crm",
        None,
    )
    assert ad.referrer is None
    assert ad.landing_page == f"{base}?{AD}"

    # A link within the site, then a reload: the same visit goes on (the chat stays open).
    await page.goto(f"{base}?page=features", referer=base)
    await chat(page, "Acme Corp")
    await page.reload()
    await chat(page, "about fifty")
    assert [t.id for t in await the_touchpoints(server)] == [ad.id]

    # Back another day from a story on a news site: a new visit of the same lead.
    await page.goto(f"{base}?from=story", referer="https://news.example.org/story")
    await chat(page, "$2,000 a month")
    ad_again, news = await the_touchpoints(server)
    assert ad_again.id == ad.id
    assert (news.source, news.medium, news.campaign) == ("news.example.org", None, None)
    assert news.referrer is not None and news.referrer.startswith("https://news.example.org/")
    assert news.landing_page == f"{base}?from=story"
    assert news.at >= ad.at
    assert not problems, problems


async def test_an_agent_closes_a_conversation_as_lost_with_a_reason(server: TestServer, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    await add_user(server.app, "dana@example.com", "Dana Scully")
    base = str(server.make_url("/"))
    problems = Problems()
    inbox = await open_inbox(browser, base, "dana@example.com", problems)
    widget = await open_widget(browser, base, problems)
    await say(widget, "Pipeline reporting")
    await say(widget, "Acme Corp")
    await say(widget, "Can I talk to a person?")
    await expect(widget.locator(".lb-bot .lb-txt").last).to_contain_text("bringing in a person")

    await inbox.locator("#waiting-list .lead-card", has_text="Acme Corp").click()
    await inbox.locator("#act-claim").click()
    await expect(inbox.locator("#conv-status")).to_have_text("With you")

    await inbox.get_by_role("button", name="Close…").click()
    dialog = inbox.get_by_role("dialog", name="Close conversation")
    reason = dialog.get_by_label("Why was it lost?")
    await expect(dialog.get_by_label("Deal value (optional)")).to_be_visible()
    await expect(reason).to_be_hidden()
    await dialog.get_by_text("Lost", exact=True).click()  # the radios are styled labels
    await expect(reason).to_be_visible()
    await expect(dialog.get_by_label("Deal value (optional)")).to_be_hidden()
    # The reason is required for a lost lead: the dialog does not close without one.
    await dialog.get_by_role("button", name="Close conversation").click()
    await expect(dialog).to_be_visible()
    await reason.fill("Chose a competitor")
    await dialog.get_by_role("button", name="Close conversation").click()
    await expect(dialog).to_be_hidden()
    await expect(inbox.locator("#conv-status")).to_contain_text("lost")

    store = server.app[keys.STORE]
    [conv] = await store.list_conversations()
    lead = await store.get_lead(conv.lead_id)
    assert lead.status == "lost"
    assert lead.conversion is not None and lead.conversion.reason == "Chose a competitor"
    assert lead.status_history[-1].reason == "closed by Dana Scully: lost (Chose a competitor)"
    assert not problems, problems
