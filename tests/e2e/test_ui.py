"""The web UI in headless Chromium against the real system."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, expect

from tests.e2e.conftest import System, post_from_page, screenshot, signed_in
from tests.support.backends import Backend
from ultudy.api.auth import SESSION_COOKIE, create_token

pytestmark = pytest.mark.only_backends("sqlite", "postgres")
PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
CAD = PDFS / "deb-asymptote-doc__CAD.pdf"
UPLOAD_QUEUE = "/admin/api/queues/material-upload"
STREAM = re.compile(r"/jobs/events(\?|$)")


async def upload(page: Page, path: Path = CAD) -> None:
    await page.set_input_files("#upload-file", str(path))
    await page.click("#upload-form button[type=submit]")


async def test_upload_lesson_check_in_and_the_panel(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "alice")
    await expect(page.locator("#live")).to_have_text("● live")
    await screenshot(page, "library")
    await upload(page)
    modal = page.locator("#modal")
    await expect(modal).to_be_visible()
    bar = modal.locator("[role=progressbar]")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30000)
    await expect(modal).to_be_hidden(timeout=10000)
    await expect(
        page.locator("#toasts .toast.success", has_text="4 sections found")
    ).to_be_visible()
    await expect(page.locator("#documents a")).to_have_count(1)

    await page.click("#documents a")
    await expect(page.locator(".section-title").first).to_have_text("1 Introduction")
    await expect(page.locator(".section-title")).to_have_count(4)
    await screenshot(page, "document")
    usage = page.locator(".section", has_text="3 Usage")
    await expect(usage.get_by_role("link", name="Open lesson")).to_be_hidden()
    await usage.locator("[data-generate]").click()
    inline = usage.locator("[role=progressbar]")
    await expect(inline).to_have_attribute("aria-valuenow", "100", timeout=30000)
    await usage.get_by_role("link", name="Open lesson").click()

    await expect(page.locator("#summary")).not_to_be_empty()
    await expect(page.locator("#concepts dt").first).to_be_visible()
    for question in await page.locator(".question").all():
        radios = question.locator("input[type=radio]")
        if await radios.count():
            await radios.first.check()
        else:
            await question.locator("textarea").fill("I am not sure about this one.")
    await page.click("#checkin-form button[type=submit]")
    await expect(page.locator("#checkin-result h3").first).to_contain_text("Score", timeout=30000)
    await expect(page.locator(".mastery tbody tr").first).to_be_visible()
    await expect(page.locator("#toasts .toast").first).to_be_visible()
    await screenshot(page, "lesson")

    await page.click("#panel-toggle")
    panel = page.locator("#panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("li.job")).to_have_count(3)
    await expect(panel.locator("li.job[data-status=completed]")).to_have_count(3)
    await screenshot(page, "panel")
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await context.close()


async def test_panel_shows_a_job_as_it_changes(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "carol")
    await expect(page.locator("#live")).to_have_text("● live")
    await page.click("#panel-toggle")
    panel = page.locator("#panel")
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/pause")
    await upload(page, PDFS / "deb-r-doc-pdf__R-data.pdf")
    row = panel.locator("li.job")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "pending")
    await expect(page.locator("#active-count")).to_have_text("1")
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/resume")
    await expect(row).to_have_attribute("data-status", "completed", timeout=30000)
    await expect(row.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    await expect(page.locator("#active-count")).to_have_text("0")
    await page.goto("/jobs-view")
    await page.select_option("[data-filter=type]", "lesson_generation")
    await expect(page.locator("main li.job")).to_have_count(0)
    await page.select_option("[data-filter=type]", "material_upload")
    await expect(page.locator("main li.job")).to_have_count(1)
    await screenshot(page, "jobs")
    await context.close()


async def test_dropped_stream_falls_back_to_polling_and_finishes(
    system: System, browser: Browser
) -> None:
    context, page = await signed_in(browser, system.base, "dave")
    await expect(page.locator("#live")).to_have_text("● live")
    polled: list[str] = []

    def note(request: Request) -> None:
        if re.search(r"/jobs/[0-9a-f-]{36}$", request.url):
            polled.append(request.url)

    page.on("request", note)
    # Hold the job in its queue so that it runs only after the stream is gone.
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/pause")
    await upload(page, PDFS / "deb-r-doc-pdf__R-data.pdf")
    bar = page.locator("#modal [role=progressbar]")
    await expect(bar).to_have_attribute("aria-valuenow", "0")
    # The stream really drops (the API restarts) and stays down: reconnects are refused.
    await context.route(STREAM, lambda route: route.abort())
    await asyncio.to_thread(system.restart_api)
    await expect(page.locator("#live")).to_have_text("○ polling")
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/resume")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30000)
    assert len(polled) >= 2, polled
    await screenshot(page, "polling-fallback")
    await context.unroute(STREAM)
    await expect(page.locator("#live")).to_have_text("● live", timeout=30000)
    await context.close()


async def test_two_users_never_see_each_others_jobs(system: System, browser: Browser) -> None:
    erin, erin_page = await signed_in(browser, system.base, "erin")
    frank, frank_page = await signed_in(browser, system.base, "frank")
    await expect(frank_page.locator("#live")).to_have_text("● live")
    await upload(erin_page)
    await expect(erin_page.locator("#documents a")).to_have_count(1, timeout=30000)
    await frank_page.click("#panel-toggle")
    await expect(frank_page.locator("#panel .muted")).to_have_text("No jobs yet.")
    await frank_page.reload()
    await expect(frank_page.locator("#documents li")).to_have_text(re.compile("No documents"))
    await frank_page.goto("/jobs-view")
    await expect(frank_page.locator("main li.job")).to_have_count(0)
    await expect(frank_page.locator("#toasts .toast")).to_have_count(0)
    await erin.close()
    await frank.close()


async def test_admin_dashboard_pauses_and_resumes_a_queue(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "ops")
    await page.goto("/admin")
    row = page.locator("tr[data-queue=lesson-generation]")
    await expect(row).to_contain_text("running")
    await row.locator("[data-queue-action]").click()
    await expect(row).to_contain_text("paused")
    await screenshot(page, "admin")
    await row.locator("[data-queue-action]").click()
    await expect(row).to_contain_text("running")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto("/")
    await screenshot(page, "library-narrow")
    await context.close()


async def test_token_mode_signs_in_with_a_secure_cookie_and_out_for_good(
    backend: Backend, browser: Browser, tmp_path: Path
) -> None:
    # A short TTL: the revocation this test leaves in a shared Redis goes within minutes.
    mode = {"auth": "token", "secret_key": "s" * 40, "token_ttl_s": 600}
    token = create_token(backend.settings(**mode), "erin")
    running = System(env=backend.env(**mode), log=tmp_path / "api.log")
    running.start_api()
    try:
        context, page = await signed_in(browser, running.base, token)
        cookie = next(c for c in await context.cookies() if c["name"] == SESSION_COOKIE)
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
        await page.click("#signout")
        await page.wait_for_url("**/signin")
        async with httpx.AsyncClient(base_url=running.base) as client:
            replay = await client.get(
                "/session", headers={"cookie": f"{SESSION_COOKIE}={cookie['value']}"}
            )
        assert replay.status_code == 401
        await context.close()
    finally:
        running.stop_api()
