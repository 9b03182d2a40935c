"""Issue 5 benchmark: push delay and the cost of 1,000 idle clients, against 2 s polling.

1. Delay from a processor's `progress()` call to the event reaching an SSE client
   (the message carries the send time; same machine, same clock), p50/p99.
2. What 1,000 idle SSE clients cost the API process (RSS growth, CPU over a window),
   against the original design's 1,000 clients polling `GET /jobs/{id}` every 2 s.
3. The design not taken: one blocking Redis connection (XREAD BLOCK) per client. Its
   extra cost over the shared reader is 1,000 connections held by the API process and
   1,000 blocked clients in the broker; both are measured here directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
import uuid
from typing import Any

import httpx
from redis.asyncio import Redis

from bench.common import System, pct, system, table, write_result
from ultudy.bootstrap import load_kinds
from ultudy.config import Settings
from ultudy.db import Database
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.service import JobService
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import DirectWriter
from ultudy.kinds import JobType

CLIENTS = 1000
WINDOW_S = 30.0
POLL_S = 2.0
JOBS = 4
XREAD_BLOCK_MS = 15_000  # what a per-client reader would block for: the ping interval


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


def proc_stats(pid: int) -> tuple[int, float]:
    """RSS in bytes and CPU seconds (user + system) of a process."""
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


async def submit(sys_: System, owner: str) -> str:
    settings = Settings(database_url=sys_.env["ULTUDY_DATABASE_URL"], redis_url=sys_.redis_url)
    db = Database(settings.resolved_database_url)
    kinds = load_kinds(settings)
    queues = JobQueues(settings, sys_.redis_url, kinds)
    events = EventLog(queues.redis, prefix=settings.redis_prefix, maxlen=1000, ttl_s=3600)
    store = JobStore(db)
    runner = JobRunner(settings, None, DirectWriter(store), events, kinds)
    record = await JobService(store, queues, events, runner).submit(
        owner, JobType.LESSON_GENERATION, {}
    )
    await events.drain()
    await queues.close()
    await db.dispose()
    return str(record.id)


async def push_delays(sys_: System) -> list[float]:
    delays: list[float] = []
    headers = {"x-user-id": "bench"}
    async with httpx.AsyncClient(base_url=sys_.base_url, timeout=60) as client:
        for _ in range(JOBS):
            async with client.stream("GET", "/jobs/events", headers=headers) as response:
                await asyncio.sleep(1.2)  # the hub joins a new owner within a second
                job_id = await submit(sys_, "bench")
                async for line in response.aiter_lines():
                    now = time.time()
                    if not line.startswith("data:"):
                        continue
                    body = json.loads(line[5:])
                    job = body.get("job", {})
                    if job.get("id") != job_id:
                        continue
                    if body.get("event") == "job.completed":
                        break
                    message = job.get("progress_message") or ""
                    if job.get("status") == "processing" and message[:1].isdigit():
                        delays.append((now - float(message)) * 1000)
    return delays


async def idle_cost(sys_: System, pid: int, mode: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CLIENTS + 10, max_keepalive_connections=CLIENTS + 10)
    async with httpx.AsyncClient(base_url=sys_.base_url, timeout=120, limits=limits) as client:
        rss0, _ = proc_stats(pid)
        stop = asyncio.Event()
        job_id = str(uuid.uuid4())

        async def sse(n: int) -> None:
            async with client.stream("GET", "/jobs/events", headers={"x-user-id": f"idle{n}"}):
                await stop.wait()

        async def poll(n: int) -> None:
            await asyncio.sleep(POLL_S * n / CLIENTS)  # spread like real page loads
            while not stop.is_set():
                await client.get(f"/jobs/{job_id}", headers={"x-user-id": f"idle{n}"})
                await asyncio.sleep(POLL_S)

        tasks = [asyncio.create_task(sse(n) if mode == "sse" else poll(n)) for n in range(CLIENTS)]
        await asyncio.sleep(5)  # everyone connected
        _rss1, cpu1 = proc_stats(pid)
        await asyncio.sleep(WINDOW_S)
        rss2, cpu2 = proc_stats(pid)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"rss_mb": (rss2 - rss0) / 2**20, "cpu_pct": (cpu2 - cpu1) / WINDOW_S * 100}


async def broker_memory(redis_url: str) -> tuple[int, int]:
    """Bytes the broker uses, and its connected clients."""
    client = Redis.from_url(redis_url)
    memory, clients = await client.info("memory"), await client.info("clients")
    await client.aclose()
    return int(memory["used_memory"]), int(clients["connected_clients"])


async def per_client_readers(sys_: System) -> dict[str, Any]:
    """1,000 connections, each in its own XREAD BLOCK on one owner's stream, held by this
    process the way the per-client design would hold them in the API process."""
    rss0, _ = proc_stats(os.getpid())
    mem0, _ = await broker_memory(sys_.redis_url)
    # redis-py's 5 s default socket timeout would cut every longer XREAD BLOCK.
    timeout_s = XREAD_BLOCK_MS / 1000 + 5
    conns = [
        Redis.from_url(sys_.redis_url, single_connection_client=True, socket_timeout=timeout_s)
        for _ in range(CLIENTS)
    ]
    stop = asyncio.Event()

    async def read(n: int, conn: Redis) -> None:
        key = f"bench-percl:events:idle{n}"
        while not stop.is_set():
            await conn.xread({key: "$"}, block=XREAD_BLOCK_MS)

    tasks = [asyncio.create_task(read(n, c)) for n, c in enumerate(conns)]
    await asyncio.sleep(5)
    _rss1, cpu1 = proc_stats(os.getpid())
    await asyncio.sleep(WINDOW_S)
    rss2, cpu2 = proc_stats(os.getpid())
    mem2, connected = await broker_memory(sys_.redis_url)
    stop.set()
    for task in tasks:
        task.cancel()
    failed = [
        r for r in await asyncio.gather(*tasks, return_exceptions=True) if isinstance(r, Exception)
    ]
    await asyncio.gather(*(c.aclose() for c in conns), return_exceptions=True)
    if failed:
        raise RuntimeError(f"{len(failed)} readers failed; first: {failed[0]!r}")
    return {
        "rss_mb": (rss2 - rss0) / 2**20,
        "cpu_pct": (cpu2 - cpu1) / WINDOW_S * 100,
        "broker_mb": (mem2 - mem0) / 2**20,
        "connected": connected,
    }


def main() -> None:
    raise_fd_limit()
    with system(ULTUDY_PROCESSORS="bench.progress_proc:REGISTRY") as sys_:
        sys_.start_api()
        api_pid = sys_.procs[0].pid
        sys_.spawn("-m", "ultudy", "worker", "--queues", "lesson-generation")
        time.sleep(1.0)
        delays = asyncio.run(push_delays(sys_))
        sse = asyncio.run(idle_cost(sys_, api_pid, "sse"))
        polling = asyncio.run(idle_cost(sys_, api_pid, "poll"))
        readers = asyncio.run(per_client_readers(sys_))
    text = "\n".join(
        [
            f"### Push delay: processor `progress()` → SSE client ({len(delays)} events, "
            "SQLite + embedded Valkey)",
            "",
            table(
                ["p50 ms", "p99 ms", "max ms"],
                [[f"{pct(delays, 50):.1f}", f"{pct(delays, 99):.1f}", f"{max(delays):.1f}"]],
            ),
            "",
            f"### {CLIENTS} idle clients, API process, {WINDOW_S:.0f} s window",
            "",
            table(
                ["clients", "RSS growth MB", "API CPU %"],
                [
                    [f"{CLIENTS} on SSE (push)", f"{sse['rss_mb']:.1f}", f"{sse['cpu_pct']:.1f}"],
                    [
                        f"{CLIENTS} polling every {POLL_S:g} s",
                        f"{polling['rss_mb']:.1f}",
                        f"{polling['cpu_pct']:.1f}",
                    ],
                ],
            ),
            "",
            f"### Not chosen: one blocking Redis connection per client ({CLIENTS} idle)",
            "",
            "Extra over the shared reader (one connection per API process); on top of the SSE row.",
            "",
            table(
                [
                    "holder RSS growth MB",
                    "holder CPU %",
                    "broker memory growth MB",
                    "broker connections",
                ],
                [
                    [
                        f"{readers['rss_mb']:.1f}",
                        f"{readers['cpu_pct']:.1f}",
                        f"{readers['broker_mb']:.1f}",
                        str(readers["connected"]),
                    ],
                ],
            ),
        ]
    )
    write_result("push_latency", text)


if __name__ == "__main__":
    main()
