"""Worker processes a fault test starts, kills (-9), replaces and stops, and the counts
it reports. Every process started here is stopped by `close()`, whatever happened."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.checks import report
from tests.support.harness import eventually, start_worker, stop

STARTED_LINE = "worker started"
START_TIMEOUT_S = 45.0


@dataclass
class WorkerPool:
    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[int, Path] = field(default_factory=dict)
    kills: int = 0
    started: int = 0

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"worker-{self.started}.log"
        self.started += 1
        proc = start_worker(self.env, *args, log=log)
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def is_up(self, proc: subprocess.Popen[bytes]) -> bool:
        log = self.logs[proc.pid]
        return proc.poll() is None and log.exists() and STARTED_LINE in log.read_text()

    async def wait_up(self, procs: list[subprocess.Popen[bytes]] | None = None) -> None:
        chosen = self.procs if procs is None else procs

        async def up() -> int:
            return sum(self.is_up(p) for p in chosen)

        await eventually(up, lambda n: n == len(chosen), timeout=START_TIMEOUT_S)

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.procs.remove(proc)
        self.kills += 1

    def log_text(self) -> str:
        return "\n".join(log.read_text() for log in self.logs.values() if log.exists())

    def close(self) -> list[int]:
        """SIGTERM to every live worker; exit codes (a worker that hangs is killed)."""
        codes = []
        for proc in self.procs:
            try:
                codes.append(stop(proc, timeout=30))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        self.procs.clear()
        return codes


async def kill_storm(
    pool: WorkerPool,
    done: Callable[[], Awaitable[bool]],
    *,
    interval_s: tuple[float, float],
    deadline_s: float,
    seed: int = 11,
    describe: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Until `done()`: kill -9 one running worker and start a fresh one in its place, each
    time `interval_s` (uniform) after all but one of the pool are taking jobs (a fresh
    worker takes a few seconds to start), so kills land on workers at work and never on
    the last one. The pauses are the fault schedule, not waits for a state."""
    rng = random.Random(seed)
    size = len(pool.alive())
    deadline = time.monotonic() + deadline_s
    next_kill: float | None = None
    next_note = time.monotonic()
    while not await done():
        now = time.monotonic()
        if now > deadline:
            where = await describe() if describe else ""
            raise AssertionError(f"not done within {deadline_s} s after {pool.kills} kills {where}")
        if describe is not None and now >= next_note:
            report("storm", kills=pool.kills, rows=await describe())
            next_note += 10
        running = [p for p in pool.alive() if pool.is_up(p)]
        if len(running) < size - 1:
            next_kill = None
        elif next_kill is None:
            next_kill = now + rng.uniform(*interval_s)
        elif now >= next_kill:
            pool.kill(rng.choice(running))
            pool.spawn()
            next_kill = None
        await asyncio.sleep(0.1)
