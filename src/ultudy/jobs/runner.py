"""Runs one job: the bridge between a delivery (BullMQ, or an inline sync request) and the
SQL row's lifecycle. The processor gets its input from the delivery, so in the worker it
starts at once while the row's `processing` write is group-committed a moment later."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from ultudy.config import Settings
from ultudy.db.types import utcnow
from ultudy.errors import JobCancelledError, JobInputError, TransientError, UltudyError
from ultudy.jobs.context import CancelSignal, JobContext, NeverCancelled, Spawner
from ultudy.jobs.delivery import (
    Behind,
    Delivery,
    ExpectedFailure,
    StartAwareSignal,
    start_applied,
)
from ultudy.jobs.dependencies import Dependencies
from ultudy.jobs.events import EventLog
from ultudy.jobs.metrics import RunWatch
from ultudy.jobs.policy import ProgressThrottle, backoff_delay_ms
from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus
from ultudy.jobs.types import JobKinds
from ultudy.jobs.writer import JobWriter
from ultudy.logs import current_job_id, current_request_id

logger = logging.getLogger(__name__)

# Where the API leaves the submitting request's id in a job's input (processors ignore it).
REQUEST_ID_KEY = "_request_id"


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        services: object,
        writer: JobWriter,
        events: EventLog,
        kinds: JobKinds,
        *,
        dependencies: Dependencies | None = None,
    ) -> None:
        self.settings = settings
        self.dependencies = dependencies  # None: no job waits for another (some tests)
        self.services = services  # the application's, handed to each processor as is
        self.writer = writer
        self.events = events
        self.kinds = kinds
        self.progress_interval_s = settings.progress_interval_ms / 1000
        # The application's hook on every completed or failed job (e.g. an email for a
        # long one); called on the hot path, so it must be cheap for most jobs.
        self.on_end: Callable[[JobRecord], None] | None = None

    async def run(
        self, job: Delivery, *, signal: CancelSignal | None = None
    ) -> JobRecord | Behind | None:
        """Run the job if its row lets us; None when it was already finished or cancelled,
        Behind.COMPLETION when its completion is queued (written behind).

        Raises ExpectedFailure for a failure that must not be retried, and re-raises an
        unexpected error (after recording it) so the queue can retry it.
        """
        current_job_id.set(str(job.job_id))
        request_id = job.input_data.get(REQUEST_ID_KEY)
        if request_id is not None:  # inline runs already have the request's
            current_request_id.set(str(request_id))
        started = self.writer.start(job.job_id, job.owner_id)
        if not self.writer.writes_behind:
            runnable = await started is not None
        elif job.redelivered:
            runnable = await start_applied(started)
        else:
            runnable = True
        if not runnable:
            logger.info("row is not runnable (finished or cancelled); skipping")
            return None
        watch = self._watch(job)
        feed = _LiveFeed(self, job, started)
        context = self._context(job, feed, StartAwareSignal(signal or NeverCancelled(), started))
        try:
            result, chars = _storable(await self.kinds[job.type].processor(context, job.input_data))
        except JobCancelledError as exc:
            watch.ended("cancelled")
            await self._finish(job, JobStatus.CANCELLED, "job.cancelled", "Cancelled")
            raise ExpectedFailure("cancelled", cause=exc) from exc
        except TransientError as exc:
            watch.ended("retrying" if job.will_retry else "failed")
            logger.warning("job %s: %s", job.job_id, exc.message)
            await self._record_retryable(job, exc.message)
            raise
        except UltudyError as exc:
            watch.ended("failed")
            await self._finish(job, JobStatus.FAILED, "job.failed", exc.message)
            raise ExpectedFailure(exc.message, cause=exc) from exc
        except Exception:
            watch.ended("retrying" if job.will_retry else "failed")
            logger.exception("job %s (%s) raised unexpectedly", job.job_id, job.type)
            await self._record_retryable(job, None)
            raise
        watch.ended("completed")
        # Not awaiting `started` first: the writer keeps the order, so the completion can
        # share the start's transaction, and it finds no `processing` row if the start did
        # not apply (cancelled or finished meanwhile).
        return await self._complete(job, feed, result, chars)

    def _watch(self, job: Delivery) -> RunWatch:
        known = job.type in self.kinds  # an unknown type fails in `run`, counted under it
        return RunWatch(
            queue=self.kinds[job.type].queue if known else job.type,
            job_type=job.type,
            owner_id=job.owner_id,
            attempt=job.attempt,
            enqueued_at=job.enqueued_at,
        )

    def _context(self, job: Delivery, feed: _LiveFeed, signal: CancelSignal) -> JobContext[object]:
        throttle = ProgressThrottle(interval_s=self.progress_interval_s)
        throttle.started()

        async def sink(progress: int, message: str | None) -> None:
            if throttle.should_write():
                await self.writer.progress(job.job_id, job.owner_id, progress, message)
                feed.mirror(progress, message)
            feed.emit("job.progress", progress, message)

        return JobContext(
            spawner=self._spawner(job),
            job_id=job.job_id,
            owner_id=job.owner_id,
            type=job.type,
            attempt=job.attempt,
            services=self.services,
            sink=sink,
            signal=signal,
            enqueued_at=job.enqueued_at,
            max_attempts=job.max_attempts,
        )

    def _spawner(self, job: Delivery) -> Spawner:
        deps = self.dependencies

        async def spawn(job_type: str, input_data: dict[str, Any], key: str) -> uuid.UUID:
            if deps is None:
                raise JobInputError("this job cannot start follow-up jobs here")
            return await deps.spawn(job.job_id, job.owner_id, job_type, input_data, key=key)

        return spawn

    async def _complete(
        self, job: Delivery, feed: _LiveFeed, result: dict[str, Any], chars: int
    ) -> JobRecord | Behind | None:
        if self.writer.writes_behind:
            # The queue slot is free at once; the row and its event follow a moment later.
            self.writer.complete_behind(
                job.job_id, job.owner_id, result, lambda done: self._on_completed(feed, done)
            )
            return Behind(result, chars)
        done = await self.writer.complete(job.job_id, job.owner_id, result)
        self._on_completed(feed, done)
        return done

    def _on_completed(self, feed: _LiveFeed, done: JobRecord | None) -> None:
        if done is None:
            logger.info("job %s finished after it was cancelled; result dropped", feed.job.job_id)
        else:
            self.events.publish_completed(done, feed.queue)
            self._settle(done)
            if self.on_end is not None:
                self.on_end(done)

    def _settle(self, ended: JobRecord) -> None:
        if self.dependencies is not None:
            self.dependencies.settle_soon(ended)

    async def _finish(self, job: Delivery, target: JobStatus, kind: str, message: str) -> None:
        values = {"error_message": message, "completed_at": utcnow()}
        record = await self.writer.transition(job.job_id, job.owner_id, target, values)
        if record is not None:
            self.events.publish_job(kind, record)
            self._settle(record)
            if self.on_end is not None and target is JobStatus.FAILED:
                self.on_end(record)
        logger.info("job %s: %s", target.value, message)

    async def _record_retryable(self, job: Delivery, reason: str | None) -> None:
        """An unexpected error (no reason: internals stay in the log) or a transient one."""
        attempt, total = job.attempt, job.max_attempts
        what = reason or "an internal error"
        if job.will_retry:
            delay_s = backoff_delay_ms(attempt, base_ms=self.settings.backoff_ms) / 1000
            message = f"Attempt {attempt} of {total} failed ({what}); retrying in {delay_s:g} s"
            values = {"progress_message": message, "error_message": message}
            record = await self.writer.transition(
                job.job_id, job.owner_id, JobStatus.PENDING, values
            )
            if record is not None:
                self.events.publish_job("job.retrying", record)
            return
        message = (
            f"The job failed after {attempt} attempt{'s' if attempt > 1 else ''}: "
            f"{what} (reference: job {job.job_id})."
        )
        await self._finish(job, JobStatus.FAILED, "job.failed", message)


def _storable(result: Any) -> tuple[dict[str, Any], int]:
    """The processor's result as its row keeps it, a JSON object, and its JSON's length;
    one that is not JSON fails here, in its own job, not in a row write it would share
    with other jobs."""
    stored = dict(result)
    # TypeError / ValueError: a processor bug, retried, then failed
    return stored, len(json.dumps(stored, separators=(",", ":")))


class _LiveFeed:
    """A running job's live events (processing, then progress), in order. The first goes
    out once the row says `processing`; none if the row turned out not runnable, or if the
    job's start and end were written together (its final event follows at once)."""

    def __init__(self, runner: JobRunner, job: Delivery, started: asyncio.Future[Any]) -> None:
        self.events = runner.events
        self.job = job
        self.queue = job.queue
        self.held: list[tuple[str, int, str | None]] | None = [("job.processing", 0, None)]
        if not started.done():
            started.add_done_callback(self._on_start)
        else:  # the row is already processing (a direct write, awaited)
            self._release()

    def emit(self, kind: str, progress: int, message: str | None) -> None:
        if self.held is None:
            self._publish(kind, progress, message)
        else:
            self.held.append((kind, progress, message))

    def mirror(self, progress: int, message: str | None) -> None:
        """A progress write (throttled as the row's) onto the BullMQ job; its message
        goes to the job's log."""
        if self.queue is None:
            return
        job_id = str(self.job.job_id)
        self.events.mirror_progress(self.queue, job_id, progress)
        if message:
            self.events.mirror_log(self.queue, job_id, f"{progress}% {message}")

    def _on_start(self, started: asyncio.Future[Any]) -> None:
        row = None if started.cancelled() or started.exception() else started.result()
        if row is None:
            self.held = []  # not running: nothing to show (the final write says what happened)
        elif isinstance(row, JobRecord) and row.status != JobStatus.PROCESSING:
            # Started and finished in one write (a job of a few ms): the live events would
            # come microseconds before the final one, which says it all. Dropped, as a
            # throttled progress update is.
            self.held = []
        else:
            self._release()

    def _release(self) -> None:
        held, self.held = self.held or [], None
        for event in held:
            self._publish(*event)

    def _publish(self, kind: str, progress: int, message: str | None) -> None:
        job = self.job
        self.events.publish(
            job.owner_id,
            kind,
            {
                "job": {
                    "id": str(job.job_id),
                    "type": job.type,
                    "status": "processing",
                    "progress": progress,
                    "progress_message": message,
                    "attempts": job.attempt,
                }
            },
        )
