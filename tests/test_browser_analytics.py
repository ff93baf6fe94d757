"""The analytics page in a real browser: an admin sees the charts of a known data set, changes
the date range, and downloads a table as CSV.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
Run it alone with `python -m pytest tests/test_browser_analytics.py -q`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from bot import keys
from bot.app import create_app
from tests.conftest import ClientFactory, make_settings
from tests.support.analytics_seed import END, FROM, SCRIPT_SOURCE, START, TO, Data, expected, plant, seed
from tests.support.browser import Problems, chromium
from tests.support.inbox import PASSWORD, add_user

pytestmark = pytest.mark.browser

NOW = datetime(2024, 4, 15, 12, tzinfo=UTC)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(make_settings(tmp_path / "data"), clock=lambda: NOW))


def funnel_texts(data: Data, start: datetime, end: datetime) -> list[str]:
    return [
        f"{row['conversations']} · {row['share'] * 100:.1f}%" for row in expected(data, start, end)["funnel"]
    ]


async def test_an_admin_sees_the_charts_and_changes_the_range(
    client: TestClient[Any, Any], browser: Any
) -> None:
    expect.set_options(timeout=15_000)
    data = seed()
    await plant(client.app[keys.STORE], data)
    await add_user(client, "ada@example.com", name="Ada Lovelace", role="admin")
    problems = Problems()
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = await context.new_page()
    problems.watch(page)

    path = f"/admin/analytics?from={FROM}&to={TO}"
    await page.goto(str(client.make_url(path)))
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Email").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/admin/analytics\?from=2024-03-01&to=2024-03-31$"))
    await expect(page.get_by_role("link", name="Analytics")).to_have_attribute("aria-current", "page")

    # The funnel: five bars, each with its count and share of all conversations.
    funnel = page.locator("svg#chart-funnel")
    await expect(funnel).to_be_visible()
    await expect(funnel.locator("rect.chart-bar")).to_have_count(5)
    await expect(funnel.locator("text.chart-value")).to_have_text(funnel_texts(data, START, END))
    await expect(funnel.locator("text.chart-label")).to_have_text(
        ["Conversations", "Engaged", "Qualified", "Handed off", "Converted"]
    )
    # Every chart is drawn, next to its table.
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(10)
    for i in range(10):
        await expect(charts.nth(i)).to_be_visible()
    await expect(page.locator("#table-funnel tbody tr")).to_have_count(5)
    # A source named like markup is shown as text, in the chart and in the table.
    by_source = page.locator("svg#chart-funnel-by-source")
    await expect(by_source.locator("text.chart-label", has_text=SCRIPT_SOURCE)).to_have_count(1)
    await expect(page.locator("#table-funnel_by_source th", has_text=SCRIPT_SOURCE)).to_have_count(1)
    # The lead scores: ten buckets of 10 points.
    await expect(page.locator("svg#chart-lead-scores rect.chart-bar")).to_have_count(10)

    # A table as CSV, for the range on the page.
    async with page.expect_download() as download_info:
        await page.locator("#funnel").get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "leadbot-funnel-2024-03-01-2024-03-31.csv"
    saved = Path(await download.path())
    lines = (await asyncio.to_thread(saved.read_text, encoding="utf-8")).splitlines()
    assert lines[0] == "stage,conversations,share"
    assert lines[1] == f"conversations,{expected(data, START, END)['funnel'][0]['conversations']},1.0"

    # One day only: the first of March, when one conversation started at midnight.
    await page.get_by_label("From", exact=True).fill("2024-03-01")
    await page.get_by_label("To", exact=True).fill("2024-03-01")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"from=2024-03-01&to=2024-03-01"))
    one_day = funnel_texts(data, START, START + timedelta(days=1))
    assert one_day[0] == "1 · 100.0%"
    await expect(funnel.locator("text.chart-value")).to_have_text(one_day)
    await expect(page.locator("main")).to_contain_text("Conversations created from 2024-03-01 to 2024-03-01")

    # The channel filter narrows it down to SMS for the whole month.
    await page.get_by_label("From", exact=True).fill(FROM)
    await page.get_by_label("To", exact=True).fill(TO)
    await page.get_by_label("Channel", exact=True).select_option("sms")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"channel=sms"))
    await expect(funnel.locator("text.chart-value").first).to_have_text("1 · 100.0%")

    # A range that ends before it starts is refused with the reason, and no charts.
    await page.get_by_label("From", exact=True).fill("2024-03-10")
    await page.get_by_label("To", exact=True).fill("2024-03-01")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("alert")).to_have_text("from must be before to")
    await expect(page.locator("svg.chart")).to_have_count(0)

    assert problems == []
    await context.close()
