"""Job dependencies in the browser (issue 14): a job's live "waiting for …" state in the
panel, and the upload form's "also prepare lessons" fan-out, against the real system."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import System, post_from_page, screenshot, signed_in

pytestmark = pytest.mark.only_backends("sqlite", "postgres")
PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
CAD = PDFS / "deb-asymptote-doc__CAD.pdf"
UPLOAD_QUEUE = "/admin/api/queues/material-upload"


async def test_panel_shows_a_job_waiting_for_another_live(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "erin")
    await expect(page.locator("#live")).to_have_text("● live")
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/pause")
    await page.set_input_files("#upload-file", str(CAD))
    await page.click("#upload-form button[type=submit]")
    await page.locator("#modal [data-close]").click()
    await page.click("#panel-toggle")
    panel = page.locator("#panel")
    first = panel.locator("li.job")
    await expect(first).to_have_count(1)
    first_id = await first.get_attribute("data-job-id")
    assert first_id
    async with httpx.AsyncClient(base_url=system.base) as client:
        response = await client.post(
            "/upload/pdf-structured-async",
            params={"depends_on": first_id},
            files={"file": ("cad.pdf", CAD.read_bytes(), "application/pdf")},
            headers={"x-user-id": "erin"},
        )
    assert response.status_code == 202, response.text
    waiting = panel.locator(f"li.job[data-job-id='{response.json()['job_id']}']")
    await expect(waiting.locator(".status")).to_have_text("waiting")
    await expect(waiting.locator(".bar-text")).to_have_text(
        f"waiting for Material upload {first_id[:8]}"
    )
    await screenshot(page, "panel-waiting")
    assert await post_from_page(page, f"{UPLOAD_QUEUE}/resume")
    await expect(waiting).to_have_attribute("data-status", "completed", timeout=60000)
    await expect(panel.locator("li.job[data-status=completed]")).to_have_count(2)
    await context.close()


async def test_upload_with_also_prepare_lessons_fills_the_panel(
    system: System, browser: Browser
) -> None:
    context, page = await signed_in(browser, system.base, "frank")
    await expect(page.locator("#live")).to_have_text("● live")
    await page.set_input_files("#upload-file", str(CAD))
    await page.check("#upload-lessons")
    await page.fill("#upload-lesson-count", "2")
    await page.click("#upload-form button[type=submit]")
    await expect(page.locator("#modal")).to_be_hidden(timeout=30000)
    await page.click("#panel-toggle")
    panel = page.locator("#panel")
    lessons = panel.locator("li.job", has_text="Lesson generation")
    await expect(lessons).to_have_count(2, timeout=30000)
    await expect(panel.locator("li.job[data-status=completed]")).to_have_count(3, timeout=60000)
    await screenshot(page, "panel-prepared-lessons")
    await page.goto("/")
    await page.locator("#documents a").first.click()
    await expect(page.get_by_role("link", name="Open lesson")).to_have_count(2)
    await context.close()
