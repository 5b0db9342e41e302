"""Signing in and out in the browser: the root user's password works, a wrong one is refused
with a message, the page asked for before signing in is where the browser lands, and after
signing out the pages send the browser back to the sign-in form."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Console, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_root_signs_in_and_out(page: Page, console: Console) -> None:
    await sign_in(page, console)
    assert page.url == f"{console.url}/jobs/preheats"
    await expect(page.get_by_role("heading", name="Preheats")).to_be_visible()
    await expect(page.locator(".who")).to_have_text("root")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto(f"{console.url}/jobs/preheats")
    assert page.url.startswith(f"{console.url}/signin")


async def test_wrong_password_is_refused(page: Page, console: Console) -> None:
    await page.goto(console.url)
    await page.get_by_label("Username").fill("root")
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    await expect(page.get_by_label("Username")).to_have_value("root")
    assert page.url == f"{console.url}/signin"
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


async def test_lands_on_the_page_it_asked_for(page: Page, console: Console) -> None:
    job_id = await console.make_job("asked for")
    await sign_in(page, console, f"/jobs/preheats/{job_id}")
    assert page.url == f"{console.url}/jobs/preheats/{job_id}"
    await expect(page.get_by_role("heading", name=f"Preheat #{job_id}")).to_be_visible()


async def test_is_usable_with_the_keyboard(page: Page, console: Console) -> None:
    await page.goto(console.url)
    await expect(page.get_by_label("Username")).to_be_focused()  # autofocus
    await page.keyboard.type("root")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(console.root_password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Preheats")).to_be_visible()
    await page.keyboard.press("Tab")  # the skip link comes first
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
