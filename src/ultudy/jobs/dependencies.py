"""Jobs that wait for other jobs of their owner (`depends_on`), kept in SQL.

A job submitted with unfinished dependencies is inserted `pending` and `blocked` (not
enqueued), with one `job_dependencies` row per job it waits for, and each of those gets
`has_dependents`, all in one transaction. When a job with dependents ends, `settle` checks
each blocked job waiting for it:

- all it waits for completed: one conditional UPDATE (`blocked` true -> false, and no
  unfinished dependency) releases it, then it is enqueued. Two processes settling the same
  job at once both run that UPDATE; the row lock (PostgreSQL) or the write lock (SQLite)
  lets one win, so the release happens once. The enqueue is idempotent anyway (`jobId` =
  row id), and a released row missing from the broker is the reconciler's ordinary case.
- one failed or was cancelled: it is cancelled, naming that job, and its own dependents
  follow (transitively).
- otherwise its message says how many it still waits for (`job.waiting`).

Nothing here needs a live process: a worker killed between a parent's end and `settle`,
or a flushed broker, leaves a blocked row whose parents have ended, and the reconciler's
`check` of blocked rows settles it. Why SQL rows and not BullMQ flows: README, Operations.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from ultudy.db.models import job_dependencies, jobs
from ultudy.db.types import utcnow
from ultudy.errors import JobInputError, NotFoundError
from ultudy.jobs.events import EventLog, event_payload
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.record import JobRecord, new_job, record_from_row, row_values
from ultudy.jobs.statements import transition_statement
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore

logger = logging.getLogger(__name__)

MAX_DEPENDENCIES = 50
ENDED_BADLY = {JobStatus.FAILED.value: "failed", JobStatus.CANCELLED.value: "was cancelled"}
_parent = jobs.alias("parent")
_edges = job_dependencies.join(_parent, _parent.c.id == job_dependencies.c.depends_on_id)


def waiting_message(count: int) -> str:
    return f"Waiting for {count} job{'' if count == 1 else 's'}"


class Dependencies:
    def __init__(self, store: JobStore, queues: JobQueues, events: EventLog) -> None:
        self.db = store.db
        self.queues = queues
        self.events = events
        self._tasks: set[asyncio.Task[None]] = set()

    async def parents(self, owner_id: str, ids: list[uuid.UUID]) -> list[JobRecord]:
        """The owner's jobs `ids`; an unknown one (or another owner's) is NotFoundError and
        one that already failed or was cancelled JobInputError, each naming the job."""
        if len(ids) > MAX_DEPENDENCIES:
            raise JobInputError(f"depends_on: at most {MAX_DEPENDENCIES} jobs")
        query = select(jobs).where(jobs.c.id.in_(ids), jobs.c.owner_id == owner_id)
        async with self.db.transaction(owner_id) as conn:
            found = {row.id: record_from_row(row) for row in await conn.execute(query)}
        for job_id in ids:
            if job_id not in found:
                raise NotFoundError(f"depends_on: job {job_id} not found")
            if found[job_id].status in ENDED_BADLY:
                raise JobInputError(
                    f"depends_on: job {job_id} {ENDED_BADLY[found[job_id].status]}; "
                    "a job waiting for it would never run"
                )
        return [found[job_id] for job_id in ids]

    async def create_waiting(self, record: JobRecord, parent_ids: list[uuid.UUID]) -> bool:
        """Insert the blocked job with its dependencies; False (nothing written) when a job
        with its id exists already (a spawned job, spawned again by a second run)."""
        edges = [
            {"job_id": record.id, "depends_on_id": p, "owner_id": record.owner_id}
            for p in parent_ids
        ]
        flag = (
            update(jobs)
            .where(jobs.c.id.in_(parent_ids), jobs.c.has_dependents.is_(False))
            .values(has_dependents=True)
        )
        try:
            async with self.db.transaction(record.owner_id) as conn:
                if (await conn.execute(select(jobs.c.id).where(jobs.c.id == record.id))).first():
                    return False
                await conn.execute(insert(jobs), [row_values(record)])
                await conn.execute(insert(job_dependencies), edges)
                await conn.execute(flag)
        except IntegrityError:
            return False  # a concurrent run inserted it first
        return True

    async def spawn(
        self,
        parent_id: uuid.UUID,
        owner_id: str,
        job_type: str,
        input_data: dict[str, Any],
        *,
        key: str,
    ) -> uuid.UUID:
        """A job that runs once the job `parent_id` (running) completes. Its id is derived
        from the parent's and `key`, so a second run of the parent spawns nothing new."""
        self.queues.kinds[job_type]  # an unknown type is JobInputError
        record = new_job(
            owner_id=owner_id,
            type=job_type,
            input_data=input_data,
            max_attempts=self.queues.settings.max_attempts,
            blocked=True,
            progress_message=waiting_message(1),
            job_id=uuid.uuid5(parent_id, key),
        )
        if await self.create_waiting(record, [parent_id]):
            self.events.publish_job("job.created", record)
            await self.check(record.id, record.owner_id, announce=record)
        return record.id

    async def check(
        self, job_id: uuid.UUID, owner_id: str, *, announce: JobRecord | None = None
    ) -> None:
        """Release, cancel or keep waiting a blocked job, as its dependencies say. A job
        still waiting gets a `job.waiting` event when its count changed, or when it is
        `announce`d (the job just submitted): not at every reconciler pass."""
        query = select(_parent.c.id, _parent.c.type, _parent.c.status).select_from(_edges)
        async with self.db.transaction(owner_id) as conn:
            rows = (await conn.execute(query.where(job_dependencies.c.job_id == job_id))).all()
        ended = [row for row in rows if row.status in ENDED_BADLY]
        unfinished = [row for row in rows if row.status != JobStatus.COMPLETED.value]
        if ended:
            await self._cancel(job_id, owner_id, ended[0])
        elif not unfinished:
            await self._release(job_id, owner_id)
        else:
            await self._still_waiting(job_id, owner_id, unfinished, announce)

    async def settle(self, ended: JobRecord) -> None:
        """After `ended` reached its final state: check every blocked job waiting for it."""
        if not ended.has_dependents:
            return
        query = (
            select(job_dependencies.c.job_id)
            .select_from(job_dependencies.join(jobs, jobs.c.id == job_dependencies.c.job_id))
            .where(
                job_dependencies.c.depends_on_id == ended.id,
                jobs.c.status == JobStatus.PENDING.value,
                jobs.c.blocked.is_(True),
            )
        )
        async with self.db.transaction(ended.owner_id) as conn:
            waiting = list((await conn.execute(query)).scalars())
        for job_id in waiting:
            await self.check(job_id, ended.owner_id)

    def settle_soon(self, ended: JobRecord) -> None:
        """`settle` in the background (from a write's callback). Lost if the process dies
        first: the reconciler settles what is left."""
        if not ended.has_dependents:
            return
        task = asyncio.ensure_future(self.settle(ended))
        self._tasks.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("settling dependents failed; the reconciler will", exc_info=True)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _cancel(self, job_id: uuid.UUID, owner_id: str, cause: Any) -> None:
        message = (
            f"Cancelled: job {cause.id} ({cause.type}) it depends on {ENDED_BADLY[cause.status]}."
        )
        values = {"error_message": message, "completed_at": utcnow()}
        statement = transition_statement(job_id, JobStatus.CANCELLED, values, owner_id)
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(statement.where(jobs.c.blocked.is_(True)))).first()
        if row is None:
            return
        record = record_from_row(row)
        self.events.publish_job("job.cancelled", record)
        await self.settle(record)

    async def _release(self, job_id: uuid.UUID, owner_id: str) -> None:
        unfinished = (
            select(job_dependencies.c.job_id)
            .select_from(_edges)
            .where(
                job_dependencies.c.job_id == job_id,
                _parent.c.status != JobStatus.COMPLETED.value,
            )
        )
        statement = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.owner_id == owner_id,
                jobs.c.status == JobStatus.PENDING.value,
                jobs.c.blocked.is_(True),
                ~exists(unfinished),
            )
            .values(blocked=False, progress_message=None, updated_at=utcnow())
            .returning(jobs)
        )
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            return  # released by someone else, or no longer waiting
        record = record_from_row(row)
        try:
            await self.queues.add(record)
        except (RedisError, OSError):
            logger.warning("enqueue of released job %s failed; the reconciler will", job_id)
        self.events.publish_job("job.queued", record)

    async def _still_waiting(
        self,
        job_id: uuid.UUID,
        owner_id: str,
        unfinished: list[Any],
        announce: JobRecord | None,
    ) -> None:
        message = waiting_message(len(unfinished))
        statement = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.status == JobStatus.PENDING.value,
                jobs.c.blocked.is_(True),
                jobs.c.progress_message.is_distinct_from(message),
            )
            .values(progress_message=message)
            .returning(jobs)
        )
        async with self.db.transaction(owner_id) as conn:
            row = (await conn.execute(statement)).first()
        record = record_from_row(row) if row is not None else announce
        if record is None:
            return  # nothing changed (a reconciler pass), or it is no longer waiting
        payload = event_payload("job.waiting", record)
        payload["waiting_for"] = [{"id": str(r.id), "type": r.type} for r in unfinished]
        self.events.publish(owner_id, "job.waiting", payload)
