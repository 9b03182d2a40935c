"""Fair sharing between users (jobs.fairness): user B's single upload against user A's
backlog of 300, one worker process at concurrency 5, with fairness on and off.

B submits once A's backlog is running; B's wait is its row's `started_at - created_at`.
Rounds alternate on and off (which goes first alternates too) on one system (embedded
Valkey + SQLite, or `ULTUDY_DATABASE_URL` / `ULTUDY_REDIS_URL`); each round has users of
its own. The submit
side also reports its CPU per submit (this process: the COUNT, the insert, the addBulk),
since fairness rides on the cap's COUNT instead of adding a round trip.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import median, system, table, write_result
from ultudy import bootstrap
from ultudy.config import Settings
from ultudy.jobs.context import JobContext, Registry
from ultudy.kinds import JobType

BACKLOG = 300
SLOT_MS = 50  # one job's time in its slot
CONCURRENCY = 5
ROUNDS = 4  # alternating which goes first, so warm-up favours neither
UPLOAD = JobType.MATERIAL_UPLOAD
SETTINGS = {
    "ULTUDY_PROCESSORS": "bench.fair_share:REGISTRY",
    "ULTUDY_CONCURRENCY_MATERIAL_UPLOAD": str(CONCURRENCY),
    "ULTUDY_MAX_PENDING_JOBS_PER_USER": str(BACKLOG * 2),
}


async def one_slot(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(SLOT_MS / 1000)
    return {}


REGISTRY: Registry = dict.fromkeys(JobType, one_slot)


async def until(probe: Any, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not await probe():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.02)


async def one_round(settings: Settings, n: int) -> dict[str, float]:
    alice, bob = f"alice-{n}-{settings.fair_sharing}", f"bob-{n}-{settings.fair_sharing}"
    async with bootstrap.running(settings, role="api", kinds=REGISTRY) as container:
        jobs = container.jobs
        cpu = time.process_time()
        a_ids = [
            r.id
            for r in await asyncio.gather(*(jobs.submit(alice, UPLOAD, {}) for _ in range(BACKLOG)))
        ]
        submit_cpu_ms = (time.process_time() - cpu) * 1000 / BACKLOG

        cap = jobs.pending_cap
        assert cap is not None

        async def a_started() -> bool:  # her first jobs hold the worker's slots
            return await cap.pending(alice) <= BACKLOG - CONCURRENCY

        await until(a_started)
        b = await jobs.submit(bob, UPLOAD, {})

        async def finished() -> bool:
            pending = await container.store.count_by_status()
            return not pending.get("pending") and not pending.get("processing")

        await until(finished)
        done = await jobs.get(bob, b.id)
        a_rows = [await jobs.get(alice, job_id) for job_id in a_ids]
    assert done.started_at is not None
    waiting = [r.started_at for r in a_rows if r.started_at and r.started_at > done.created_at]
    return {
        "wait_s": (done.started_at - done.created_at).total_seconds(),
        "waiting": len(waiting),
        "overtook": sum(1 for start in waiting if start < done.started_at),
        "submit_cpu_ms": submit_cpu_ms,
    }


def main() -> None:
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    with system(**SETTINGS) as sys_:
        sys_.spawn("-m", "ultudy", "worker")
        env = {
            k.removeprefix("ULTUDY_").lower(): v
            for k, v in sys_.env.items()
            if k.startswith("ULTUDY_")
        }
        for n in range(ROUNDS):
            for fair in (False, True) if n % 2 == 0 else (True, False):
                settings = Settings(**{**env, "fair_sharing": fair})
                results[fair].append(asyncio.run(one_round(settings, n)))
    slot_s = SLOT_MS / 1000
    rows = []
    for fair in (False, True):
        runs = results[fair]
        wait = median([r["wait_s"] for r in runs])
        rows.append(
            [
                "on" if fair else "off",
                f"{wait:.2f} s",
                f"{wait / slot_s:.1f}",
                f"{median([r['overtook'] for r in runs]):.0f} of "
                f"{median([r['waiting'] for r in runs]):.0f}",
                f"{median([r['submit_cpu_ms'] for r in runs]):.2f} ms",
            ]
        )
    ratio = median([r["wait_s"] for r in results[False]]) / median(
        [r["wait_s"] for r in results[True]]
    )
    write_result(
        "fair_share",
        f"B's one upload behind A's {BACKLOG} ({SLOT_MS} ms each), one worker at concurrency "
        f"{CONCURRENCY}, medians of {ROUNDS} alternating rounds; wait without / with: "
        f"{ratio:.0f}x\n\n"
        + table(
            [
                "fairness",
                "B's wait (start - submit)",
                "in job slots",
                "A's waiting jobs that started before B's",
                "submit CPU per job",
            ],
            rows,
        ),
    )


if __name__ == "__main__":
    main()
