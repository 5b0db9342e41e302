"""Preheating in the browser: a file preheat and an image preheat made with the form, seen
turning to success while their pages stay open (htmx polls, no reload: a marker set on
``window`` survives), a failed one showing its error, the form's checks in the browser and
from the server, filtering and paging, and "preheat again"."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from swarmfly.manager.appkeys import JOBS
from swarmfly.wire.manager import BlobResult, BlobState, WorkItem, WorkProgress, WorkResult
from tests.console.conftest import Console, job_id_of, screenshot, sign_in
from tests.integration.manager.scheduler import SEED, FakeScheduler

pytestmark = pytest.mark.asyncio(loop_scope="session")

MANIFEST = "https://registry.test:5000/v2/test/team/app/manifests/v1.0"
FILES = [
    "https://files.test/releases/big.tar.gz?Expires=1&Signature=abc",
    "https://files.test/b.iso",
]
MiB = 1 << 20


def blob(
    url: str, done: int, size: int = 64 * MiB, state: BlobState = BlobState.PENDING
) -> BlobResult:
    return BlobResult(
        url=url,
        task_id=f"{abs(hash(url)):064x}"[-64:],
        hostname=SEED.hostname,
        ip=SEED.ip,
        size=size,
        bytes_done=done,
        state=state,
    )


async def report(scheduler: FakeScheduler, work: WorkItem, blobs: list[BlobResult]) -> None:
    await scheduler.client.progress(
        work.work_id, WorkProgress(blobs=blobs), scheduler_id=scheduler.id
    )


async def finish(
    scheduler: FakeScheduler, work: WorkItem, blobs: list[BlobResult], error: str = ""
) -> None:
    result = WorkResult(success=not error, error=error, blobs=blobs)
    await scheduler.client.result(work.work_id, result, scheduler_id=scheduler.id)


async def claim(scheduler: FakeScheduler) -> WorkItem:
    work = await scheduler.claim()
    assert work is not None, "the job the browser made was not there to claim"
    return work


async def mark_page(page: Page) -> None:
    """Set a marker a reload would lose."""
    await page.evaluate("window.__stayed = true")


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.__stayed === true"), "the page was reloaded"


async def test_file_preheat_turns_to_success_live(
    page: Page, console: Console, scheduler: FakeScheduler
) -> None:
    await sign_in(page, console)
    await page.get_by_role("link", name="New preheat").click()
    await page.get_by_label("Description").fill("nightly release files")
    await page.locator("#url-0").fill(FILES[0])
    await page.get_by_role("button", name="+ Add URL").click()
    await page.locator("#url-1").fill(FILES[1])
    await page.get_by_label("Tag").fill("nightly")
    await page.get_by_role("button", name="+ Add header").click()
    await page.get_by_label("Header name").fill("X-Team")
    await page.get_by_label("Header value").fill("builds")
    await page.get_by_label("Piece length").select_option(label="16.0 MiB")
    await page.get_by_label("All seed peers").check()
    await screenshot(page, "form-file")
    await page.get_by_role("button", name="Preheat", exact=True).click()

    await expect(page.get_by_role("heading", name="Preheat #")).to_be_visible()
    job_id = job_id_of(page)
    state = page.locator("#job-state")
    await expect(state).to_contain_text("Pending")
    await expect(page.get_by_text("Waiting for a scheduler")).to_be_visible()
    args = page.locator("dl.args")
    await expect(args).to_contain_text("nightly release files")
    await expect(args).to_contain_text(FILES[1])
    await expect(args).to_contain_text("X-Team: builds")
    await expect(args).to_contain_text("16.0 MiB")
    await expect(args).to_contain_text("All seed peers")
    await mark_page(page)

    work = await claim(scheduler)
    assert work.job_id == job_id
    assert work.args.urls == [FILES[1]] and work.args.piece_length == 16 * MiB
    await report(scheduler, work, [blob(FILES[0], 16 * MiB), blob(FILES[1], 0)])
    bar = page.locator("progress[value='25']")
    await expect(bar).to_be_visible()
    await expect(page.locator("tr", has=bar)).to_contain_text("64.0 MiB")
    await expect(page.locator("tr", has=bar)).to_contain_text("seed-1 (127.0.0.1)")
    await screenshot(page, "job-running")

    done = [blob(url, 64 * MiB, state=BlobState.SUCCESS) for url in FILES]
    await finish(scheduler, work, done)
    await expect(state).to_contain_text("Success")
    await expect(page.locator("progress[value='100']")).to_have_count(2)
    await expect(page.locator("#job-status")).not_to_have_attribute("hx-trigger", "every 2s")
    await assert_not_reloaded(page)
    await screenshot(page, "job-success")


async def test_image_preheat_turns_to_success_on_the_list(
    page: Page, console: Console, scheduler: FakeScheduler
) -> None:
    await sign_in(page, console)
    await page.goto(f"{console.url}/jobs/preheats/new")
    await page.get_by_label("Image").check()
    await expect(page.get_by_role("button", name="+ Add URL")).to_be_hidden()
    await page.get_by_label("Description").fill("app v1.0 for the farm")
    await page.locator("#url-0").fill(MANIFEST)
    await page.get_by_label("Username").fill("robot$farm")
    await page.get_by_label("Password").fill("s3cret-registry-pass")
    await page.get_by_label("Platform").fill("linux/arm64")
    await screenshot(page, "form-image")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    await expect(page.locator("#job-state")).to_contain_text("Pending")
    job_id = job_id_of(page)
    await expect(page.locator("dl.args")).to_contain_text("••••")
    assert "s3cret-registry-pass" not in await page.content()

    await page.get_by_role("link", name="← Preheats").click()
    row = page.locator(f"tr[data-job-id='{job_id}']")
    await expect(row).to_contain_text("Pending")
    await expect(row).to_contain_text("app v1.0 for the farm")
    await expect(row).to_contain_text(MANIFEST)
    await expect(page.locator("#preheat-rows")).to_have_attribute("hx-trigger", "every 2s")
    await mark_page(page)

    work = await claim(scheduler)
    assert work.args.password == "s3cret-registry-pass" and work.args.platform == "linux/arm64"
    await scheduler.preheat(work, ["a" * 64, "b" * 64])
    await expect(row).to_contain_text("Success")
    await expect(row.locator(".badge.success")).to_contain_text("✓")
    await expect(page.locator("#preheat-rows")).to_have_attribute("data-pending", "no")
    await assert_not_reloaded(page)
    await console.make_job("a pending neighbour")
    await page.reload()
    await screenshot(page, "list")


async def test_failed_preheat_shows_its_error(
    page: Page, console: Console, scheduler: FakeScheduler
) -> None:
    await sign_in(page, console)
    await page.goto(f"{console.url}/jobs/preheats/new")
    await page.get_by_label("Image").check()
    await page.locator("#url-0").fill(MANIFEST)
    await page.get_by_label("Username").fill("robot")
    await page.get_by_label("Password").fill("wrong-password")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    await expect(page.locator("#job-state")).to_contain_text("Pending")
    await mark_page(page)

    work = await claim(scheduler)
    refused = "registry.test:5000 refused the credentials: invalid username or password"
    await finish(scheduler, work, [], error=refused)
    alert = page.locator("#job-error")
    await expect(alert).to_contain_text("This preheat failed")
    await expect(alert).to_contain_text(f"On cluster-1: {refused}")
    await expect(page.locator("#job-state")).to_contain_text("Failure")
    await assert_not_reloaded(page)
    await screenshot(page, "job-failure")

    await page.get_by_role("link", name="← Preheats").click()
    await page.get_by_role("link", name="Failure").click()
    rows = page.locator("#preheat-rows tr[data-job-id]")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".badge.failure")).to_contain_text("✕ Failure")


async def test_form_checks_in_the_browser_and_shows_the_servers_problems(
    page: Page, console: Console
) -> None:
    await sign_in(page, console, "/jobs/preheats/new")
    await page.get_by_label("Image").check()
    url = page.locator("#url-0")
    await url.fill("https://registry.test/library/app:v1")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    assert "manifest URL" in await url.evaluate("input => input.validationMessage")
    assert page.url.endswith("/jobs/preheats/new")  # the browser did not send it

    await url.fill(MANIFEST)
    await page.get_by_label("Platform").fill("arm64")
    await page.get_by_label("Description").fill("<b>kept as typed</b>")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    problem = page.locator("#platform-error")
    await expect(problem).to_contain_text("must look like os/arch[/variant]")
    await expect(page.get_by_label("Platform")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Description")).to_have_value("<b>kept as typed</b>")
    await expect(page.get_by_label("Image")).to_be_checked()
    await screenshot(page, "form-errors")

    await page.get_by_label("File").check()
    await url.fill("ftp://files.test/a")  # type=url accepts it; the server does not
    await page.get_by_role("button", name="Preheat", exact=True).click()
    await expect(page.locator("#url-0-error")).to_contain_text("not an http(s) URL")
    assert await console.app[JOBS].page(1, 10, job_type=None, state=None) == ([], 0)


async def test_filter_and_pages(page: Page, console: Console, scheduler: FakeScheduler) -> None:
    ids = [await console.make_job(f"job {n}") for n in range(12)]
    work = await claim(scheduler)
    await scheduler.preheat(work, ["c" * 64])
    await sign_in(page, console)
    rows = page.locator("#preheat-rows tr[data-job-id]")
    await expect(rows).to_have_count(10)
    await expect(rows.first).to_have_attribute("data-job-id", str(ids[-1]))  # newest first
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    await page.get_by_role("link", name="Older →").click()
    await expect(rows).to_have_count(2)
    await expect(rows.last).to_have_attribute("data-job-id", str(ids[0]))
    await page.get_by_role("link", name="Success").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-job-id", str(work.job_id))
    await page.get_by_role("link", name="Pending").click()
    await expect(rows).to_have_count(10)
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()


async def test_preheat_again(page: Page, console: Console, scheduler: FakeScheduler) -> None:
    await sign_in(page, console, "/jobs/preheats/new")
    await page.get_by_label("Image").check()
    await page.locator("#url-0").fill(MANIFEST)
    await page.get_by_label("Username").fill("robot")
    await page.get_by_label("Password").fill("kept-while-pending")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    first = job_id_of(page)

    # pending: its stored password is reused server-side
    await page.get_by_role("button", name="Preheat again").click()
    await expect(page.get_by_role("heading", name="Preheat #")).to_be_visible()
    second = job_id_of(page)
    assert second != first
    stored = await console.app[JOBS].stored(second)
    assert stored.spec.password == "kept-while-pending"
    assert "kept-while-pending" not in await page.content()

    # ended: the secrets were scrubbed, so the form comes back filled in, password empty
    for _ in range(2):
        await scheduler.preheat(await claim(scheduler), ["d" * 64])
    await page.goto(f"{console.url}/jobs/preheats/{first}")
    await page.get_by_role("button", name="Preheat again").click()
    await expect(page.get_by_role("status")).to_contain_text("Enter them again")
    await expect(page.locator("#url-0")).to_have_value(MANIFEST)
    await expect(page.get_by_label("Username")).to_have_value("robot")
    await expect(page.get_by_label("Password")).to_have_value("")
    await page.get_by_label("Password").fill("typed-again")
    await page.get_by_role("button", name="Preheat", exact=True).click()
    third = job_id_of(page)
    assert (await console.app[JOBS].stored(third)).spec.password == "typed-again"


async def test_readable_on_a_phone(page: Page, console: Console) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await console.make_job("on a phone", "https://files.test/a-rather-long/path/to/a/file.tar.gz")
    await sign_in(page, console)
    row = page.locator("#preheat-rows tr[data-job-id]").first
    await expect(row).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the list scrolls sideways on a phone ({width} px)"
    await screenshot(page, "list-phone")
    await page.get_by_role("link", name="New preheat").click()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "form-phone")
