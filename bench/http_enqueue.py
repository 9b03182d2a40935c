"""The HTTP front door under an open-loop load: `POST /lessons/generate-async` sent at a
fixed arrival rate against a real `ultudy api` process (a worker with no-op processors
drains the queue), latency measured from each request's *intended* send time, so a server
that falls behind shows its queue instead of slowing the load generator down.

Prints, per rate: requests sent, answered 202, other answers, p50 / p99 / max latency, and
the API process's CPU per request (from /proc/PID/stat). Target (issue 11): p99 < 25 ms at
200 requests/s for 30 s.

    python -m bench.http_enqueue [--rates 200,500] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.common import cpu_seconds, median, pct, system, table, write_result
from bench.job_system import PREFIX, backend_label, remove_bench_data, seed_section

USER = {"x-user-id": "bench"}
CONNECTIONS = 64  # what a fleet of browsers behind a proxy would hold open


@dataclass
class Round:
    rate: int
    duration_s: float
    latencies_ms: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.codes.values())


async def one(client: httpx.AsyncClient, body: dict[str, str], due: float, out: Round) -> None:
    try:
        response = await client.post("/lessons/generate-async", json=body)
        code = str(response.status_code)
    except httpx.HTTPError as exc:
        code = type(exc).__name__
    out.latencies_ms.append((time.perf_counter() - due) * 1000)
    out.codes[code] += 1


async def open_loop(
    base: str, body: dict[str, str], rate: int, duration_s: float, api_pid: int
) -> Round:
    out = Round(rate, duration_s)
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, headers=USER, limits=limits, timeout=30) as client:
        for _ in range(20):  # warm the connections and the API's caches
            await client.post("/lessons/generate-async", json=body)
        cpu_before = cpu_seconds(api_pid)
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * duration_s)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, body, due, out)))
        await asyncio.gather(*tasks)
        out.cpu_s = cpu_seconds(api_pid) - cpu_before
    return out


def row(result: Round) -> list[object]:
    lat = result.latencies_ms
    accepted = result.codes.get("202", 0)
    others = ", ".join(f"{k}×{v}" for k, v in sorted(result.codes.items()) if k != "202")
    return [
        f"{result.rate}/s × {result.duration_s:.0f} s",
        result.sent,
        accepted,
        others or "–",
        f"{median(lat):.1f}",
        f"{pct(lat, 99):.1f}",
        f"{max(lat):.0f}",
        f"{result.cpu_s / max(1, result.sent) * 1000:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200")
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    settings = {
        "ULTUDY_PROCESSORS": "bench.noop:REGISTRY",
        "ULTUDY_REDIS_PREFIX": PREFIX,
        "ULTUDY_CONCURRENCY_LESSON_GENERATION": "50",
        "ULTUDY_MAX_PENDING_JOBS_PER_USER": "1000000",
    }
    results = []
    with system(**settings) as sys_:
        body = asyncio.run(seed_section(sys_))
        sys_.start_api()
        api_pid = sys_.procs[-1].pid
        sys_.spawn("-m", "ultudy", "worker", "--queues", "lesson-generation")
        time.sleep(1.0)
        for rate in rates:
            results.append(
                asyncio.run(open_loop(sys_.base_url, body, rate, args.duration, api_pid))
            )
        sys_.stop_all()
        asyncio.run(remove_bench_data(sys_))
    text = "\n".join(
        [
            f"### HTTP enqueue, open loop (POST /lessons/generate-async, {CONNECTIONS} "
            f"connections, latency from the intended send time, {backend_label()})",
            "",
            table(
                [
                    "rate × time",
                    "sent",
                    "202",
                    "other answers",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "API CPU ms / request",
                ],
                [row(r) for r in results],
            ),
            "",
            "Target: p99 < 25 ms at 200 requests/s.",
        ]
    )
    write_result("http_enqueue", text)


if __name__ == "__main__":
    main()
