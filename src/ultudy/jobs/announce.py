"""Terminal events that never went out are published late, once.

A worker writes a job's final row, then publishes its event (batched, a few ms later). A
worker killed between the two left the row `completed` and its watchers seeing
`processing` until they read the job again. Every terminal event is published through
EventLog's script, which appends it only if the job joins the "announced" set in the
same call (at most one per job). The reconciler asks that set about the rows that
reached a terminal state since its last pass, and publishes the missing ones' events.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.jobs.events import ANNOUNCED_KEEP_S, EventLog
from ultudy.jobs.record import JobRecord, record_from_row
from ultudy.jobs.states import JobStatus
from ultudy.jobs.store import JobStore

logger = logging.getLogger(__name__)

# How far back a pass looks for rows whose event is missing, at most (its first pass, or
# after a pause): the announced set remembers longer (ANNOUNCED_KEEP_S).
RECOVER_WITHIN_S = ANNOUNCED_KEEP_S // 2
# A row this fresh has its event on the way (a few ms normally): not looked at yet.
SETTLE_S = 1.0
# A row's `updated_at` is when its write was queued; a completion written behind lands up
# to ~5 s later (jobs.writer.BEHIND_RETRY_S): each pass goes back this far over the last.
OVERLAP_S = 15.0
# rows read per query when many events are missing (a worker killed with a full batch, or
# a database shared with another broker): one query per row took a worker's CPU for long
ROWS_PAGE = 500
EVENT_OF = {
    JobStatus.COMPLETED: "job.completed",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELLED: "job.cancelled",
}


class Announcer:
    def __init__(self, store: JobStore, events: EventLog) -> None:
        self.store = store
        self.events = events
        self._until: datetime | None = None  # where the last pass stopped

    async def run_once(self) -> int:
        """Publish the terminal event of each row that reached its end since the last pass
        (up to RECOVER_WITHIN_S ago) and has none; returns how many it sent (the event
        script still drops one that went out meanwhile)."""
        now = utcnow()
        since = now - timedelta(seconds=RECOVER_WITHIN_S)
        if self._until is not None:
            since = max(since, self._until - timedelta(seconds=OVERLAP_S))
        until = now - timedelta(seconds=SETTLE_S)
        ended = await finished_between(self.store.db, since, until)
        published = 0
        missing = await self.events.unannounced(ended)
        for start in range(0, len(missing), ROWS_PAGE):
            for record in await rows_of(self.store.db, missing[start : start + ROWS_PAGE]):
                if kind := EVENT_OF.get(JobStatus(record.status)):
                    self.events.publish_job(kind, record)
                    published += 1
        self._until = until
        if published:
            logger.warning("publishing %d lost terminal event(s)", published)
        return published


async def finished_between(db: Database, since: datetime, until: datetime) -> list[str]:
    """Ids of the rows (any owner) that reached a terminal state in (since, until]."""
    query = select(jobs.c.id).where(
        jobs.c.status.in_([status.value for status in EVENT_OF]),
        jobs.c.updated_at > since,
        jobs.c.updated_at <= until,
    )
    async with db.transaction(None) as conn:
        return [str(row.id) for row in await conn.execute(query)]


async def rows_of(db: Database, job_ids: list[str]) -> list[JobRecord]:
    """These jobs' rows (any owner), as they are now, oldest change first."""
    query = (
        select(jobs)
        .where(jobs.c.id.in_([uuid.UUID(job_id) for job_id in job_ids]))
        .order_by(jobs.c.updated_at)
    )
    async with db.transaction(None) as conn:
        return [record_from_row(row) for row in await conn.execute(query)]
