"""The reconciler makes the broker agree with the rows again: a row the broker lost is
enqueued again, a row left behind its completed job is run again, a job the broker gave up
on fails its row; rows younger than the age limit are left alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from bullmq import UnrecoverableError
from bullmq import Worker as BullWorker

from tests.support.backends import Backend
from tests.support.harness import eventually
from tests.support.system import JobSystem, job_system
from ultudy.jobs.reconciler import BEHIND_SETTLED_S, STALLED_OUT_MESSAGE
from ultudy.kinds import JobType

OWNER = "alice"
LESSON = JobType.LESSON_GENERATION


@asynccontextmanager
async def bull_worker(
    backend: Backend, process: Callable[[Any, str], Awaitable[Any]]
) -> AsyncIterator[None]:
    """A plain BullMQ worker on the lessons queue: it finishes jobs without their rows."""
    worker = BullWorker(
        LESSON.queue_name,
        process,
        {"connection": backend.redis_url, "prefix": backend.prefix, "autorun": False},
    )
    run = asyncio.create_task(worker.run(), name="bull-worker")
    try:
        yield
    finally:
        await worker.close()
        await asyncio.wait({run}, timeout=10)


async def state(system: JobSystem, job_id: Any) -> str:
    return await system.queues.state(LESSON, str(job_id))


async def test_a_pending_row_the_broker_lost_is_enqueued_again_once(
    backend: Backend, redis_client: Any
) -> None:
    async with job_system(backend) as system:
        record = await system.store.create(
            owner_id=OWNER, type=LESSON, input_data={}, max_attempts=3
        )
        assert await state(system, record.id) == "unknown"  # as if its enqueue had failed
        assert await system.reconciler.run_once(min_age_s=0) == 1
        assert await state(system, record.id) == "waiting"
        assert await system.reconciler.run_once(min_age_s=0) == 0


async def test_young_rows_are_left_alone(backend: Backend, redis_client: Any) -> None:
    async with job_system(backend) as system:
        record = await system.store.create(
            owner_id=OWNER, type=LESSON, input_data={}, max_attempts=3
        )
        assert await system.reconciler.run_once(min_age_s=60) == 0
        assert await state(system, record.id) == "unknown"


async def test_a_row_left_behind_its_completed_job_is_run_again_once_settled(
    backend: Backend, redis_client: Any
) -> None:
    """The worker writes a completion behind BullMQ's: a row still `processing` just after
    its job completed is waited for; long after, its completion was lost, and with it the
    result: the job runs again."""

    async def finish(_job: Any, _token: str) -> dict[str, str]:
        return {"status": "completed"}

    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {})
        assert await system.store.start(record.id, owner_id=OWNER) is not None
        async with bull_worker(backend, finish):
            await eventually(lambda: state(system, record.id), lambda s: s == "completed")
        assert await system.reconciler.run_once(min_age_s=0) == 0  # its write may be coming
        assert await state(system, record.id) == "completed"
        key = system.queues.queues[LESSON.queue_name].toKey(str(record.id))
        long_ago_ms = int((time.time() - BEHIND_SETTLED_S - 1) * 1000)
        redis_client.hset(key, "finishedOn", long_ago_ms)
        assert await system.reconciler.run_once(min_age_s=0) == 1
        assert await state(system, record.id) == "waiting"
        row = await system.store.get(record.id, owner_id=OWNER)
        assert row is not None
        assert row.status == "processing"  # the next run takes it from here


async def test_a_job_the_broker_failed_without_its_row_fails_the_row(
    backend: Backend, redis_client: Any
) -> None:
    async def give_up(_job: Any, _token: str) -> None:
        raise UnrecoverableError("stalled too often")

    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {})
        async with bull_worker(backend, give_up):
            await eventually(lambda: state(system, record.id), lambda s: s == "failed")
        assert await system.reconciler.run_once(min_age_s=0) == 0
        row = await system.store.get(record.id, owner_id=OWNER)
        assert row is not None
        assert (row.status, row.error_message) == ("failed", STALLED_OUT_MESSAGE)
