"""What `depends_on` costs a submit: `JobService.submit` in this process, without it and
with one dependency (a pending job), in alternating rounds; CPU of this process per submit
(the API's side: SQLAlchemy, the SQLite engine when it is SQLite, the Redis client) and
wall time per submit, medians of the rounds. Submits are one at a time (no group commit
to share), so each pays its own statements."""

from __future__ import annotations

import asyncio
import time

from bench.common import median, system, table, write_result
from bench.job_system import backend_label, service_for
from ultudy.jobs.service import JobService
from ultudy.kinds import JobType

SUBMITS = 200
ROUNDS = 5
OWNER = "bench-deps"


async def one_round(service: JobService, *, depends: bool) -> tuple[float, float]:
    """(CPU ms, wall ms) per submit over SUBMITS submits."""
    parent = await service.submit(OWNER, JobType.LESSON_GENERATION, {}, delay_s=3600)
    after = [parent.id] if depends else []
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(SUBMITS):
        await service.submit(OWNER, JobType.LESSON_GENERATION, {"n": n}, depends_on=after)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await service.cancel(OWNER, parent.id)  # its dependents follow: nothing left waiting
    return cpu * 1000 / SUBMITS, wall * 1000 / SUBMITS


async def measure(service: JobService) -> dict[bool, list[tuple[float, float]]]:
    found: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(ROUNDS):
        for depends in (False, True):
            found[depends].append(await one_round(service, depends=depends))
    return found


def main() -> None:
    with system(ULTUDY_MAX_PENDING_JOBS_PER_USER="1000000") as sys_:
        service, db = service_for(sys_)

        async def run() -> dict[bool, list[tuple[float, float]]]:
            try:
                return await measure(service)
            finally:
                await service.creator.close()
                await service.queues.close()
                await db.dispose()

        found = asyncio.run(run())
    plain_cpu = median([c for c, _ in found[False]])
    rows = [
        [
            "with `depends_on` (1 pending job)" if depends else "without `depends_on`",
            f"{median([c for c, _ in found[depends]]):.2f}",
            f"{median([w for _, w in found[depends]]):.2f}",
            f"{median([c for c, _ in found[depends]]) / plain_cpu:.2f}",
        ]
        for depends in (False, True)
    ]
    text = (
        f"{backend_label()}, {SUBMITS} sequential submits × {ROUNDS} alternating rounds\n\n"
        + table(["submit", "CPU ms / submit", "wall ms / submit", "CPU ratio"], rows)
    )
    print(text)
    write_result("dependencies", text)


if __name__ == "__main__":
    main()
