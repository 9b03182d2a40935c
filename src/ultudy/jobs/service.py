"""The job system's front door for the API and the CLI: submit, read, cancel, retry."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from ultudy.db.types import utcnow
from ultudy.errors import (
    JobCancelledError,
    JobInputError,
    NotFoundError,
    TransientError,
    UltudyError,
)
from ultudy.jobs.caps import PendingCap
from ultudy.jobs.delivery import Behind, Delivery, ExpectedFailure
from ultudy.jobs.dependencies import Dependencies, waiting_message
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.record import JobRecord, new_job
from ultudy.jobs.runner import REQUEST_ID_KEY, JobRunner
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobPage, JobStore
from ultudy.jobs.writer import DirectWriter, JobWriter
from ultudy.logs import current_request_id

logger = logging.getLogger(__name__)


class JobStateError(UltudyError):
    """The job is not in a state that allows this."""


class JobFailedError(UltudyError):
    """The job failed because of an internal error."""


def _sync_error(failure: ExpectedFailure) -> UltudyError:
    """What a sync request answers for a job that failed as expected: the processor's own
    error when the API maps it (not found: 404; bad input: 422), a cancel is a conflict,
    anything else (a model that gave no usable answer) is the input's to change."""
    if isinstance(failure.cause, NotFoundError | JobInputError):
        return failure.cause
    if isinstance(failure.cause, JobCancelledError):
        return JobStateError("The job was cancelled")
    return JobInputError(failure.message)


def _tagged(input_data: dict[str, Any]) -> dict[str, Any]:
    """The input with the current request's id, which the job's log lines carry (a retry's
    input loses its first run's)."""
    request_id = current_request_id.get()
    if request_id == "-":
        if REQUEST_ID_KEY not in input_data:
            return input_data
        return {k: v for k, v in input_data.items() if k != REQUEST_ID_KEY}
    return {**input_data, REQUEST_ID_KEY: request_id}


