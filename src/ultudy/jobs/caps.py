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

With fair sharing on (`ranked`), every submit counts instead, and the same statement
counts the job's fair-share rank (`jobs.fairness`): the owner's jobs already waiting in
the job's queue at its priority. A rank must see the other processes' submits and the
jobs that started or were cancelled since, so it is never taken from a bound.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import func, select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.errors import UltudyError
from ultudy.jobs.fairness import ready_in_queue
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


def _held(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


def _queue_key(owner_id: str, queue_types: Collection[str], priority: int) -> str:
    return f"{owner_id}\0{','.join(sorted(queue_types))}\0{priority}"


class PendingCap:
    def __init__(
        self,
        db: Database,
        limit: int,
        *,
        ranked: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.limit = limit
        self.ranked = ranked
        self.clock = clock
        self._in_flight: Counter[str] = Counter()
        self._in_flight_queue: Counter[str] = Counter()  # by owner, queue and priority
        self._bounds: dict[str, _Bound] = {}

    @asynccontextmanager
    async def admit(
        self, owner_id: str, queue_types: Collection[str] = (), priority: int = 0
    ) -> AsyncIterator[int]:
        """A place for one more pending job of `owner_id`, held until the block ends (its
        row is written); raises TooManyJobsError when there is none. Yields the job's
        rank when `ranked` (the owner's jobs of `priority` already waiting in the queue of
        `queue_types`), else 0."""
        queue_key = _queue_key(owner_id, queue_types, priority)
        ahead = self._in_flight[owner_id]
        ahead_in_queue = self._in_flight_queue[queue_key]
        self._in_flight[owner_id] += 1
        self._in_flight_queue[queue_key] += 1
        try:
            if self.ranked:
                pending, in_queue = await self.pending_and_rank(owner_id, queue_types, priority)
                self._check(pending + ahead)
                yield in_queue + ahead_in_queue
            else:
                await self._admit_within_bound(owner_id, ahead)
                yield 0
        finally:
            _held(self._in_flight, owner_id)
            _held(self._in_flight_queue, queue_key)

    def _check(self, waiting: int) -> None:
        # A submit ahead whose row is committed by the time of the count is counted
        # twice: near the cap, a burst is refused a little early, never late.
        if waiting >= self.limit:
            raise TooManyJobsError(
                f"You have {waiting} jobs waiting (queued, delayed or retrying); the "
                f"limit is {self.limit}. Cancel some or try again once they have run."
            )

    async def _admit_within_bound(self, owner_id: str, ahead: int) -> None:
        bound = self._bounds.get(owner_id)
        stale = bound is not None and self.clock() - bound.at > FRESH_S
        if bound is not None and bound.count < self.limit and not stale:
            bound.count += 1
            return
        if bound is not None and stale:
            bound.at = self.clock()  # one recount at a time; others use the bound
        try:
            counted = await self.pending(owner_id)
            self._check(counted + ahead)
        except TooManyJobsError:
            self._bounds.pop(owner_id, None)
            raise
        # Every submit of this process under way now (this one included) may add a row
        # the count did not see.
        self._bounds[owner_id] = _Bound(counted + self._in_flight[owner_id], self.clock())
        if len(self._bounds) > MAX_BOUNDS:
            del self._bounds[next(iter(self._bounds))]

    async def pending_and_rank(
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
        query = select(func.count()).where(
            jobs.c.owner_id == owner_id, jobs.c.status == JobStatus.PENDING.value
        )
        async with self.db.transaction(owner_id) as conn:
            return int((await conn.execute(query)).scalar_one())
