"""Issue 15: what the per-job metrics and log lines cost a worker.

1. In-process: one job's start and end as the runner records them (`RunWatch`: two
   histogram observations, a counter, two log lines), per log setting, CPU time per job.
2. A real worker process draining no-op jobs (`bench/noop.py`), its CPU per job read from
   /proc/PID/stat: the code before this change (the `main` branch's src, from git) against
   this one with job lines off (WARNING), as text and as JSON; rounds alternate.

Submits go through the job service in this process; only the worker's CPU is counted.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.common import ROOT, System, median, system, table, write_result
from bench.job_system import PREFIX, completed_in_queue, service_for
from ultudy.api.observe import Observe
from ultudy.jobs.metrics import RunWatch
from ultudy.kinds import JobType
from ultudy.logs import setup_logging

MICRO_JOBS = 20_000
JOBS = 1000
WARMUP_JOBS = 200
ROUNDS = 2
PRODUCERS = 10
CLK_TCK = os.sysconf("SC_CLK_TCK")
VARIANTS = {
    "before (main)": {"ULTUDY_LOG_LEVEL": "WARNING"},
    "after, job lines off (WARNING)": {"ULTUDY_LOG_LEVEL": "WARNING"},
    "after, text lines (INFO)": {"ULTUDY_LOG_LEVEL": "INFO", "ULTUDY_LOG_FORMAT": "text"},
    "after, JSON lines (INFO)": {"ULTUDY_LOG_LEVEL": "INFO", "ULTUDY_LOG_FORMAT": "json"},
}


def micro(level: str, fmt: str) -> float:
    """CPU µs per job of RunWatch start + end, logging into memory."""
    setup_logging(level, fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(io.StringIO())
    start = time.process_time()
    for _ in range(MICRO_JOBS):
        watch = RunWatch(
            queue="q", job_type="t", owner_id="bench", attempt=1, enqueued_at=time.time()
        )
        watch.ended("completed")
    return (time.process_time() - start) / MICRO_JOBS * 1e6


def http_micro() -> tuple[float, float]:
    """CPU µs per request of a bare ASGI app, without and with the `Observe` middleware
    (request id in and out, the HTTP histogram)."""

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def calls(app: ASGIApp) -> float:
        scope = {"type": "http", "method": "GET", "path": "/livez", "headers": []}

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(_message: Message) -> None:
            return None

        start = time.process_time()
        for _ in range(MICRO_JOBS):
            await app(dict(scope), receive, send)
        return (time.process_time() - start) / MICRO_JOBS * 1e6

    return asyncio.run(calls(bare)), asyncio.run(calls(Observe(bare)))


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


async def drain(sys_: System, count: int) -> None:
    service, db = service_for(sys_)
    queue = service.queues.queues[JobType.LESSON_GENERATION.queue_name]
    before = await completed_in_queue(queue)

    async def produce(n: int) -> None:
        for _ in range(n):
            await service.submit("bench", JobType.LESSON_GENERATION, {})

    await asyncio.gather(*[produce(count // PRODUCERS) for _ in range(PRODUCERS)])
    while await completed_in_queue(queue) - before < count:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the completions written behind
    await service.queues.close()
    await service.creator.close()
    await db.dispose()


def worker_ms_per_job(sys_: System, env: dict[str, str], log: Path) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ultudy", "worker", "--queues", "lesson-generation"],
        env={**sys_.env, **env},
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        asyncio.run(drain(sys_, WARMUP_JOBS))
        before = cpu_s(proc.pid)
        asyncio.run(drain(sys_, JOBS))
        return (cpu_s(proc.pid) - before) / JOBS * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    micro_rows = [
        [f"{level} {fmt}", f"{micro(level, fmt):.1f}"]
        for level, fmt in (("WARNING", "text"), ("INFO", "text"), ("INFO", "json"))
    ]
    setup_logging("WARNING")
    bare_us, observed_us = http_micro()
    with tempfile.TemporaryDirectory(prefix="ultudy-before-") as before_dir:
        archive = subprocess.run(
            ["git", "archive", "main", "src"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", before_dir], input=archive, check=True)
        settings = {
            "ULTUDY_PROCESSORS": "bench.noop:REGISTRY",
            "ULTUDY_REDIS_PREFIX": PREFIX,
            "ULTUDY_CONCURRENCY_LESSON_GENERATION": "10",
        }
        results: dict[str, list[float]] = {name: [] for name in VARIANTS}
        with system(**settings) as sys_:
            log = sys_.data_dir / "worker.log"
            for _ in range(ROUNDS):
                for name, env in VARIANTS.items():
                    extra = dict(env)
                    if name.startswith("before"):
                        extra["PYTHONPATH"] = f"{before_dir}/src{os.pathsep}{ROOT}"
                    results[name].append(worker_ms_per_job(sys_, extra, log))
    base = median(results["before (main)"])
    rows = [
        [
            name,
            f"{median(v):.3f}",
            f"{median(v) / base:.2f}",
            ", ".join(f"{x:.3f}" for x in v),
        ]
        for name, v in results.items()
    ]
    text = "\n".join(
        [
            f"### Per-job cost of the job metrics and log lines ({MICRO_JOBS} in-process runs; "
            f"worker: {JOBS} no-op jobs per round after {WARMUP_JOBS} warm-up, {ROUNDS} "
            "alternating rounds, concurrency 10, shared 2-core machine)",
            "",
            table(["RunWatch start + end, log setting", "CPU µs per job"], micro_rows),
            "",
            table(
                ["bare ASGI app", "CPU µs per request"],
                [
                    ["without Observe", f"{bare_us:.1f}"],
                    ["with Observe (request id, HTTP histogram)", f"{observed_us:.1f}"],
                ],
            ),
            "",
            table(
                ["worker process", "median CPU ms per job", "vs before", "rounds"],
                rows,
            ),
        ]
    )
    write_result("observe_overhead", text)


if __name__ == "__main__":
    main()
