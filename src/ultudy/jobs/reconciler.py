"""Makes Redis agree with SQL again after the broker lost data or a delivery went missing.

SQL is the source of truth. A row still `pending` or `processing` whose BullMQ job is gone
(Redis flushed, restored from an old snapshot, the enqueue after the insert failed) is
enqueued again; adding with `jobId` = row id makes a second add harmless. A row whose
BullMQ job completed without the row hearing of it (a completion written behind, then
lost) is run again. A row whose BullMQ job failed without our code recording it (stalled
too many times) is failed. A row that ended without its terminal event going out gets it
(jobs.announce). A blocked row (waiting for other jobs) is not in the broker by design:
its dependencies are checked instead, so a release or cancel lost with its worker happens
here (jobs.dependencies).
(jobs.announce). Terminal rows past their retention are deleted (jobs.retention).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime

from ultudy.jobs.announce import Announcer
from ultudy.jobs.dependencies import Dependencies
from ultudy.jobs.events import EventLog
from ultudy.jobs.fairness import waiting_ahead
from ultudy.jobs.queue import JobQueues
from ultudy.jobs.record import JobRecord
from ultudy.jobs.retention import prune_pass
from ultudy.jobs.states import ACTIVE, JobStatus
from ultudy.jobs.store import JobStore

logger = logging.getLogger(__name__)

# unfinished rows one pass checks (a broker round trip each)
PAGE_ROWS = 500
LIVE_STATES = frozenset(
    {"waiting", "active", "delayed", "prioritized", "paused", "wait", "waiting-children"}
)
# A sync request runs its job inline; one still unfinished after this died with its API.
INLINE_ABANDONED_AFTER_S = 3600
# A completion written behind is written, or given up, well within this after BullMQ
# finished the job (its retries pause 4.2 s in all): a row still behind it lost it.
BEHIND_SETTLED_S = 15
INLINE_ABANDONED_MESSAGE = "The server stopped while running this job; please submit it again."
REMOVED_MESSAGE = "Removed from its queue by an operator (BullMQ job removed); not run."
STALLED_OUT_MESSAGE = (
    "The job was interrupted too many times (its worker stopped responding) and was given up."
)


class Reconciler:
    def __init__(
        self,
        store: JobStore,
        queues: JobQueues,
        events: EventLog,
        dependencies: Dependencies | None = None,
    ) -> None:
        self.store = store
        self.dependencies = dependencies or Dependencies(store, queues, events)
        self.queues = queues
        self.events = events
        # Where the last pass stopped. A pass checks one page of unfinished rows, oldest
        # first; the next goes on from there. Starting from the oldest every time, a
        # backlog of a page of rows legitimately waiting in the broker hid every newer row
        # (one whose completion was lost, or whose job the broker lost) for as long as
        # the backlog lasted.
        self._after: tuple[datetime, uuid.UUID] | None = None
        self.announcer = Announcer(store, events)

    async def run_once(self, *, min_age_s: float) -> int:
        """Check a page of unfinished rows older than `min_age_s` (the next page each
        pass, then from the oldest again); returns how many were re-enqueued."""
        fixed = 0
        page = await self.store.unfinished(
            older_than_s=min_age_s, limit=PAGE_ROWS, after=self._after
        )
        self._after = (page[-1].updated_at, page[-1].id) if len(page) == PAGE_ROWS else None
        for record in page:
            fixed += await self._reconcile(record)
        for record in await self.store.unfinished(
            older_than_s=INLINE_ABANDONED_AFTER_S, inline=True
        ):
            failed = await self.store.fail(record.id, INLINE_ABANDONED_MESSAGE, owner_id=None)
            if failed is not None:
                self.events.publish_job("job.failed", failed)
                await self.dependencies.settle(failed)
        if fixed:
            logger.warning("reconciler re-enqueued %d job(s) missing from the broker", fixed)
        await self.announcer.run_once()
        await prune_pass(self.store.db, self.queues.settings.job_row_retention_days)
        return fixed

    async def _reconcile(self, stale: JobRecord) -> int:
        if stale.blocked and stale.status == JobStatus.PENDING:
            # Never enqueued: released (or cancelled) here if a settle was lost.
            await self.dependencies.check(stale.id, stale.owner_id)
            return 0
        state = await self.queues.state(stale.type, str(stale.id))
        if state in LIVE_STATES:
            return 0
        # Read the row again *after* the broker: the job may have run to its end between
        # the two reads, and acting on the older row would run it twice.
        record = await self.store.get(stale.id, owner_id=None)
        if record is None or record.status not in ACTIVE:
            return 0
        if state == "failed":
            failed = await self.store.fail(record.id, STALLED_OUT_MESSAGE, owner_id=None)
            if failed is not None:
                self.events.publish_job("job.failed", failed)
                await self.dependencies.settle(failed)
            return 0
        if state == "unknown" and await self.queues.removed_from_outside(
            record.type, str(record.id)
        ):
            # An operator removed the queued job (Bull Board's "remove"): they meant it
            # not to run, so the row says so rather than the job being added back.
            cancelled = await self.store.cancel(record.id, owner_id=None, message=REMOVED_MESSAGE)
            if cancelled is not None:
                self.events.publish_job("job.cancelled", cancelled)
            return 0
        if state == "completed":
            # BullMQ finished it but the row never heard: the worker writes a completion
            # behind, so for a moment that is normal; once that write would have settled,
            # it was lost (a crash, or a database outage outlasting its retries), and the
            # result with it: running the job again gets it. The finished BullMQ job goes
            # first, or the add would be ignored as a duplicate.
            finished = await self.queues.finished_at(record.type, str(record.id))
            if finished is not None and time.time() - finished < BEHIND_SETTLED_S:
                return 0
            await self.queues.queue_for(record.type).remove(str(record.id))
        types = self.queues.queue_types(record.type)
        rank = await waiting_ahead(self.store.db, record, types)
        await self.queues.add(record, rank=rank)
        return 1
