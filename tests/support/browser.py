"""Headless Chromium for browser tests: Debian's ``chromium`` package driven by Playwright's
Python API (never a browser Playwright downloads), with the flags this machine needs
(shared/realclients/REPORT.md). Playwright gives every launch a fresh profile directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.conftest import require_binary

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Browser]:
    """Chromium, or a skip (a failure under CI) when the package is missing."""
    chromium = require_binary("chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


def is_page_error(message: ConsoleMessage) -> bool:
    """A script error or a refusal (CSP): not the 401/422 a page was answered with."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


def collect_page_errors(page: Page) -> list[str]:
    """Every script error and refusal the page logs from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if is_page_error(msg) else None)
    return errors
