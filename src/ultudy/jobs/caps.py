"""Per-user cap on queued work: a user's pending jobs (queued, delayed or waiting for a
retry) may not pass `ULTUDY_MAX_PENDING_JOBS_PER_USER`.

One indexed COUNT per submit (a partial index holds only pending rows). Submits of the
same user running at once in this process are counted too, so a burst cannot slip in
between the count and the insert; across API processes a burst can pass the cap by the
number of that user's submits in flight in the other processes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.errors import UltudyError
from ultudy.jobs.states import JobStatus

RETRY_AFTER_S = 30


class TooManyJobsError(UltudyError):
    """You have too many jobs waiting; try again once some have run."""

    retry_after_s = RETRY_AFTER_S


class PendingCap:
    def __init__(self, db: Database, limit: int) -> None:
        self.db = db
        self.limit = limit
        self._in_flight: Counter[str] = Counter()

    @asynccontextmanager
    async def admit(self, owner_id: str) -> AsyncIterator[None]:
        """A place for one more pending job of `owner_id`, held until the block ends (its
        row is written); raises TooManyJobsError when there is none."""
        ahead = self._in_flight[owner_id]
        self._in_flight[owner_id] += 1
        try:
            # A submit ahead whose row is committed by the time of the count is counted
            # twice: near the cap, a burst is refused a little early, never late.
            waiting = await self.pending(owner_id) + ahead
            if waiting >= self.limit:
                raise TooManyJobsError(
                    f"You have {waiting} jobs waiting (queued, delayed or retrying); the "
                    f"limit is {self.limit}. Cancel some or try again once they have run."
                )
            yield
        finally:
            self._in_flight[owner_id] -= 1
            if not self._in_flight[owner_id]:
                del self._in_flight[owner_id]

    async def pending(self, owner_id: str) -> int:
        query = select(func.count()).where(
            jobs.c.owner_id == owner_id, jobs.c.status == JobStatus.PENDING.value
        )
        async with self.db.transaction(owner_id) as conn:
            return int((await conn.execute(query)).scalar_one())
