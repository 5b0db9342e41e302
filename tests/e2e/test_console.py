"""The console on the real stack: Chromium signs in to a real ``swarmfly manager`` process,
makes an image preheat with the form, and watches the page turn to success while the real
scheduler and seed peer fetch every blob from Debian's ``docker-registry``; then a wrong
registry password fails in the browser with the registry's reason. (The stack is
``tests/e2e/test_preheat.py``'s; ``tests/console`` covers the pages with a fake scheduler.)"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.conftest import ROOT
from tests.e2e.conftest import CREDENTIALS, SMALL_REPOSITORY, ImageSet
from tests.e2e.test_preheat import (  # noqa: F401 (fixtures)
    JOB_DEADLINE,
    PreheatStack,
    StartStack,
    manifest_url,
    session,
    start_stack,
)
from tests.support.browser import collect_page_errors, launched_chromium
from tests.support.registry import Registry

ARTIFACTS = ROOT / "test-artifacts" / "console"
DEADLINE_MS = JOB_DEADLINE * 1000


def root_password(stack: PreheatStack) -> str:
    return (stack.manager_yaml.parent / "data" / "root-password").read_text().strip()


async def sign_in(page: Page, stack: PreheatStack) -> None:
    await page.goto(stack.manager_url)
    await page.get_by_label("Username").fill("root")
    await page.get_by_label("Password").fill(root_password(stack))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def preheat_image(page: Page, stack: PreheatStack, url: str, password: str) -> None:
    await page.goto(f"{stack.manager_url}/jobs/preheats/new")
    await page.get_by_label("Image").check()
    await page.get_by_label("Description").fill("e2e through the console")
    await page.locator("#url-0").fill(url)
    await page.get_by_label("Username").fill(CREDENTIALS.username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Preheat", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/jobs/preheats/\d+$"))


async def test_an_image_preheat_made_in_the_console_succeeds_live(
    images: ImageSet,
    auth_registry: Registry,
    start_stack: StartStack,  # noqa: F811
) -> None:
    stack = await start_stack()
    url = manifest_url(auth_registry.host, SMALL_REPOSITORY)
    blobs = len(images.small.blobs)
    async with launched_chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        errors = collect_page_errors(page)
        await sign_in(page, stack)

        await preheat_image(page, stack, url, CREDENTIALS.password)
        await page.evaluate("window.__stayed = true")
        state = page.locator("#job-state")
        await expect(state).to_contain_text("Success", timeout=DEADLINE_MS)
        await expect(page.locator("progress[value='100']")).to_have_count(blobs)
        await expect(page.locator("table.blobs")).to_contain_text("seed-1")
        assert await page.evaluate("window.__stayed === true"), "the page was reloaded"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "e2e-job-success.png"), full_page=True)

        await preheat_image(page, stack, url, "not-the-password")
        alert = page.locator("#job-error")
        await expect(alert).to_contain_text("refused the credentials", timeout=DEADLINE_MS)
        await expect(state).to_contain_text("Failure")
        assert "not-the-password" not in await page.content()
        await page.screenshot(path=str(ARTIFACTS / "e2e-job-failure.png"), full_page=True)
        assert not errors, errors
