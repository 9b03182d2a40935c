"""JobService: what a submit writes, and the state errors of cancel and retry."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.backends import Backend
from tests.support.system import JobSystem, job_system
from ultudy.errors import JobInputError, NotFoundError
from ultudy.jobs.record import JobRecord
from ultudy.jobs.service import JobStateError
from ultudy.kinds import JobType

OWNER = "alice"
LESSON = JobType.LESSON_GENERATION


async def events_of(system: JobSystem, record: JobRecord) -> list[str]:
    await system.events.drain()
    events = await system.events.read(OWNER, after="0", block_ms=None)
    return [e.type for e in events if e.data["job"]["id"] == str(record.id)]


async def test_a_submit_writes_a_pending_row_queues_the_job_and_announces_it(
    backend: Backend, redis_client: Any
) -> None:
    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {"echo": 1}, priority=3)
        assert await system.store.get(record.id, owner_id=OWNER) == record
        assert record.status == "pending"
        assert await system.queues.state(LESSON, str(record.id)) == "prioritized"
        assert await events_of(system, record) == ["job.created"]


async def test_a_pending_job_is_cancelled_once_and_leaves_its_queue(
    backend: Backend, redis_client: Any
) -> None:
    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {})
        cancelled = await system.service.cancel(OWNER, record.id)
        assert (cancelled.status, cancelled.error_message) == ("cancelled", "Cancelled")
        assert await system.queues.state(LESSON, str(record.id)) == "unknown"
        with pytest.raises(
            JobStateError,
            match="Job is already cancelled; only a pending or processing job can be cancelled",
        ):
            await system.service.cancel(OWNER, record.id)
        assert await events_of(system, record) == ["job.created", "job.cancelled"]


async def test_a_finished_job_cannot_be_cancelled(backend: Backend, redis_client: Any) -> None:
    async with job_system(backend) as system:
        record = await system.store.create(
            owner_id=OWNER, type=LESSON, input_data={}, max_attempts=1
        )
        assert await system.store.start(record.id, owner_id=OWNER) is not None
        assert await system.store.complete(record.id, {"ok": 1}, owner_id=OWNER) is not None
        with pytest.raises(JobStateError, match="Job is already completed"):
            await system.service.cancel(OWNER, record.id)
        stored = await system.store.get(record.id, owner_id=OWNER)
        assert stored is not None
        assert stored.status == "completed"


async def test_only_a_failed_or_cancelled_job_is_retried_as_a_new_job(
    backend: Backend, redis_client: Any
) -> None:
    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {"echo": "again"}, priority=2)
        with pytest.raises(
            JobStateError, match="Job is pending; only a failed or cancelled job can be retried"
        ):
            await system.service.retry(OWNER, record.id)
        assert await system.store.fail(record.id, "no", owner_id=OWNER) is not None
        again = await system.service.retry(OWNER, record.id)
        assert again.id != record.id
        assert (again.status, again.input_data, again.priority) == ("pending", {"echo": "again"}, 2)
        assert await system.queues.state(LESSON, str(again.id)) == "prioritized"


async def test_another_owners_job_is_not_found(backend: Backend, redis_client: Any) -> None:
    async with job_system(backend) as system:
        record = await system.service.submit(OWNER, LESSON, {})
        for action in (system.service.get, system.service.cancel, system.service.retry):
            with pytest.raises(NotFoundError):
                await action("bob", record.id)
        assert (await system.service.get(OWNER, record.id)).status == "pending"


async def test_an_inline_run_returns_its_row_or_raises_its_users_error(
    backend: Backend, redis_client: Any
) -> None:
    async with job_system(backend) as system:
        done = await system.service.run_inline(OWNER, LESSON, {"echo": "now"})
        assert (done.status, done.inline, done.result_data) == (
            "completed",
            True,
            {"echo": "now", "steps": 1, "attempt": 1},
        )
        with pytest.raises(JobInputError, match="The input says no"):
            await system.service.run_inline(OWNER, LESSON, {"fail": "input"})
        assert await system.queues.outstanding() == 0  # inline runs are never enqueued
