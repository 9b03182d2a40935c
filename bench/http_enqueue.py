"""The HTTP front door: `POST /lessons/generate-async` against a real `ultudy api` process
(a worker with no-op processors drains the queue).

- open loop: requests at a fixed arrival rate (default 200/s and 500/s, 30 s each),
  latency from each request's *intended* send time, so a server that falls behind shows
  its queue instead of slowing the load generator down;
- max: 64 connections sending back to back (closed loop): the most one API process
  answers, in submits/s.

The system runs on the deployment's default broker retention (1,000 finished jobs), not
the 100,000 the worker benches keep, and the last column says how late the load
generator itself sent requests (`bench.loadgen`), so its own stalls are not taken for the
server's.

Every row gives the API process's CPU per request (utime + stime from /proc/PID/stat over
the measured span): on a shared machine that is the figure to compare, wall-clock ones
move with the neighbours' load. `--compare DIR` (or `LABEL=DIR,LABEL=DIR`) runs more API
processes from other checkouts' `src` folders (e.g. `git archive main src | tar -x`)
beside this one, same database, broker and worker; rounds alternate between them, so
before/after are measured in one run.
Targets (issue 16): ≥ 1,000 submits/s from one API process; p99 < 25 ms at 500/s.

    python -m bench.http_enqueue [--rates 200,500] [--duration 30] [--max 10]
                                 [--rounds 1] [--compare ../main/src]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from bench.common import median, pct, system, table, write_result
from bench.job_system import PREFIX, backend_label, bench_data, seed_section
from bench.loadgen import Client, Outcome, closed_loop, open_loop, request_bytes
from ultudy.config import Settings

USER = {"x-user-id": "bench"}
PATH = "/lessons/generate-async"
CONNECTIONS = 64  # what a fleet of browsers behind a proxy would hold open
MAX_MODE = 0  # the rate that stands for "as fast as it answers"


@dataclass(frozen=True)
class Target:
    label: str
    pid: int
    port: int


async def measure(target: Target, body: dict[str, str], rate: int, duration_s: float) -> Outcome:
    host = f"127.0.0.1:{target.port}"
    request = request_bytes(host, PATH, body, USER)
    async with Client("127.0.0.1", target.port, request, CONNECTIONS) as client:
        for _ in range(100):  # warm the connections and the API's caches
            await client.one()
        if rate == MAX_MODE:
            return await closed_loop(client, duration_s=duration_s, pid=target.pid)
        return await open_loop(client, rate=rate, duration_s=duration_s, pid=target.pid)


def row(label: str, rate: int, duration_s: float, result: Outcome) -> list[object]:
    lat = result.latencies_ms or [0.0]
    accepted = result.codes.get("202", 0)
    others = ", ".join(f"{k}×{v}" for k, v in sorted(result.codes.items()) if k != "202")
    load = "max (64 conns)" if rate == MAX_MODE else f"{rate}/s"
    return [
        label,
        f"{load} × {duration_s:.0f} s",
        result.sent,
        accepted,
        others or "–",
        f"{accepted / result.wall_s:.0f}",
        f"{median(lat):.1f}",
        f"{pct(lat, 99):.1f}",
        f"{max(lat):.0f}",
        f"{result.cpu_s / max(1, result.sent) * 1000:.2f}",
        f"{result.own_cpu_s / max(1, result.sent) * 1000:.2f}",
        f"{pct(result.late_ms, 99):.1f} / {max(result.late_ms):.0f}" if result.late_ms else "–",
    ]


def compared(spec: str) -> list[tuple[str, str]]:
    """`--compare` as (label, src folder) pairs: `DIR` or `LABEL=DIR,LABEL=DIR...`."""
    pairs = []
    for item in filter(None, spec.split(",")):
        label, _, src = item.rpartition("=")
        pairs.append((label or "compare", src))
    return pairs


def run(args: argparse.Namespace) -> list[list[object]]:
    rates = [int(r) for r in args.rates.split(",") if r] + ([MAX_MODE] if args.max else [])
    settings = {
        "ULTUDY_PROCESSORS": "bench.noop:REGISTRY",
        "ULTUDY_REDIS_PREFIX": PREFIX,
        "ULTUDY_CONCURRENCY_LESSON_GENERATION": "50",
        "ULTUDY_MAX_PENDING_JOBS_PER_USER": "1000000",
        "ULTUDY_LOG_LEVEL": "ERROR",  # a warning per request would be measured otherwise
        # The deployment's own retention of finished jobs in the broker, not the 100,000
        # the worker benches keep: 45,000 kept job hashes made every append-only-file
        # rewrite of the embedded broker a ~200 ms burst of a whole core, which the front
        # door paid for in later rounds.
        "ULTUDY_RETENTION_COMPLETED_COUNT": str(
            Settings.model_fields["retention_completed_count"].default
        ),
    }
    rows: list[list[object]] = []
    with system(**settings) as sys_, bench_data(sys_):
        body = asyncio.run(seed_section(sys_))
        targets = []
        variants: list[tuple[str, str, dict[str, str]]] = [("this", "", {})]
        if args.fair_off:  # the pending cap's one-second bound instead of a count per submit
            variants.append(("this, FAIR_SHARING=false", "", {"ULTUDY_FAIR_SHARING": "false"}))
        variants += [(label, src, {}) for label, src in compared(args.compare)]
        for label, src, env in variants:
            proc, port = sys_.start_api(src=src, **env)
            targets.append(Target(label, proc.pid, port))
            print(f"API {label}: pid {proc.pid}, port {port}", flush=True)
        sys_.spawn("-m", "ultudy", "worker", "--queues", "lesson-generation")
        time.sleep(1.0)
        for _ in range(args.rounds):
            for rate in rates:
                duration = args.max if rate == MAX_MODE else args.duration
                for target in targets:
                    result = asyncio.run(measure(target, body, rate, duration))
                    rows.append(row(target.label, rate, duration, result))
                    print(rows[-1], flush=True)
        sys_.stop_all()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="200,500", help="open-loop rates, comma-separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per rate")
    parser.add_argument("--max", type=float, default=10.0, help="seconds of max mode; 0: none")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--fair-off", action="store_true", help="also an API with ULTUDY_FAIR_SHARING=false"
    )
    parser.add_argument(
        "--compare", default="", help="other checkouts' src folders: DIR or LABEL=DIR,..."
    )
    args = parser.parse_args()
    rows = run(args)
    headers = [
        "API",
        "load × time",
        "sent",
        "202",
        "other answers",
        "202/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "API CPU ms / request",
        "load generator CPU ms / request",
        "sent late p99 / max ms",
    ]
    text = "\n".join(
        [
            f"### HTTP enqueue (POST {PATH}, {CONNECTIONS} connections, open-loop latency from "
            f"the intended send time, {backend_label()})",
            "",
            table(headers, rows),
            "",
            "Targets: ≥ 1,000 submits/s (max mode) from one API process; p99 < 25 ms at 500/s.",
            "Sent late: how long after its due time the load generator itself sent a request"
            " (its own stalls; the latency columns include them).",
        ]
    )
    write_result("http_enqueue", text)


if __name__ == "__main__":
    main()
