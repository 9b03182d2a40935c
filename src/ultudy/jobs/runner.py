"""Runs one job: the bridge between a BullMQ delivery and the SQL row's lifecycle."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from ultudy.errors import JobCancelledError, UltudyError
from ultudy.jobs.context import CancelSignal, JobContext, NeverCancelled, Registry, Services
from ultudy.jobs.events import EventLog
from ultudy.jobs.policy import ProgressThrottle, backoff_delay_ms
from ultudy.jobs.states import JobType
from ultudy.jobs.store import JobRecord, JobStore
from ultudy.logs import current_job_id

logger = logging.getLogger(__name__)


class ExpectedFailure(Exception):
    """Raised to the queue when the job must not be retried (bad input, cancelled)."""


class JobRunner:
    def __init__(
        self, services: Services, store: JobStore, events: EventLog, registry: Registry
    ) -> None:
        self.services = services
        self.store = store
        self.events = events
        self.registry = registry
        self.progress_interval_s = services.settings.progress_interval_ms / 1000

    async def run(
        self,
        job_id: uuid.UUID,
        owner_id: str,
        *,
        will_retry: bool = False,
        signal: CancelSignal | None = None,
    ) -> JobRecord | None:
        """Run the job if its row lets us; None when it was already finished or cancelled.

        Raises ExpectedFailure for a failure that must not be retried, and re-raises an
        unexpected error (after recording it) so the queue can retry it.
        """
        current_job_id.set(str(job_id))
        record = await self.store.start(job_id, owner_id=owner_id)
        if record is None:
            logger.info("job %s: row is not runnable (finished or cancelled); skipping", job_id)
            return None
        await self.events.publish_job("job.processing", record)
        context = self._context(record, signal or NeverCancelled())
        try:
            processor = self.registry[JobType(record.type)]
            result = await processor(context, record.input_data)
        except JobCancelledError as exc:
            await self._finish_cancelled(record)
            raise ExpectedFailure("cancelled") from exc
        except UltudyError as exc:
            await self._finish_failed(record, exc.message)
            raise ExpectedFailure(exc.message) from exc
        except Exception:
            logger.exception("job %s (%s) raised unexpectedly", job_id, record.type)
            await self._record_unexpected(record, will_retry=will_retry)
            raise
        return await self._finish_completed(record, result)

    def _context(self, record: JobRecord, signal: CancelSignal) -> JobContext:
        throttle = ProgressThrottle(interval_s=self.progress_interval_s)
        throttle.started()

        async def sink(progress: int, message: str | None) -> None:
            if throttle.should_write():
                await self.store.set_progress(
                    record.id, progress, message, owner_id=record.owner_id
                )
            await self.events.publish(
                record.owner_id,
                "job.progress",
                {"job": {"id": str(record.id), "type": record.type, "status": "processing",
                         "progress": progress, "progress_message": message}},
            )  # fmt: skip

        return JobContext(
            job_id=record.id, owner_id=record.owner_id, type=JobType(record.type),
            attempt=record.attempts, services=self.services, sink=sink, signal=signal,
        )  # fmt: skip

    async def _finish_completed(self, record: JobRecord, result: Any) -> JobRecord | None:
        done = await self.store.complete(record.id, dict(result), owner_id=record.owner_id)
        if done is None:
            logger.info("job %s finished after it was cancelled; result dropped", record.id)
            return None
        await self.events.publish_job("job.completed", done)
        logger.info("job %s completed", record.id)
        return done

    async def _finish_failed(self, record: JobRecord, message: str) -> None:
        failed = await self.store.fail(record.id, message, owner_id=record.owner_id)
        if failed is not None:
            await self.events.publish_job("job.failed", failed)
        logger.info("job %s failed: %s", record.id, message)

    async def _finish_cancelled(self, record: JobRecord) -> None:
        cancelled = await self.store.cancel(record.id, owner_id=record.owner_id)
        if cancelled is not None:
            await self.events.publish_job("job.cancelled", cancelled)
        logger.info("job %s stopped: cancelled", record.id)

    async def _record_unexpected(self, record: JobRecord, *, will_retry: bool) -> None:
        attempt, total = record.attempts, record.max_attempts
        if will_retry:
            delay_s = backoff_delay_ms(attempt, base_ms=self.services.settings.backoff_ms) / 1000
            message = (f"Attempt {attempt} of {total} hit an internal error; "
                       f"retrying in {delay_s:g} s")  # fmt: skip
            requeued = await self.store.requeue(record.id, message, owner_id=record.owner_id)
            if requeued is not None:
                await self.events.publish_job("job.retrying", requeued)
            return
        message = (f"The job failed after {attempt} attempt{'s' if attempt > 1 else ''} "
                   f"because of an internal error (reference: job {record.id}).")  # fmt: skip
        await self._finish_failed(record, message)
