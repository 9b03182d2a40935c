"""Helpers to drive the real system from tests: the API in-process, workers in-process or
as real subprocesses, and waiting for states with a deadline (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.processors import REGISTRY
from ultudy import bootstrap
from ultudy.api.app import create_app
from ultudy.api.state import AppState
from ultudy.bootstrap import KindSource
from ultudy.config import Settings
from ultudy.jobs.worker import WorkerProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def api(
    settings: Settings,
    registry: KindSource = REGISTRY,
    *,
    base_url: str = "http://localhost",
    client_address: tuple[str, int] = ("127.0.0.1", 123),
) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    """The API in-process. In dev auth the app answers only a loopback client that sends a
    loopback Host (api/middleware.py); the defaults are such a client."""
    app = create_app(settings, registry=registry)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client_address)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, app.state.ultudy


@asynccontextmanager
async def worker_process(
    settings: Settings,
    registry: KindSource = REGISTRY,
    *,
    kind: type[WorkerProcess] = WorkerProcess,
) -> AsyncIterator[WorkerProcess]:
    """A worker in this process, on a container of its own (closed after)."""
    assert settings.redis_url
    async with bootstrap.running(settings, role="worker", kinds=registry) as container:
        yield kind(container)


@asynccontextmanager
async def running_worker(
    settings: Settings, registry: KindSource = REGISTRY
) -> AsyncIterator[None]:
    """A worker in this process, running until the block ends (then stopped gracefully)."""
    async with worker_process(settings, registry) as worker:
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            worker.stop_event.set()
            await asyncio.wait_for(task, 30)


async def run_burst(settings: Settings, registry: KindSource = REGISTRY) -> None:
    """Run a worker in this process until every queue is empty."""
    async with worker_process(settings, registry) as worker:
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
    client: httpx.AsyncClient,
    job_id: str,
    status: str | set[str],
    *,
    user: str,
    timeout: float = 15,
) -> dict[str, Any]:
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
        [sys.executable, "-m", "ultudy", "worker", *args],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.terminate()
    return proc.wait(timeout=timeout)


@contextmanager
def api_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A real API process (`python -m ultudy api`) on a free port; yields its base URL."""
    with api_process(env, log) as (base, _proc):
        yield base


@contextmanager
def api_process(
    env: dict[str, str], log: Path, command: tuple[str, ...] = ("-m", "ultudy", "api")
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python COMMAND` serving the API on a free port (as ULTUDY_PORT and as `{port}` in
    the command); yields its base URL and the process."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, *(arg.format(port=port) for arg in command)],
        env={**env, "ULTUDY_PORT": str(port)},
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a cold start imports the whole study stack
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)


async def sse_events(
    response: httpx.Response, *, until: Callable[[dict[str, Any]], bool] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream response into {id, event, data} dicts."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in event:
                event["data"] = json.loads(event["data"])
                yield event
                if until is not None and until(event):
                    return
            event = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        event[key] = value[1:] if value.startswith(" ") else value
