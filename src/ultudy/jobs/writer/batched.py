"""The worker's writer: the row changes of all concurrent jobs of the process share one
transaction (group commit), applied in submission order. How a flush reaches the database
is each backend's own (`SqliteWriter`, `PostgresWriter`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from ultudy.db.outage import DatabaseUnavailableError, is_outage
from ultudy.db.types import utcnow
from ultudy.jobs.batching import GroupCommit
from ultudy.jobs.planning import JobKey, Op, fuse
from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore
from ultudy.jobs.writer.protocol import Written

logger = logging.getLogger(__name__)

# How long a worker's row write may wait for others to share its round trip (tuned with
# bench.job_system and bench.worker_cpu): nobody waits for a start, progress or
# completion (written behind), so they wait 10 ms for company: a short job's start and
# end become one write, and the writes of many jobs one flush. 10 ms instead of 5 took two
# workers from 87-90 % to 93-96 % of raw bullmq (CPU per job 0.59 -> 0.54-0.56 ms,
# PostgreSQL), for a completion's row and event landing up to 5 ms later. A write
# someone awaits (a failure, a retry: it holds its job's queue slot) waits less: each
# backend's URGENT_LINGER_S.
WORKER_LINGER_S = 0.010
# A completion written behind (its job's queue slot is free already) that fails is tried
# again after these pauses; the result is only in memory. After the last, the reconciler
# sees the job completed in the broker but not in its row, and runs it again.
BEHIND_RETRY_S = (0.2, 1.0, 3.0)

Start = tuple[asyncio.Future[Any], datetime]  # a running job's start write, and its time


class BatchedWriter(ABC):
    writes_behind = True
    URGENT_LINGER_S: ClassVar[float]

    def __init__(
        self,
        store: JobStore,
        *,
        linger_s: float = WORKER_LINGER_S,
        urgent_linger_s: float | None = None,
    ) -> None:
        self.store = store
        urgent = self.URGENT_LINGER_S if urgent_linger_s is None else urgent_linger_s
        self._commit: GroupCommit[Op, Any] = GroupCommit(
            self._flush,
            name="job-writes",
            linger_s=linger_s,
            urgent_linger_s=urgent,
            key=_job_key,
            on_lost=_log_lost,
        )
        # completions written behind and not yet settled (written, or given up)
        self._behind: set[asyncio.Future[None]] = set()
        # each running job's start write and its time, until its end is queued
        self._starts: dict[JobKey, Start] = {}

    @abstractmethod
    async def _apply(self, kept: list[tuple[int, Op]], results: list[Any]) -> None:
        """Write the fused ops in one transaction, each op's result at its index."""

    @abstractmethod
    async def _release(self) -> None:
        """Close the backend's connections (everything queued is written by then)."""

    def start(self, job_id: uuid.UUID, owner_id: str) -> asyncio.Future[Any]:
        """Queued, not awaited: the processor starts at once; the row follows a moment later.
        If that write fails, so does the job's final write (same or later flush): retried."""
        at = utcnow()
        future = self._commit.submit_nowait(
            Op(kind="start", job_id=job_id, owner_id=owner_id, payload=at)
        )
        future.add_done_callback(_log_failure)
        self._starts[(job_id, owner_id)] = (future, at)
        return future

    async def complete(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any]
    ) -> JobRecord | None:
        self._starts.pop((job_id, owner_id), None)
        op = Op(kind="complete", job_id=job_id, owner_id=owner_id, payload=(result, utcnow()))
        record: JobRecord | None = await self._commit.submit(op)
        return record

    async def transition(
        self, job_id: uuid.UUID, owner_id: str, target: JobStatus, values: dict[str, Any]
    ) -> JobRecord | None:
        self._starts.pop((job_id, owner_id), None)
        op = Op(kind="transition", job_id=job_id, owner_id=owner_id, payload=(target, values))
        record: JobRecord | None = await self._commit.submit(op)
        return record

    async def create(self, record: JobRecord) -> None:
        await self._commit.submit(
            Op(kind="create", job_id=record.id, owner_id=record.owner_id, payload=record)
        )

    async def progress(self, job_id: uuid.UUID, owner_id: str, pct: int, msg: str | None) -> None:
        self._commit.post(Op(kind="progress", job_id=job_id, owner_id=owner_id, payload=(pct, msg)))

    def complete_behind(
        self, job_id: uuid.UUID, owner_id: str, result: dict[str, Any], written: Written
    ) -> None:
        """Queue the completion without waiting for it: it lingers like a start, and the
        job's queue slot is free at once. `written` gets the completed row (None if the
        row was not `processing` any more: cancelled meanwhile) once it is written."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._behind.add(settled)
        settled.add_done_callback(self._behind.discard)
        start = self._starts.pop((job_id, owner_id), None)
        op = Op(kind="complete", job_id=job_id, owner_id=owner_id, payload=(result, utcnow()))
        self._write_behind(op, start, written, settled, 0)

    def _write_behind(
        self,
        op: Op,
        start: Start | None,
        written: Written,
        settled: asyncio.Future[None],
        failures: int,
    ) -> None:
        def done(future: asyncio.Future[Any]) -> None:
            # If the job's start write failed (with this completion, or alone before it),
            # the row is not `processing`: the completion must carry the start, as a run.
            unstarted = start is not None and _failed(start[0])
            error = None if future.cancelled() else future.exception()
            final = future.cancelled() or (
                error is None and (future.result() is not None or op.kind == "run" or not unstarted)
            )
            if final:
                try:
                    if not future.cancelled():
                        written(future.result())
                finally:
                    settled.set_result(None)
            elif failures < len(BEHIND_RETRY_S):
                pause = BEHIND_RETRY_S[failures]
                logger.warning(
                    "job %s: its completion was not written (%s); trying again in %g s",
                    op.job_id,
                    error or "its start was not",
                    pause,
                )
                again = op.as_run(start[1]) if start is not None and unstarted else op
                loop = asyncio.get_running_loop()
                loop.call_later(
                    pause, self._write_behind, again, start, written, settled, failures + 1
                )
            else:
                logger.error(
                    "job %s: its completion could not be written (%s); the "
                    "reconciler will run the job again",
                    op.job_id,
                    error,
                )
                settled.set_result(None)

        self._commit.submit_nowait(op).add_done_callback(done)

    async def _flush(self, ops: list[Op]) -> list[Any]:
        """Write `ops`; an outage reaches their writers as DatabaseUnavailableError."""
        kept, alias = fuse(ops)
        results: list[Any] = [None] * len(ops)
        try:
            await self._apply(kept, results)
        except Exception as exc:
            if is_outage(exc) and not isinstance(exc, DatabaseUnavailableError):
                raise DatabaseUnavailableError() from exc
            raise
        for start, run in alias.items():
            results[start] = results[run]
        return results

    async def drain(self) -> None:
        """Wait until every queued write is written (completions behind: or given up)."""
        while self._behind:
            await asyncio.wait(set(self._behind))
        await self._commit.drain()

    async def close(self) -> None:
        await self.drain()
        await self._release()


def _job_key(op: Op) -> JobKey:
    return op.key


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is not None


def _log_lost(count: int, exc: Exception) -> None:
    logger.warning("job row write failed: %s (%d progress write(s) lost)", exc, count)


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("job row write failed: %s", future.exception())
