"""What the email-notification hook costs a job that does not earn an email: the runner
calls `on_end` for every completed or failed job, so for a short job (or with nobody
opted in) it must be a few comparisons. CPU time per call (time.process_time), median of
runs, beside the same loop with no hook (notifications not wired)."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from bench.common import table, write_result
from ultudy.config import Settings
from ultudy.jobs.record import JobRecord, new_job
from ultudy.notify.hook import Notifier

CALLS = 200_000
RUNS = 5


def _ended(*, seconds: float, job_type: str = "lesson_generation") -> JobRecord:
    job = new_job(owner_id="alice", type=job_type, input_data={}, max_attempts=3)
    values: dict[str, Any] = {**job.__dict__, "status": "completed"}
    values["completed_at"] = job.created_at + timedelta(seconds=seconds)
    return JobRecord(**values)


def _per_call_ns(hook: Any, record: JobRecord) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.process_time()
        for _ in range(CALLS):
            if hook is not None:
                hook(record)
        samples.append((time.process_time() - start) / CALLS * 1e9)
    return statistics.median(samples)


def main() -> None:
    notifier = Notifier(Settings(), db=None, jobs=None)  # type: ignore[arg-type]
    short = _ended(seconds=0.05)
    reminder = _ended(seconds=0.05, job_type="check_in_reminder")
    off = _per_call_ns(None, short)
    rows = [
        ["no hook (notifications not wired)", f"{off:.0f}", "1.0"],
    ]
    for label, record in [
        ("hook, a 50 ms job (NOTIFY_AFTER_S=60)", short),
        ("hook, a 50 ms check-in reminder with no result", reminder),
    ]:
        cost = _per_call_ns(notifier.job_ended, record)
        rows.append([label, f"{cost:.0f}", f"{cost / off:.1f}"])
    text = "\n".join(
        [
            f"### Notification hook per ended job, CPU ns per call, median of {RUNS} runs of "
            f"{CALLS:,} calls (shared 2-core machine)",
            "",
            table(["case", "ns per job", "× no hook"], rows),
        ]
    )
    write_result("notify_hook", text)


if __name__ == "__main__":
    main()
