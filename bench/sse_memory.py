"""Issue 11 benchmark: the API process's memory with 1,000 SSE clients open, then closed.

RSS is VmRSS of the API process (/proc/PID/status). Two rounds of 1,000 clients (one user
each, every client reading its stream) show whether closing gives the memory back and
whether a second round reuses it; then one user opens 400 streams (the abuse in issue 11)
and the per-user cap keeps `ULTUDY_MAX_STREAMS_PER_USER` of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from bench.common import System, system, table, write_result
from bench.push_latency import proc_stats, raise_fd_limit

CLIENTS = 1000
ABUSER_STREAMS = 400
SETTLE_S = 3.0
DEADLINE_S = 120.0


def rss_mb(pid: int) -> float:
    return proc_stats(pid)[0] / 2**20


async def live_clients(client: httpx.AsyncClient) -> int:
    body = (await client.get("/admin/api/overview", headers={"x-user-id": "bench"})).json()
    return int(body["live_clients"])


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the API did not reach the expected client count")
        await asyncio.sleep(0.2)


async def round_of(sys_: System, users: list[str]) -> tuple[float, int]:
    """Open one stream per entry of `users`, read them all; returns the RSS and the live
    client count once all are open, then closes them and waits until the API saw it."""
    pid = sys_.procs[0].pid
    limits = httpx.Limits(max_connections=len(users) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=sys_.base_url, timeout=120, limits=limits) as client:
        opened = asyncio.Semaphore(0)

        async def stream(user: str) -> None:
            async with client.stream("GET", "/jobs/events", headers={"x-user-id": user}) as r:
                opened.release()
                async for _chunk in r.aiter_raw():
                    pass

        tasks = [asyncio.create_task(stream(user)) for user in users]
        for _ in users:
            await opened.acquire()
        await asyncio.sleep(SETTLE_S)
        rss, live = rss_mb(pid), await live_clients(client)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await until(lambda: _none_live(client))
    return rss, live


async def _none_live(client: httpx.AsyncClient) -> bool:
    return await live_clients(client) == 0


async def measure(sys_: System) -> list[list[str]]:
    pid = sys_.procs[0].pid
    baseline = rss_mb(pid)
    rows: list[list[str]] = []

    def row(phase: str, rss: float, live: int) -> None:
        rows.append([phase, f"{rss:.0f}", f"{rss - baseline:+.0f}", str(live)])

    row("baseline (API started, no client)", baseline, 0)
    for n in (1, 2):
        rss, live = await round_of(sys_, [f"idle{i}" for i in range(CLIENTS)])
        row(f"round {n}: {CLIENTS} SSE clients open (one user each)", rss, live)
        await asyncio.sleep(SETTLE_S)
        row(f"round {n}: all {CLIENTS} closed", rss_mb(pid), 0)
    rss, live = await round_of(sys_, ["mallory"] * ABUSER_STREAMS)
    row(f"one user opens {ABUSER_STREAMS} streams (cap 5)", rss, live)
    await asyncio.sleep(SETTLE_S)
    row("… all closed", rss_mb(pid), 0)
    return rows


def main() -> None:
    raise_fd_limit()
    with system() as sys_:
        sys_.start_api()
        rows = asyncio.run(measure(sys_))
    text = "\n".join(
        [
            f"### API process memory (VmRSS) with {CLIENTS} SSE clients, open then closed",
            "",
            table(["phase", "RSS MB", "vs baseline MB", "live streams"], rows),
        ]
    )
    write_result("sse_memory", text)


if __name__ == "__main__":
    main()
