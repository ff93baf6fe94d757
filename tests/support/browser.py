"""Debian's Chromium driven by playwright, for the browser tests (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import playwright.async_api as playwright_api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium for the block; without Debian's package the launch fails (no skip)."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Problems(list[str]):
    """Page errors, CSP complaints and dialogs seen on the watched pages: there should be none."""

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.append(f"console: {msg.text}")
                if "Content Security Policy" in msg.text or "Uncaught" in msg.text
                else None
            ),
        )

        async def refuse(dialog: Any) -> None:
            self.append(f"dialog: {dialog.message}")
            await dialog.dismiss()

        page.on("dialog", refuse)
