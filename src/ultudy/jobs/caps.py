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

The same statement counts the job's fair-share rank (`jobs.fairness`): the owner's jobs
already waiting in the job's queue at its priority. Between counts the rank is the same
kind of bound (the count plus this process's submits since): within a process a user's
jobs rank in order; a job that started meanwhile still counts until the next count (the
user's next job ranks a little later, never ahead of others' fair turn); a cancel in this
process drops the bound. Across API processes, for up to a second, a process knows only
its own submits of a user, so a burst spread over processes can share ranks (equal ranks
run oldest first). A count per submit (exact ranks) cost the API 2.0 ms of CPU per submit
against 0.64 ms with the bound (bench/http_enqueue.py, SQLite, quiet machine).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

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
    """At most this many pending jobs of one user (counted at `at`, plus admitted since),
    and per queue and priority (`_queue_key`) at most this many of them waiting there."""

    count: int
    at: float
    ranks: dict[str, int] = field(default_factory=dict)


def _held(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if not counter[key]:
        del counter[key]


def _queue_key(owner_id: str, queue_types: Collection[str], priority: int) -> str:
    return f"{owner_id}\0{','.join(sorted(queue_types))}\0{priority}"


class PendingCap:
    def __init__(
        self, db: Database, limit: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.limit = limit
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
        rank: the owner's jobs of `priority` already waiting in the queue of `queue_types`."""
        queue_key = _queue_key(owner_id, queue_types, priority)
        ahead = self._in_flight[owner_id]
        ahead_in_queue = self._in_flight_queue[queue_key]
        self._in_flight[owner_id] += 1
        self._in_flight_queue[queue_key] += 1
        try:
            bound = self._bounds.get(owner_id)
            stale = bound is not None and self.clock() - bound.at > FRESH_S
            if bound is None or bound.count >= self.limit or stale or queue_key not in bound.ranks:
                if bound is not None and stale:
                    bound.at = self.clock()  # one recount at a time; others use the bound
                rank = await self._count(owner_id, ahead, queue_types, priority, queue_key)
                rank += ahead_in_queue
            else:
                bound.count += 1
                rank = bound.ranks[queue_key]
                bound.ranks[queue_key] += 1
            yield rank
        finally:
            _held(self._in_flight, owner_id)
            _held(self._in_flight_queue, queue_key)

    def forget(self, owner_id: str) -> None:
        """The owner's pending jobs went down (a cancel): count afresh next time."""
        self._bounds.pop(owner_id, None)

    async def _count(
        self,
        owner_id: str,
        ahead: int,
        queue_types: Collection[str],
        priority: int,
        queue_key: str,
    ) -> int:
        # A submit ahead whose row is committed by the time of the count is counted
        # twice: near the cap, a burst is refused a little early, never late.
        counted, in_queue = await self.pending_and_rank(owner_id, queue_types, priority)
        waiting = counted + ahead
        if waiting >= self.limit:
            self._bounds.pop(owner_id, None)
            raise TooManyJobsError(
                f"You have {waiting} jobs waiting (queued, delayed or retrying); the "
                f"limit is {self.limit}. Cancel some or try again once they have run."
            )
        # Every submit of this process under way now (this one included) may add a row
        # the count did not see.
        ranks = {queue_key: in_queue + self._in_flight_queue[queue_key]}
        self._bounds[owner_id] = _Bound(counted + self._in_flight[owner_id], self.clock(), ranks)
        if len(self._bounds) > MAX_BOUNDS:
            del self._bounds[next(iter(self._bounds))]
        return in_queue

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
        return (await self.pending_and_rank(owner_id))[0]