class JobService:
    def __init__(
        self,
        store: JobStore,
        queues: JobQueues,
        events: EventLog,
        runner: JobRunner,
        *,
        creator: JobWriter | None = None,
        pending_cap: PendingCap | None = None,
        dependencies: Dependencies | None = None,
    ) -> None:
        self.store = store
        self.queues = queues
        self.events = events
        self.runner = runner
        # Group-committed inserts when given a batched writer: concurrent requests share one.
        self.creator = creator or DirectWriter(store)
        self.pending_cap = pending_cap  # None: no per-user cap (CLI, benchmarks)
        self.dependencies = dependencies or Dependencies(store, queues, events)

    async def run_inline(
        self, owner_id: str, job_type: str, input_data: dict[str, Any]
    ) -> JobRecord:
        """The sync endpoints: the same processor and the same row, run in this process,
        so they keep working with no worker. Raises the job's user-facing error."""
        self.queues.kinds[job_type]  # an unknown type is the caller's mistake: JobInputError
        input_data = _tagged(input_data)
        record = await self.store.create(
            owner_id=owner_id, type=job_type, input_data=input_data, max_attempts=1, inline=True
        )
        self.events.publish_job("job.created", record)
        delivery = Delivery(
            job_id=record.id,
            owner_id=owner_id,
            type=job_type,
            input_data=input_data,
            attempt=1,
            max_attempts=1,
        )
        try:
            done = await self.runner.run(delivery)
        except ExpectedFailure as exc:
            raise _sync_error(exc) from None
        except TransientError:
            raise
        except Exception as exc:
            failed = await self.store.get(record.id, owner_id=owner_id)
            raise JobFailedError(failed.error_message if failed else None) from exc
        assert not isinstance(done, Behind), "inline runs write directly"
        if done is None:
            raise JobStateError("The job was cancelled")
        return done

    async def submit(
        self,
        owner_id: str,
        job_type: str,
        input_data: dict[str, Any],
        *,
        priority: int = 0,
        delay_s: float = 0,
        run_at: datetime | None = None,
        depends_on: Sequence[uuid.UUID] = (),
    ) -> JobRecord:
        """Insert the row, commit, then enqueue. If the enqueue fails the row stays pending
        and the worker's reconciler enqueues it later: an accepted job is never lost.
        `run_at` (or `delay_s` from now): not before then. `depends_on`: the owner's jobs
        that must complete first (jobs/dependencies.py)."""
        self.queues.kinds[job_type]  # an unknown type is the caller's mistake: JobInputError
        if delay_s > 0:
            run_at = utcnow() + timedelta(seconds=delay_s)
        record = new_job(
            owner_id=owner_id,
            type=job_type,
            input_data=_tagged(input_data),
            max_attempts=self.queues.settings.max_attempts,
            priority=priority,
            run_at=run_at if run_at is not None and run_at > utcnow() else None,
        )
        if depends_on:
            waiting = await self._wait_for(record, list(dict.fromkeys(depends_on)))
            if waiting is not None:
                return waiting
        rank = await self._create_within_cap(record)
        try:
            await self.queues.add(record, rank=rank)
        except (RedisError, OSError):
            logger.warning("enqueue of job %s failed; the reconciler will retry", record.id)
        self.events.publish_job("job.created", record)
        return record

    async def _wait_for(self, record: JobRecord, parent_ids: list[uuid.UUID]) -> JobRecord | None:
        """Record the job as waiting for `parent_ids`; None when they have all completed
        already (then it is an ordinary job)."""
        parents = await self.dependencies.parents(record.owner_id, parent_ids)
        unfinished = sum(p.status != JobStatus.COMPLETED for p in parents)
        if not unfinished:
            return None
        waiting = replace(record, blocked=True, progress_message=waiting_message(unfinished))
        create = self.dependencies.create_waiting
        if self.pending_cap is None:
            await create(waiting, parent_ids)
        else:
            async with self.pending_cap.admit(record.owner_id):
                await create(waiting, parent_ids)
        self.events.publish_job("job.created", waiting)
        # A job it waits for may have ended between the read above and the insert.
        await self.dependencies.check(waiting.id, waiting.owner_id, announce=waiting)
        return waiting

    async def _create_within_cap(self, record: JobRecord) -> int:
        """Raises TooManyJobsError (nothing written) when the owner has too many waiting;
        returns the job's fair-share rank (`jobs.fairness`; 0 without a cap to count it)."""
        if self.pending_cap is None:
            await self.creator.create(record)
            return 0
        types = self.queues.queue_types(record.type)
        async with self.pending_cap.admit(record.owner_id, types, record.priority) as rank:
            await self.creator.create(record)
        return rank

    async def get(self, owner_id: str | None, job_id: uuid.UUID) -> JobRecord:
        record = await self.store.get(job_id, owner_id=owner_id)
        if record is None:
            raise NotFoundError("Job not found")
        return record

    async def list(self, owner_id: str | None, **filters: Any) -> JobPage:
        return await self.store.page(owner_id, **filters)

    async def cancel(self, owner_id: str | None, job_id: uuid.UUID) -> JobRecord:
        """A queued job is removed from its queue; a running one gets its abort signal."""
        current = await self.get(owner_id, job_id)
        record = await self.store.cancel(job_id, owner_id=owner_id)
        if record is None:
            raise JobStateError(
                f"Job is already {current.status}; only a pending or "
                "processing job can be cancelled"
            )
        try:
            if not await self.queues.remove(record.type, str(job_id)):
                await self.queues.request_cancel(str(job_id))
        except RedisError:
            # The row is cancelled, so no worker will run it; a running one stops at its end.
            logger.warning("could not relay the cancel of job %s to the broker", job_id)
        self.events.publish_job("job.cancelled", record)
        if self.pending_cap is not None:
            self.pending_cap.forget(record.owner_id)
        await self.dependencies.settle(record)
        return record

    async def retry(self, owner_id: str | None, job_id: uuid.UUID) -> JobRecord:
        """Run a failed or cancelled job again, as a new job with the same input."""
        current = await self.get(owner_id, job_id)
        if current.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise JobStateError(
                f"Job is {current.status}; only a failed or cancelled job can be retried"
            )
        return await self.submit(
            current.owner_id, current.type, current.input_data, priority=current.priority
        )

    async def promote(self, owner_id: str | None, job_id: uuid.UUID) -> JobRecord:
        """A delayed job runs now: its row's `run_at` becomes now, then BullMQ moves it
        to the wait list (were it missing there, the reconciler adds it undelayed)."""
        current = await self.get(owner_id, job_id)
        record = await self.store.promote(job_id, owner_id=owner_id)
        if record is None:
            raise JobStateError(
                f"Job is {current.status} and waits for no later time; "
                "only a delayed pending job can be promoted"
            )
        if not await self.queues.promote(record.type, str(job_id)):
            logger.info("job %s was not delayed in the broker when promoted", job_id)
        return record
