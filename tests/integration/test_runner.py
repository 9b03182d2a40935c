"""The runner's outcomes on a real store and event stream, with both writers: the API's
direct one (each write awaited) and the worker's batched one (completion written behind)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support.backends import Backend
from ultudy.bootstrap import load_kinds
from ultudy.errors import JobInputError, TransientError
from ultudy.jobs.context import JobContext
from ultudy.jobs.delivery import Behind, Delivery, ExpectedFailure
from ultudy.jobs.events import EventLog
from ultudy.jobs.record import JobRecord
from ultudy.jobs.runner import JobRunner
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer import BatchedWriter, DirectWriter, batched_writer
from ultudy.kinds import JobType

OWNER = "alice"
WRITERS = ["direct", "batched"]


async def process(ctx: JobContext, data: dict[str, Any]) -> dict[str, Any]:
    """Does what its input says; by default one progress update, then a result."""
    match data.get("do"):
        case "input":
            raise JobInputError("Page 3 cannot be read.")
        case "crash":
            raise RuntimeError("internal detail")
        case "transient":
            raise TransientError("The model did not answer")
        case "unstorable":
            return {"ids": {1, 2}}  # a set: not JSON
        case "quick":  # no checkpoint: runs to its end whatever its row says
            return {"echo": data.get("echo")}
    await ctx.progress(50, "half")  # also the cancellation checkpoint
    return {"echo": data.get("echo")}


class Aborted:
    aborted = True


@dataclass
class Rig:
    runner: JobRunner
    store: JobStore
    events: EventLog
    writer: DirectWriter | BatchedWriter

    async def deliver(
        self, data: dict[str, Any], *, attempt: int = 1, will_retry: bool = False
    ) -> Delivery:
        record = await self.store.create(
            owner_id=OWNER, type=JobType.LESSON_GENERATION, input_data=data, max_attempts=3
        )
        return Delivery(
            job_id=record.id,
            owner_id=OWNER,
            type=JobType.LESSON_GENERATION,
            input_data=data,
            attempt=attempt,
            max_attempts=3,
            will_retry=will_retry,
        )

    async def run_failing(
        self, data: dict[str, Any], raises: type[Exception], **delivery: Any
    ) -> tuple[Delivery, JobRecord, list[str]]:
        """Run a job that raises `raises` to the queue; the job, its row and events."""
        job = await self.deliver(data, **delivery)
        with pytest.raises(raises):
            await self.runner.run(job)
        row, events = await self.settled(job)
        return job, row, events

    async def settled(self, job: Delivery) -> tuple[JobRecord, list[str]]:
        """The job's row and its events, once every queued write is out."""
        if isinstance(self.writer, BatchedWriter):
            await self.writer.drain()
        await self.events.drain()
        row = await self.store.get(job.job_id, owner_id=OWNER)
        assert row is not None
        events = await self.events.read(OWNER, after="0", block_ms=None)
        return row, [e.type for e in events if e.data["job"]["id"] == str(job.job_id)]


@asynccontextmanager
async def rig(backend: Backend, kind: str) -> AsyncIterator[Rig]:
    db = backend.database()
    store = JobStore(db)
    redis = Redis.from_url(backend.redis_url, decode_responses=True)
    events = EventLog(redis, prefix=backend.prefix, maxlen=100, ttl_s=60)
    writer = DirectWriter(store) if kind == "direct" else batched_writer(store)
    settings = backend.settings()
    kinds = load_kinds(settings, dict.fromkeys(JobType, process))
    runner = JobRunner(settings, None, writer, events, kinds)
    try:
        yield Rig(runner, store, events, writer)
    finally:
        await writer.close()
        await events.drain()
        await redis.delete(events.key(OWNER))
        await redis.aclose()
        await db.dispose()


@pytest.mark.parametrize("kind", WRITERS)
async def test_a_successful_run_completes_the_row_with_its_result(
    backend: Backend, kind: str
) -> None:
    async with rig(backend, kind) as r:
        job = await r.deliver({"echo": "hi"})
        outcome = await r.runner.run(job)
        row, events = await r.settled(job)
    if kind == "direct":
        assert isinstance(outcome, JobRecord)
        assert outcome == row
        assert events == ["job.processing", "job.progress", "job.completed"]
    else:  # the slot is free before the row says so; a short job shows only its end
        assert isinstance(outcome, Behind)
        assert events[-1] == "job.completed"
    assert (row.status, row.result_data, row.attempts, row.progress) == (
        "completed",
        {"echo": "hi"},
        1,
        100,
    )
    assert row.started_at is not None
    assert row.completed_at is not None
    assert row.started_at <= row.completed_at


