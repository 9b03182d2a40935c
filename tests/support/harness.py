"""Helpers to drive the real system from tests: the API in-process, workers in-process or
as real subprocesses, and waiting for states with a deadline (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.processors import REGISTRY
from ultudy.api.app import create_app
from ultudy.api.state import AppState
from ultudy.config import Settings
from ultudy.jobs.context import Registry
from ultudy.jobs.worker import WorkerProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def api(
    settings: Settings, registry: Registry = REGISTRY
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    app = create_app(settings, registry=registry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app.state.ultudy


async def run_burst(settings: Settings, registry: Registry = REGISTRY) -> None:
    """Run a worker in this process until every queue is empty."""
    assert settings.redis_url
    worker = WorkerProcess(settings, redis_url=settings.redis_url, registry=registry)
    await asyncio.wait_for(worker.run(burst=True), timeout=60)


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float = 15
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def wait_for_status(
    client: httpx.AsyncClient, job_id: str, status: str | set[str], *, user: str,
    timeout: float = 15,
) -> dict[str, Any]:  # fmt: skip
    wanted = {status} if isinstance(status, str) else status

    async def probe() -> dict[str, Any]:
        response = await client.get(f"/jobs/{job_id}", headers={"x-user-id": user})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return await eventually(probe, lambda job: job["status"] in wanted, timeout=timeout)


def start_worker(
    env: dict[str, str], *args: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A real worker process (`python -m ultudy worker`)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "ultudy", "worker", *args], env=env, cwd=ROOT,
        stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.terminate()
    return proc.wait(timeout=timeout)
