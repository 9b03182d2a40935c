"""Raw bullmq, SAQ, taskiq, arq and ours side by side (issue 16, target 4).

Same no-op jobs (nothing done, nothing returned; ours still writes its SQL row and
events), same concurrency, one worker process each, one private broker (an embedded
Valkey: leave ULTUDY_REDIS_URL unset). Per round and system: N jobs queued while nothing
consumes them, then drained; the time runs from the go until the queue is empty (ours:
until every SQL row says `completed`). CPU per job from /proc for the worker process and
the broker. Systems alternate within each round. Ours and raw bullmq keep one worker for
all rounds (their queues paused while jobs are queued); a peer's worker (bench/peers/
runner.py) is started per round and waits for a go on stdin. The machine may be shared:
the load average is printed with the table.

    python -m bench.peers [--jobs 5000] [--rounds 3] [--concurrency 10,50] [--systems ours]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import time
from importlib.metadata import version

from bench.common import ROOT, System, system, table, write_result
from bench.job_system import PREFIX, RAW_PREFIX, backend_label, bench_data
from bench.peers.clients import DRAINED, QUEUERS
from bench.worker_cpu import QUEUE, Run, Variant, measure, redis_pid, span, stop

PEERS = ("saq", "taskiq", "arq")


class Peer:
    """A peer's worker process, started per round (see runner.py)."""

    def __init__(self, label: str, concurrency: int, broker: int) -> None:
        self.label = label
        self.concurrency = concurrency
        self.broker = broker

    def round(self, sys_: System, n: int) -> Run:
        args = ["-m", "bench.peers.runner", self.label, sys_.redis_url, str(self.concurrency)]
        env = {**sys_.env, "PEERS_REDIS_URL": sys_.redis_url}
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout
        assert proc.stdin
        stdin = proc.stdin

        async def drain() -> float:
            start = time.perf_counter()
            stdin.write(b"go\n")
            stdin.flush()
            while not await DRAINED[self.label](sys_.redis_url):
                await asyncio.sleep(0.005)
            return time.perf_counter() - start

        try:
            assert proc.stdout.readline().strip() == b"ready", self.label
            asyncio.run(QUEUERS[self.label](sys_.redis_url, n))
            return measure({"workers": [proc.pid], "redis": [self.broker]}, drain(), n)
        finally:
            proc.kill()  # measured; some peers' own shutdown waits on a grace period
            proc.wait(timeout=30)


def one_concurrency(sys_: System, concurrency: int, args: argparse.Namespace) -> list[list[object]]:
    broker = asyncio.run(redis_pid(sys_.redis_url))
    env = {"ULTUDY_CONCURRENCY_LESSON_GENERATION": str(concurrency)}
    ours = [sys_.spawn("-m", "ultudy", "worker", "--queues", QUEUE, **env)]
    raw_args = (
        "-m",
        "bench.raw_bullmq_worker",
        sys_.redis_url,
        RAW_PREFIX,
        str(concurrency),
        "bare",
    )
    raw = [sys_.spawn(*raw_args)]
    time.sleep(3.0)
    systems: dict[str, Variant | Peer] = {
        "raw bullmq": Variant("raw", RAW_PREFIX, raw),
        **{name: Peer(name, concurrency, broker) for name in PEERS},
        "ours": Variant("ours", PREFIX, ours),
    }
    wanted = args.systems.split(",") if args.systems else list(systems)
    systems = {name: v for name, v in systems.items() if name in wanted or name == "raw bullmq"}
    for variant in (v for v in systems.values() if isinstance(v, Variant)):
        variant.groups = {"workers": [p.pid for p in variant.procs], "redis": [broker]}
        variant.round(sys_, 200)  # opens every pool
    results: dict[str, list[Run]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, sys_variant in systems.items():
            results[name].append(sys_variant.round(sys_, args.jobs))
        print(concurrency, {k: f"{v[-1].jobs_per_s:.0f}" for k, v in results.items()}, flush=True)
    stop(sys_, ours + raw)
    rows: list[list[object]] = []
    for name, runs in results.items():
        pairs = zip(runs, results["raw bullmq"], strict=True)
        ratio = span([o.jobs_per_s / r.jobs_per_s * 100 for o, r in pairs], "{:.0f} %")
        cpu = [span([r.cpu_ms[k] for r in runs], "{:.2f}") for k in ("workers", "redis")]
        rows.append([name, concurrency, span([r.jobs_per_s for r in runs]), *cpu, ratio])
    return rows


def versions() -> str:
    names = ("bullmq", "saq", "taskiq", "taskiq-redis", "arq", "redis")
    hiredis = " + hiredis" if importlib.util.find_spec("hiredis") else ""
    return (
        ", ".join(f"{n} {version(n)}" for n in names)
        + hiredis
        + f", Python {sys.version.split()[0]}"
    )


def load() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="10,50")
    parser.add_argument("--systems", default="", help="saq,taskiq,arq,ours (raw bullmq always)")
    args = parser.parse_args()
    os.environ.pop("ULTUDY_REDIS_URL", None)  # the bench's own broker: its CPU is only ours
    settings = {"ULTUDY_PROCESSORS": "bench.noop:BARE", "ULTUDY_REDIS_PREFIX": PREFIX}
    load_before = load()
    rows: list[list[object]] = []
    with system(**settings) as sys_, bench_data(sys_):
        os.environ["PEERS_REDIS_URL"] = sys_.redis_url  # taskiq's broker is made on import
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            rows += one_concurrency(sys_, concurrency, args)
    headers = [
        "system",
        "concurrency",
        "jobs/s median (range)",
        "worker CPU ms/job",
        "broker CPU ms/job",
        "jobs/s vs raw bullmq",
    ]
    text = "\n".join(
        [
            f"### Python peers side by side ({args.jobs} no-op jobs queued, then drained by one "
            f"worker process; {args.rounds} alternating rounds; {backend_label()}; "
            f"load average (1/5/15 min) {load_before} before, {load()} after, on 2 cores)",
            "",
            table(headers, rows),
            "",
            f"Versions: {versions()}. Ours keeps its SQL row and events per job; its SQLite "
            "writes are in its worker's CPU, a PostgreSQL server's are not counted here.",
        ]
    )
    write_result("peers", text)


if __name__ == "__main__":
    main()
