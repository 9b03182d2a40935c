"""End-to-end fixtures: the real system (API + worker processes, broker, database) and
Debian's Chromium driven by Playwright. Nothing is downloaded: the browser is the system's."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.backends import Backend
from tests.support.harness import ROOT, start_worker, stop

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 90  # a shared 2-core machine under load has taken over 30 s


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class System:
    """The API process on a fixed port, so that it can be restarted under the browser."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_api(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ultudy", "api"],
            env={**self.env, "ULTUDY_PORT": str(self.port)},
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.base}/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop_api(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def restart_api(self) -> None:
        """Every open stream drops, as it would on a deploy or a proxy timeout."""
        self.stop_api()
        self.start_api()


@contextmanager
def real_system(backend: Backend, tmp_path: Path, **overrides: Any) -> Iterator[System]:
    """API and worker as real processes with the real processors; links in emails point
    at this API."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    env = backend.env(
        processors="ultudy.processors:REGISTRY", progress_interval_ms=100, **overrides
    )
    running = System(env=env, log=tmp_path / "api.log")
    env["ULTUDY_PUBLIC_URL"] = running.base
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        running.start_api()
        yield running
    finally:
        running.stop_api()
        stop(worker)


@pytest.fixture
def system(backend: Backend, tmp_path: Path) -> Iterator[System]:
    with real_system(backend, tmp_path) as running:
        yield running


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


async def post_from_page(page: Page, path: str) -> bool:
    """A POST by the page's own fetch, as the dashboard sends it (same-origin headers)."""
    ok: bool = await page.evaluate("p => fetch(p, {method: 'POST'}).then(r => r.ok)", path)
    return ok
