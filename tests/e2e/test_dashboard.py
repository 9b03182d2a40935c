"""Issue 15, the dashboard in Chromium: charts, search, a job's detail and promote, live;
and the jobs page without a script error. Screenshots of the dashboard go to docs/."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import SCREENSHOTS, System, signed_in
from tests.support.harness import eventually

pytestmark = pytest.mark.only_backends("sqlite", "postgres")
PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
GOOD = PDFS / "deb-asymptote-doc__CAD.pdf"
ENCRYPTED = PDFS / "pypi-pypdf__crazyones-encrypted-256.pdf"
# The README's pictures are written to docs/ only when asked for (ULTUDY_UPDATE_DOCS=1), so
# a test run leaves the tracked files alone; otherwise beside the other screenshots.
DOCS = (
    Path(__file__).resolve().parents[2] / "docs"
    if os.environ.get("ULTUDY_UPDATE_DOCS") == "1"
    else SCREENSHOTS
)


async def submit(system: System, user: str, pdf: Path, query: str = "") -> str:
    content = await asyncio.to_thread(pdf.read_bytes)
    async with httpx.AsyncClient(base_url=system.base, headers={"x-user-id": user}) as client:
        files = {"file": (pdf.name, content, "application/pdf")}
        response = await client.post(f"/upload/pdf-structured-async{query}", files=files)
        assert response.status_code == 202, response.text
        job_id: str = response.json()["job_id"]
        return job_id


async def ended(system: System, user: str, job_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=system.base, headers={"x-user-id": user}) as client:

        async def probe() -> dict[str, Any]:
            body: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
            return body

        return await eventually(probe, lambda j: j["status"] in ("completed", "failed"), timeout=60)


async def doc_shot(locator: Locator, name: str) -> None:
    """A small PNG of one part of the page, for the README (no toast over it)."""
    await locator.page.evaluate(
        "document.querySelectorAll('#toasts .toast').forEach(t => t.remove())"
    )
    DOCS.mkdir(parents=True, exist_ok=True)
    await locator.screenshot(path=str(DOCS / f"{name}.png"), scale="css")


async def sum_of(page: Page, selector: str, attribute: str) -> float:
    total: float = await page.eval_on_selector_all(
        selector, f"nodes => nodes.reduce((s, n) => s + Number(n.dataset.{attribute}), 0)"
    )
    return total


async def test_charts_search_detail_and_promote(system: System, browser: Browser) -> None:
    done = [await submit(system, "zoe", GOOD) for _ in range(2)]
    broken = await submit(system, "yan", ENCRYPTED)
    later = await submit(system, "zoe", GOOD, "?delay_s=3600")
    for job_id in done:
        assert (await ended(system, "zoe", job_id))["status"] == "completed"
    assert (await ended(system, "yan", broken))["status"] == "failed"

    context, page = await signed_in(browser, system.base, "ops")
    await page.set_viewport_size({"width": 900, "height": 800})
    await page.goto("/admin")
    # Charts: this minute's (or, across a minute's turn, the last two minutes') bars.
    await expect(page.locator("#throughput rect.bar-failed")).to_have_count(1)
    assert await sum_of(page, "#throughput rect.bar-done", "count") == 2
    assert await sum_of(page, "#throughput rect.bar-failed", "count") == 1
    rates = page.locator("#failure-rate circle.rate-point")
    assert await rates.count() in (1, 2)
    uploads = page.locator("#durations tr[data-durations=material-upload] td")
    await expect(uploads.nth(1)).to_have_text("2")
    await expect(uploads.nth(3)).to_have_text("33.3 %")
    await expect(uploads.nth(6)).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))  # run p50
    await page.select_option("#chart-queue", "lesson-generation")
    await expect(page.locator("#throughput rect")).to_have_count(0)
    await page.select_option("#chart-queue", "")
    await doc_shot(page.locator("#charts"), "dashboard-charts")

    # Search across owners.
    await page.fill("#search-form [name=owner]", "zoe")
    await page.select_option("#search-form [name=status]", "pending")
    await page.click("#search-form button[type=submit]")
    found = page.locator("#search-results tr[data-job]")
    await expect(found).to_have_count(1)
    await expect(found).to_have_attribute("data-job", later)
    await page.select_option("#search-form [name=status]", "")
    await page.click("#search-form button[type=submit]")
    await expect(found).to_have_count(3)
    await doc_shot(page.locator("#search-form").locator(".."), "dashboard-search")

    # The delayed job's detail, promoted; the page follows it to its end without a reload.
    await page.click(f"[data-open-job='{later}']")
    detail = page.locator("#job-detail")
    await expect(detail.locator("#detail-status")).to_have_text("pending")
    await expect(detail.locator("tr[data-event='run at']")).to_have_count(1)
    await expect(detail.locator("pre.json").first).to_contain_text(GOOD.stem[:10])
    await detail.locator("[data-action=promote]").click()
    await expect(detail.locator("#detail-status")).to_have_text("completed", timeout=30000)
    await expect(detail.locator("tr[data-event='job.completed']")).to_have_count(1)
    await expect(detail.locator("pre.json").nth(1)).to_contain_text("document_id")
    await expect(detail.locator("[data-action]")).to_have_count(0)
    await doc_shot(detail, "dashboard-job")

    # A failed job's detail: its error, and retry.
    await page.click(f"#failed [data-open-job='{broken}']")
    await expect(detail.locator(".form-error")).to_contain_text("password")
    await expect(detail.locator("[data-action=retry]")).to_have_count(1)
    await context.close()


async def test_jobs_page_runs_without_a_script_error(system: System, browser: Browser) -> None:
    context, page = await signed_in(browser, system.base, "uma")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/jobs-view")
    await expect(page.locator("main [data-job-list]")).to_contain_text("No jobs yet")
    await page.select_option("[data-filter=status]", "failed")
    await asyncio.sleep(0.5)  # any error of the page's start has surfaced by now
    assert errors == []
    await context.close()
