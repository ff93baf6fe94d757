"""The widget in a real browser against the real server: chat through the UI, reload, see the history.

Drives Debian's chromium (/usr/bin/chromium) with playwright; never downloads a browser.
Run it alone with `python -m pytest tests/test_browser_widget.py -q`. Without Chromium it fails
(CI must not pass without the browser); deselect it on purpose with `-m "not browser"`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from bot.app import create_app
from bot.settings import Settings
from tests.support.browser import chromium

pytestmark = pytest.mark.browser

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def base_url(aiohttp_server: ServerFactory, tmp_path: Path) -> str:
    app = create_app(Settings.from_env({"LEADBOT_DATA_DIR": str(tmp_path / "data")}))
    server = await aiohttp_server(app)
    return str(server.make_url("/"))


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def test_a_conversation_survives_a_reload(base_url: str, browser: Any) -> None:
    expect.set_options(timeout=15_000)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text or "Uncaught" in msg.text
            else None
        ),
    )

    await page.goto(base_url)
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()

    bot = page.locator(".lb-bot .lb-txt")
    visitor = page.locator(".lb-visitor .lb-txt")
    box = page.get_by_role("textbox", name="Your message")

    async def answer(text: str, then_asks: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(bot.last).to_contain_text(then_asks)

    await expect(bot.first).to_contain_text("What are you hoping to solve with us?")
    await expect(box).to_be_focused()
    # Markup typed by the visitor is shown as text, never parsed.
    await answer("<b>Pipeline</b> reporting & forecasts", "Which company are you with?")
    await expect(visitor.first).to_have_text("<b>Pipeline</b> reporting & forecasts")
    await expect(dialog.locator("b")).to_have_count(0)
    await answer("Acme Corp", "How many people are on your team?")
    await expect(box).to_have_attribute("inputmode", "numeric")
    await expect(box).to_have_attribute("type", "text")
    await answer("about fifty", "What monthly budget do you have in mind?")
    await answer("$5,000 a month", "When would you like to get started?")

    # The timeline question comes with quick replies; one click answers it.
    await page.get_by_role("button", name="Within 3 months").click()
    await expect(bot.last).to_contain_text("Are you the one who makes the buying decision?")
    await expect(page.get_by_role("button", name="Within 3 months")).to_have_count(0)
    await expect(page.get_by_role("button", name="Yes, it's my call")).to_be_visible()

    # Asking for a person hands off at once.
    await answer("I'd like to talk to a person", "bringing in a person")
    await expect(page.locator(".lb-pending")).to_have_count(0)  # every visitor message was acked
    texts = await page.locator(".lb-m .lb-txt").all_inner_texts()
    assert len(texts) == 13  # the greeting, then 6 answers, each with one bot reply
    assert texts.count("Acme Corp") == 1

    # A reload re-opens the panel and replays the whole history: same texts, same order, no duplicates.
    await page.reload()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(page.locator(".lb-m .lb-txt")).to_have_text(texts)
    await expect(page.locator(".lb-pending")).to_have_count(0)

    # Esc closes the panel and gives focus back to the launcher.
    await page.get_by_role("textbox", name="Your message").focus()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(page.get_by_role("button", name="Open chat")).to_be_focused()

    assert not problems, problems


async def test_a_visitor_sends_a_picture_that_stays_after_a_reload(
    base_url: str, browser: Any, tmp_path: Path
) -> None:
    expect.set_options(timeout=15_000)
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    await page.goto(base_url)
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.locator(".lb-bot .lb-txt").first).to_contain_text("What are you hoping to solve")

    picture = tmp_path / "floor <plan>.png"
    picture.write_bytes(_tiny_png())
    await page.get_by_role("textbox", name="Your message").fill("our office")
    await page.locator("input[type=file]").set_input_files(str(picture))
    thumbnail = page.locator(".lb-visitor .lb-file img")
    await expect(thumbnail).to_have_count(1)
    await expect(page.locator(".lb-visitor .lb-txt").last).to_have_text("our office")
    # the picture really loads from its signed link
    await expect(thumbnail).to_have_js_property("naturalWidth", 2)

    await page.reload()
    await expect(page.locator(".lb-visitor .lb-file img")).to_have_count(1)
    assert not problems, problems


def _tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