@pytest.mark.parametrize("kind", WRITERS)
async def test_an_expected_failure_fails_the_job_at_once_with_its_message(
    backend: Backend, kind: str
) -> None:
    async with rig(backend, kind) as r:
        _, row, events = await r.run_failing({"do": "input"}, ExpectedFailure, will_retry=True)
    assert (row.status, row.error_message) == ("failed", "Page 3 cannot be read.")
    assert events[-1] == "job.failed"


@pytest.mark.parametrize("kind", WRITERS)
async def test_an_unexpected_failure_is_recorded_as_a_retry_without_internals(
    backend: Backend, kind: str
) -> None:
    async with rig(backend, kind) as r:  # the error goes to the queue, which retries
        _, row, events = await r.run_failing({"do": "crash"}, RuntimeError, will_retry=True)
    message = "Attempt 1 of 3 failed (an internal error); retrying in 0.05 s"  # backoff 50 ms
    assert (row.status, row.error_message, row.progress_message) == ("pending", message, message)
    assert events[-1] == "job.retrying"


@pytest.mark.parametrize("kind", WRITERS)
async def test_the_last_attempt_fails_the_job_with_a_reference_not_internals(
    backend: Backend, kind: str
) -> None:
    async with rig(backend, kind) as r:
        job, row, events = await r.run_failing({"do": "crash"}, RuntimeError, attempt=3)
    assert row.status == "failed"
    assert row.error_message == (
        f"The job failed after 3 attempts: an internal error (reference: job {job.job_id})."
    )
    assert events[-1] == "job.failed"


async def test_a_transient_failure_is_retried_and_says_why(backend: Backend) -> None:
    async with rig(backend, "batched") as r:
        _, row, _ = await r.run_failing({"do": "transient"}, TransientError, will_retry=True)
    assert row.status == "pending"
    assert row.error_message == (
        "Attempt 1 of 3 failed (The model did not answer); retrying in 0.05 s"
    )


@pytest.mark.parametrize("kind", WRITERS)
async def test_a_cancel_signal_ends_the_job_cancelled(backend: Backend, kind: str) -> None:
    async with rig(backend, kind) as r:
        job = await r.deliver({})
        with pytest.raises(ExpectedFailure, match="cancelled"):
            await r.runner.run(job, signal=Aborted())
        row, events = await r.settled(job)
    assert (row.status, row.error_message, row.result_data) == ("cancelled", "Cancelled", None)
    assert events[-1] == "job.cancelled"


@pytest.mark.parametrize("kind", WRITERS)
async def test_a_job_cancelled_before_it_runs_keeps_its_cancelled_row(
    backend: Backend, kind: str
) -> None:
    """Direct: the row is read first, so the processor never runs. Batched: the processor
    starts before its row's `processing` write, and its result is dropped."""
    async with rig(backend, kind) as r:
        job = await r.deliver({"do": "quick", "echo": "late"})
        assert await r.store.cancel(job.job_id, owner_id=OWNER) is not None
        outcome = await r.runner.run(job)
        row, events = await r.settled(job)
    assert (outcome is None) if kind == "direct" else isinstance(outcome, Behind)
    assert (row.status, row.result_data) == ("cancelled", None)
    assert events == []  # the cancel's event is the service's, not the runner's


@pytest.mark.parametrize("kind", WRITERS)
async def test_a_result_that_is_not_json_fails_only_its_own_job(
    backend: Backend, kind: str
) -> None:
    """Checked before the write: an unstorable result must not fail the flush it would
    share with other jobs' writes."""
    async with rig(backend, kind) as r:
        bad, good = await r.deliver({"do": "unstorable"}, will_retry=True), await r.deliver({})
        outcomes = await asyncio.gather(
            r.runner.run(bad), r.runner.run(good), return_exceptions=True
        )
        assert isinstance(outcomes[0], TypeError)
        assert not isinstance(outcomes[1], BaseException)
        bad_row, _ = await r.settled(bad)
        good_row, _ = await r.settled(good)
    assert bad_row.status == "pending"
    assert bad_row.error_message is not None
    assert bad_row.error_message.startswith("Attempt 1 of 3 failed (an internal error)")
    assert good_row.status == "completed"
