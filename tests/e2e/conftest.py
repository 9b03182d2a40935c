"""End-to-end fixtures: the real system (API + worker processes, broker, database) and
Debian's Chromium driven by Playwright. Nothing is downloaded: the browser is the system's."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.backends import Backend
from tests.support.harness import api_server, start_worker, stop

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def system(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """API and worker as real processes with the real processors; yields the base URL."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    env = backend.env(processors="ultudy.jobs.processors:REGISTRY", progress_interval_ms=100)
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        with api_server(env, tmp_path / "api.log") as base:
            yield base
    finally:
        stop(worker)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


async def signed_in(browser: Browser, base: str, user: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(base_url=base, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.goto("/")
    await page.wait_for_url("**/signin")
    await page.fill("#signin-value", user)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
    return context, page


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
