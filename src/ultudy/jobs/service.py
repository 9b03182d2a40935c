"""The job system's front door for the API and the CLI: submit, read, cancel, retry."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.exceptions import RedisError

from ultudy.errors import NotFoundError, UltudyError
from ultudy.jobs.events import EventLog
from ultudy.jobs.queue import EnqueueOptions, JobQueues
from ultudy.jobs.states import JobStatus, JobType
from ultudy.jobs.store import JobPage, JobRecord, JobStore

logger = logging.getLogger(__name__)


class JobStateError(UltudyError):
    """The job is not in a state that allows this."""


class JobService:
    def __init__(self, store: JobStore, queues: JobQueues, events: EventLog) -> None:
        self.store = store
        self.queues = queues
        self.events = events

    async def submit(
        self,
        owner_id: str,
        job_type: JobType,
        input_data: dict[str, Any],
        options: EnqueueOptions | None = None,
    ) -> JobRecord:
        """Insert the row, commit, then enqueue. If the enqueue fails the row stays pending
        and the worker's reconciler enqueues it later: an accepted job is never lost."""
        record = await self.store.create(
            owner_id=owner_id,
            type=job_type,
            input_data=input_data,
            max_attempts=self.queues.settings.max_attempts,
        )
        try:
            await self.queues.add(record, options)
        except (RedisError, OSError):
            logger.warning("enqueue of job %s failed; the reconciler will retry", record.id)
        await self.events.publish_job("job.created", record)
        return record

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
        removed = await self.queues.remove(JobType(record.type), str(job_id))
        if not removed:
            await self.queues.request_cancel(str(job_id))
        await self.events.publish_job("job.cancelled", record)
        return record

    async def retry(self, owner_id: str | None, job_id: uuid.UUID) -> JobRecord:
        """Run a failed or cancelled job again, as a new job with the same input."""
        current = await self.get(owner_id, job_id)
        if current.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise JobStateError(
                f"Job is {current.status}; only a failed or cancelled job can be retried"
            )
        return await self.submit(current.owner_id, JobType(current.type), current.input_data)
