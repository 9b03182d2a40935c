"""Per-user cap on queued work: a user's pending jobs (queued, delayed or waiting for a
retry) may not pass `ULTUDY_MAX_PENDING_JOBS_PER_USER`.

An indexed COUNT (a partial index holds only pending rows), at most once a second per
user while the user is well under the cap: after a count, the process keeps an upper
bound (the count, plus every submit of this process since) and admits without a query
while that bound is under the cap. Pending rows only grow by submits, so the bound holds
for this process's own submits; at the cap, or when it is over a second old, the count is
taken afresh, so a refusal always rests on a fresh count. Submits of the same user running
at once in this process are counted too, so a burst cannot slip in between the count and
the insert; across API processes a burst can pass the cap by that user's submits in the
other processes within the last second.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import func, select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.errors import UltudyError
from ultudy.jobs.states import JobStatus

RETRY_AFTER_S = 30
FRESH_S = 1.0  # how long a count stands in for the database (see above)
MAX_BOUNDS = 10_000  # users whose bound is kept; the oldest goes first


class TooManyJobsError(UltudyError):
    """You have too many jobs waiting; try again once some have run."""

    retry_after_s = RETRY_AFTER_S


@dataclass
class _Bound:
    """At most this many pending jobs of one user (counted at `at`, plus admitted since)."""

    count: int
    at: float


class PendingCap:
    def __init__(
        self, db: Database, limit: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.limit = limit
        self.clock = clock
        self._in_flight: Counter[str] = Counter()
        self._bounds: dict[str, _Bound] = {}

    @asynccontextmanager
    async def admit(self, owner_id: str) -> AsyncIterator[None]:
        """A place for one more pending job of `owner_id`, held until the block ends (its
        row is written); raises TooManyJobsError when there is none."""
        ahead = self._in_flight[owner_id]
        self._in_flight[owner_id] += 1
        try:
            bound = self._bounds.get(owner_id)
            stale = bound is not None and self.clock() - bound.at > FRESH_S
            if bound is None or bound.count >= self.limit or stale:
                if bound is not None and stale:
                    bound.at = self.clock()  # one recount at a time; others use the bound
                await self._count(owner_id, ahead)
            else:
                bound.count += 1
            yield
        finally:
            self._in_flight[owner_id] -= 1
            if not self._in_flight[owner_id]:
                del self._in_flight[owner_id]

    async def _count(self, owner_id: str, ahead: int) -> None:
        # A submit ahead whose row is committed by the time of the count is counted
        # twice: near the cap, a burst is refused a little early, never late.
        counted = await self.pending(owner_id)
        waiting = counted + ahead
        if waiting >= self.limit:
            self._bounds.pop(owner_id, None)
            raise TooManyJobsError(
                f"You have {waiting} jobs waiting (queued, delayed or retrying); the "
                f"limit is {self.limit}. Cancel some or try again once they have run."
            )
        # Every submit of this process under way now (this one included) may add a row
        # the count did not see.
        self._bounds[owner_id] = _Bound(counted + self._in_flight[owner_id], self.clock())
        if len(self._bounds) > MAX_BOUNDS:
            del self._bounds[next(iter(self._bounds))]

    async def pending(self, owner_id: str) -> int:
        query = select(func.count()).where(
            jobs.c.owner_id == owner_id, jobs.c.status == JobStatus.PENDING.value
        )
        async with self.db.transaction(owner_id) as conn:
            return int((await conn.execute(query)).scalar_one())
