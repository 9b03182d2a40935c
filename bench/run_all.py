"""`make bench`: run every benchmark in one go; each prints its table, and the tables are
also written to bench/results/ (git-ignored)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = [
    "bench.job_system",
    "bench.http_enqueue",
    "bench.worker_cpu",
    "bench.pdf_extraction",
    "bench.lesson_time",
    "bench.grading_accuracy",
    "bench.push_latency",
    "bench.observe_overhead",
    "bench.react_size",
    "bench.fair_share",
]


def main() -> int:
    failed = []
    for module in BENCHES:
        if not (ROOT / (module.replace(".", "/") + ".py")).exists():
            print(f"\n## {module}: missing\n")
            failed.append(module)
            continue
        print(f"\n## {module}\n", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module], cwd=ROOT)
        print(f"\n({module} took {time.monotonic() - start:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
