"""Personal access tokens in the browser: made with the form, shown once with a copy button,
accepted by the Open API, revoked (after a confirmation), then refused by the Open API."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import Console, screenshot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def open_api_status(console: Console, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{console.url}/oapi/v1/jobs", headers=headers) as response,
    ):
        return response.status


async def test_create_copy_use_and_revoke_a_token(page: Page, console: Console) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await sign_in(page, console)
    await page.get_by_role("link", name="Tokens").click()
    await expect(page.get_by_text("No tokens yet.")).to_be_visible()
    await page.get_by_label("Name").fill("harbor <prod>")
    await expect(page.get_by_label("job")).to_be_checked()
    await page.get_by_label("Expires after").select_option("180")
    await page.get_by_role("button", name="Create token").click()

    shown = page.locator("#new-token")
    await expect(shown).to_be_visible()
    token = await shown.input_value()
    assert token.startswith("sfpat_")
    await page.get_by_role("button", name="Copy").click()
    await expect(page.locator(".copied")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == token
    row = page.locator("tr[data-token='harbor <prod>']")
    await expect(row).to_contain_text("Active")
    await expect(row).to_contain_text("job")
    await screenshot(page, "tokens")
    assert await open_api_status(console, token) == 200

    await page.get_by_role("link", name="Tokens").click()
    assert token not in await page.content()  # shown once
    await expect(row).not_to_contain_text("never")  # the Open API call was recorded

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_contain_text("revoked")
    await expect(row).to_contain_text("Revoked")
    await expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert await open_api_status(console, token) in (401, 403)


async def test_dismissed_confirmation_keeps_the_token(page: Page, console: Console) -> None:
    await sign_in(page, console, "/developer/personal-access-tokens")
    await page.get_by_label("Name").fill("kept")
    await page.get_by_role("button", name="Create token").click()
    token = await page.locator("#new-token").input_value()
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.get_by_role("button", name="Revoke").click()
    await expect(page.locator("tr[data-token='kept']")).to_contain_text("Active")
    assert await open_api_status(console, token) == 200


async def test_token_form_problems_are_shown(page: Page, console: Console) -> None:
    await sign_in(page, console, "/developer/personal-access-tokens")
    await page.get_by_label("Name").fill("twice")
    await page.get_by_role("button", name="Create token").click()
    await page.get_by_label("Name").fill("twice")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#name-error")).to_contain_text("exists already")
    await page.get_by_label("job").uncheck()
    await page.get_by_label("Name").fill("no scope")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("#scopes-error")).to_contain_text("at least one scope")
