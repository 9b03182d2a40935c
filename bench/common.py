"""Shared benchmark helpers: an isolated system (embedded Valkey, SQLite, real processes)."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from ultudy.db.migrate import upgrade
from ultudy.embedded import EmbeddedValkey

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def write_result(name: str, text: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text + "\n")
    print(text)


class System:
    """Data dir, broker URL and environment for API/worker subprocesses."""

    def __init__(self, data_dir: Path, redis_url: str, **settings: str) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.database_url = f"sqlite+aiosqlite:///{data_dir / 'ultudy.db'}"
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ULTUDY_")}
        self.env.update(
            {
                "ULTUDY_DATA_DIR": str(data_dir),
                "ULTUDY_REDIS_URL": redis_url,
                "ULTUDY_DATABASE_URL": os.environ.get("ULTUDY_DATABASE_URL", self.database_url),
                "ULTUDY_PORT": str(self.port),
                "ULTUDY_LOG_LEVEL": "WARNING",
                "ULTUDY_RETENTION_COMPLETED_COUNT": "100000",
                **settings,
            }
        )
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, *args], env={**self.env, **env}, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.terminate()
        proc.wait(timeout=30)
        self.procs.remove(proc)

    def start_api(self, *, src: str = "", **env: str) -> tuple[subprocess.Popen[bytes], int]:
        """An `ultudy api` process; `src` runs another checkout's code (its `src` folder
        first on the path), `env` other settings, on its own port, for side-by-side
        comparisons."""
        port = self.port if not (src or env) else free_port()
        extra = {**env, "ULTUDY_PORT": str(port)}
        if src:
            extra["PYTHONPATH"] = src
        proc = self.spawn("-m", "ultudy", "api", **extra)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                return proc, port
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("API did not start")

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)
        self.procs.clear()


def _exit_on_term(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def system(**settings: str) -> Iterator[System]:
    """Workers, API and broker for one bench; stopped on the way out, also when the bench
    is stopped with SIGTERM (whose default would leave them running)."""
    previous = signal.signal(signal.SIGTERM, _exit_on_term)
    try:
        with _system(**settings) as sys_:
            yield sys_
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _system(**settings: str) -> Iterator[System]:
    with tempfile.TemporaryDirectory(prefix="ultudy-bench-") as tmp:
        data_dir = Path(tmp)
        broker = None
        url = os.environ.get("ULTUDY_REDIS_URL")
        if not url:
            broker = EmbeddedValkey(data_dir / "broker")
            url = broker.start()
        sys_ = System(data_dir, url, **settings)
        upgrade(sys_.env["ULTUDY_DATABASE_URL"])
        try:
            yield sys_
        finally:
            sys_.stop_all()
            if broker:
                broker.stop()
