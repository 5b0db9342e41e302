"""The console in a real browser: one headless Chromium for the session (Debian's ``chromium``,
never a downloaded build), a fresh browser context (cookies, storage) and page per test, and a
manager served in the test's event loop with its own data directory and a clock the test can
move. A fake scheduler (``ManagerClient``, as ``tests/integration/manager`` does) finishes the
jobs the browser makes, so the pages are seen changing while they stay open.

Everything here runs in the session's event loop (the browser lives there), so every test
module marks itself ``pytest.mark.asyncio(loop_scope="session")``.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from swarmfly.manager.app import create_app
from swarmfly.manager.appkeys import SUBMITTER
from swarmfly.manager.users import ROOT_PASSWORD_FILE
from swarmfly.web.runner import serve_app
from swarmfly.wire.manager_client import ManagerClient
from tests.conftest import ROOT
from tests.integration.manager.scheduler import FakeScheduler
from tests.support.browser import collect_page_errors, launched_chromium
from tests.support.manager import manager_config
from tests.unit.scheduler.sample import FakeClock

ARTIFACTS = ROOT / "test-artifacts" / "console"
#: Pages poll every 2 s; a change must show within a few polls.
LIVE_TIMEOUT_MS = 10_000

expect.set_options(timeout=LIVE_TIMEOUT_MS)


@dataclass
class Console:
    """A manager with its console, and what tests need inside it."""

    url: str
    app: web.Application
    clock: FakeClock
    data_dir: Path

    @property
    def root_password(self) -> str:
        return (self.data_dir / ROOT_PASSWORD_FILE).read_text().strip()

    async def make_job(self, bio: str = "", url: str = "https://example.com/a.bin") -> int:
        body = {"type": "preheat", "bio": bio, "args": {"type": "file", "url": url}}
        view = await self.app[SUBMITTER].submit(body, user_id=None)
        return int(view["id"])


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="session")
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    config = manager_config(tmp_path, "")
    clock = FakeClock(time.time())
    app = create_app(config, clock=clock, janitor=False)
    async with serve_app(app, "127.0.0.1", 0, shutdown_timeout=1.0) as port:
        yield Console(f"http://127.0.0.1:{port}", app, clock, config.data_dir)


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(LIVE_TIMEOUT_MS)
    opened = await context.new_page()
    errors = collect_page_errors(opened)
    yield opened
    await context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def scheduler(console: Console) -> AsyncIterator[FakeScheduler]:
    async with aiohttp.ClientSession() as session:
        yield await FakeScheduler.join(ManagerClient(session, console.url))


async def sign_in(page: Page, console: Console, path: str = "/") -> None:
    await page.goto(console.url + path)
    await page.get_by_label("Username").fill("root")
    await page.get_by_label("Password").fill(console.root_password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def screenshot(page: Page, name: str) -> Path:
    """Saved under ``test-artifacts/console/`` for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def job_id_of(page: Page) -> int:
    match = re.search(r"/jobs/preheats/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))
