"""Per-user cap on queued work: a user's pending jobs (queued, delayed or waiting for a
retry) may not pass `ULTUDY_MAX_PENDING_JOBS_PER_USER`.

One indexed COUNT per submit (a partial index holds only pending rows); the same statement
counts the job's fair-share rank (`jobs.fairness`). Submits of the same user running at
once in this process are counted too, so a burst cannot slip in between the count and the
insert; across API processes a burst can pass the cap by the number of that user's
submits in flight in the other processes (and share a rank with them: equal ranks run
oldest first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.errors import UltudyError
from ultudy.jobs.fairness import ready_in_queue
from ultudy.jobs.states import JobStatus

RETRY_AFTER_S = 30


class TooManyJobsError(UltudyError):
    """You have too many jobs waiting; try again once some have run."""

    retry_after_s = RETRY_AFTER_S


def _held(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


class PendingCap:
    def __init__(self, db: Database, limit: int) -> None:
        self.db = db
        self.limit = limit
        self._in_flight: Counter[str] = Counter()
        self._in_flight_queue: Counter[str] = Counter()  # by owner and queue

    @asynccontextmanager
    async def admit(
        self, owner_id: str, queue_types: Collection[str] = (), priority: int = 0
    ) -> AsyncIterator[int]:
        """A place for one more pending job of `owner_id`, held until the block ends (its
        row is written); raises TooManyJobsError when there is none. Yields the job's
        rank: the owner's jobs of `priority` already waiting in the queue of `queue_types`."""
        queue_key = f"{owner_id}\0{','.join(sorted(queue_types))}\0{priority}"
        ahead = self._in_flight[owner_id]
        ahead_in_queue = self._in_flight_queue[queue_key]
        self._in_flight[owner_id] += 1
        self._in_flight_queue[queue_key] += 1
        try:
            # A submit ahead whose row is committed by the time of the count is counted
            # twice: near the cap, a burst is refused a little early, never late.
            pending, in_queue = await self.counts(owner_id, queue_types, priority)
            waiting = pending + ahead
            if waiting >= self.limit:
                raise TooManyJobsError(
                    f"You have {waiting} jobs waiting (queued, delayed or retrying); the "
                    f"limit is {self.limit}. Cancel some or try again once they have run."
                )
            yield in_queue + ahead_in_queue
        finally:
            _held(self._in_flight, owner_id)
            _held(self._in_flight_queue, queue_key)

    async def counts(
        self, owner_id: str, queue_types: Collection[str] = (), priority: int = 0
    ) -> tuple[int, int]:
        """The owner's pending jobs, and those of them of `priority` ready in the queue of
        `queue_types`."""
        ready = ready_in_queue(queue_types, priority)
        query = select(func.count(), func.count().filter(ready)).where(
            jobs.c.owner_id == owner_id, jobs.c.status == JobStatus.PENDING.value
        )
        async with self.db.transaction(owner_id) as conn:
            pending, in_queue = (await conn.execute(query)).one()
        return int(pending), int(in_queue)

    async def pending(self, owner_id: str) -> int:
        return (await self.counts(owner_id))[0]
