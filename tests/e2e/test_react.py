"""The React package's example app (clients/react/example) in headless Chromium, served
from one origin, against the real API + worker on another (cross-origin, CORS)."""

from __future__ import annotations

import asyncio
import functools
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, expect

from tests.e2e.conftest import System, screenshot
from tests.support.backends import Backend
from tests.support.harness import ROOT, start_worker, stop

pytestmark = pytest.mark.only_backends("sqlite", "postgres")
PACKAGE = ROOT / "clients" / "react"
PDFS = Path(__file__).resolve().parents[1] / "data" / "pdfs"
CAD = PDFS / "deb-asymptote-doc__CAD.pdf"
R_DATA = PDFS / "deb-r-doc-pdf__R-data.pdf"
UPLOAD_QUEUE = "/admin/api/queues/material-upload"
STREAM = re.compile(r"/jobs/events(\?|$)")
JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")
# Every value any progress bar of the page showed, however briefly (a modal at 100 % closes
# itself after a second: too short for a busy machine's polling assertions to be sure to see).
RECORD_PROGRESS = """
window.progressSeen = [];
const note = (el) => el.getAttribute && el.hasAttribute("aria-valuenow")
  && window.progressSeen.push(el.getAttribute("aria-valuenow"));
new MutationObserver((records) => {
  for (const r of records) {
    note(r.target);
    for (const node of r.addedNodes) {
      if (node.querySelectorAll) [node, ...node.querySelectorAll("[aria-valuenow]")].forEach(note);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ["aria-valuenow"]});
"""


def npm(*args: str) -> None:
    done = subprocess.run(["npm", *args], cwd=PACKAGE, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def example_dist() -> Path:
    """The package built, then the example app built against it (npm ci ran in make test)."""
    if not (PACKAGE / "node_modules" / ".bin" / "vite").exists():
        pytest.fail("clients/react has no node_modules: run `make test-deps` (npm ci)")
    npm("run", "build")
    npm("run", "example:build")
    return PACKAGE / "example" / "dist"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def example(example_dist: Path) -> Iterator[str]:
    """The built example app, served as static files on a port of its own."""
    handler = functools.partial(_Quiet, directory=str(example_dist))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="example-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def system(backend: Backend, tmp_path: Path, example: str) -> Iterator[System]:
    """API + worker as real processes; the example's origin is on the CORS allow-list."""
    env = backend.env(
        processors="ultudy.processors:REGISTRY", progress_interval_ms=100, cors_origins=example
    )
    worker = start_worker(env, log=tmp_path / "worker.log")
    running = System(env=env, log=tmp_path / "api.log")
    try:
        running.start_api()
        yield running
    finally:
        running.stop_api()
        stop(worker)


async def open_app(
    browser: Browser, example: str, system: System, user: str
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.add_init_script(RECORD_PROGRESS)
    await page.goto(f"{example}/?api={system.base}&user={user}")
    await expect(page.locator(".live")).to_have_text("● live", timeout=30000)
    return context, page


async def queue(system: System, action: str) -> None:
    url = f"{system.base}{UPLOAD_QUEUE}/{action}"
    answer = await asyncio.to_thread(httpx.post, url, headers={"x-user-id": "ops"})
    assert answer.status_code == 200, answer.text


async def upload(page: Page, path: Path = CAD) -> None:
    await page.get_by_role("button", name="Upload", exact=True).click()
    await page.set_input_files("input[type=file]", str(path))


async def test_upload_modal_then_a_lesson_with_inline_progress(
    system: System, browser: Browser, example: str
) -> None:
    context, page = await open_app(browser, example, system, "alice")
    await upload(page)
    modal = page.get_by_role("dialog", name="Uploading Material")
    await expect(modal).to_be_visible()
    await expect(modal).to_be_hidden(timeout=60000)
    assert "100" in await page.evaluate("window.progressSeen")
    await expect(page.locator(".ujr-toast", has_text="Upload completed")).to_be_visible()
    await expect(page.locator(".section-title")).to_have_count(4)
    usage = page.locator(".section", has_text="3 Usage")
    await usage.get_by_role("button", name="Generate Lesson").click()
    inline = usage.get_by_role("progressbar")
    await expect(inline).to_have_attribute("aria-valuenow", "100", timeout=30000)
    await expect(usage.locator(".lesson-summary")).not_to_be_empty()
    await expect(page.locator(".ujr-toast", has_text="Lesson completed")).to_be_visible()
    await screenshot(page, "react-lesson")
    await context.close()


async def test_the_panel_lists_jobs_live(system: System, browser: Browser, example: str) -> None:
    context, page = await open_app(browser, example, system, "carol")
    await page.get_by_role("button", name="View Jobs").click()
    panel = page.get_by_role("dialog", name="Jobs")
    await expect(panel.locator(".ujr-queue-empty")).to_have_text("No jobs.")
    await queue(system, "pause")
    await upload(page, R_DATA)
    row = panel.locator("li.ujr-job")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "pending")
    await screenshot(page, "react-panel")
    await queue(system, "resume")
    await expect(row).to_have_attribute("data-status", "completed", timeout=30000)
    await panel.get_by_label("Type").select_option("lesson_generation")
    await expect(row).to_have_count(0)
    await panel.get_by_label("Type").select_option("material_upload")
    await expect(row).to_have_count(1)
    await context.close()


async def test_a_dropped_stream_falls_back_to_polling_and_finishes(
    system: System, browser: Browser, example: str
) -> None:
    context, page = await open_app(browser, example, system, "dave")
    polled: list[str] = []

    def note(request: Request) -> None:
        if JOB_URL.search(request.url):
            polled.append(request.url)

    page.on("requestfinished", note)  # answered polls
    await queue(system, "pause")  # the job runs only after the stream is gone
    await upload(page, R_DATA)
    modal = page.get_by_role("dialog", name="Uploading Material")
    await expect(modal.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
    # The stream really drops (the API restarts) and stays down: reconnects are refused.
    await context.route(STREAM, lambda route: route.abort())
    await asyncio.to_thread(system.restart_api)
    await expect(page.locator(".live")).to_have_text("○ polling")
    polled.clear()
    # One poll sees the job still pending, so its end can only come from a later poll.
    for _ in range(100):
        if polled:
            break
        await asyncio.sleep(0.1)
    assert polled, "no poll within 10 s of the stream going down"
    await queue(system, "resume")
    await expect(modal).to_be_hidden(timeout=60000)
    assert "100" in await page.evaluate("window.progressSeen")
    assert len(polled) >= 2, polled
    await context.unroute(STREAM)
    await expect(page.locator(".live")).to_have_text("● live", timeout=30000)
    await context.close()


async def test_two_users_see_only_their_own_jobs(
    system: System, browser: Browser, example: str
) -> None:
    erin, erin_page = await open_app(browser, example, system, "erin")
    frank, frank_page = await open_app(browser, example, system, "frank")
    await upload(erin_page)
    await expect(erin_page.locator(".section-title")).to_have_count(4, timeout=30000)
    await expect(erin_page.locator(".ujr-toast", has_text="Upload completed")).to_be_visible()
    for page in (erin_page, frank_page):
        await page.get_by_role("button", name="View Jobs").click()
    await expect(erin_page.locator(".ujr-panel li.ujr-job")).to_have_count(1)
    await expect(frank_page.locator(".ujr-panel .ujr-queue-empty")).to_have_text("No jobs.")
    await expect(frank_page.locator(".ujr-toast")).to_have_count(0)
    await erin.close()
    await frank.close()
