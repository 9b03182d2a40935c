"""Fair order between users within a queue: one user's backlog does not hold up another's.

BullMQ takes the job of lowest priority number first, and among equal numbers the oldest.
A job's number grows with how many jobs its owner already has waiting in its queue (its
*rank*): user A's 300 queued uploads get ranks 0..299, user B's one upload rank 0, so it
is next as soon as a slot frees, however long A's backlog. Users take turns, one job per
rank level, as in round robin. The rank counts from the level the queue serves now (the
number of its next waiting job, read from BullMQ's own structures in one round trip per
batch of adds), as in start-time fair queueing: a newcomer joins the current round
instead of level 0, so a steady stream of light users cannot starve an older backlog,
and a user's new job lands behind, or close behind, their own waiting ones.

The rank is counted in SQL, not kept in Redis: the per-user cap (`jobs.caps`) already runs
one COUNT of the owner's pending rows per submit, and the same statement counts the rank,
so a submit costs no extra round trip; and SQL is the truth, so there is no counter to
drift when a job is retried, cancelled, crashes or the broker is flushed (the reconciler
counts the rank of a job it enqueues again from the rows, `waiting_ahead`).

The user's own priority (0-10) stays the first key: each priority level is a band of
`RANK_BAND` numbers, so a priority 0 job of anyone goes before a priority 1 job of anyone,
and fairness orders the jobs within a band.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.jobs.record import JobRecord
from ultudy.jobs.states import JobStatus

# Ranks per user priority level; higher ranks share the band's last number. BullMQ takes
# priorities up to 2**21 and runs equal ones oldest first: 11 levels (0-10) of 100,000 fit.
RANK_BAND = 100_000


def bull_priority(user_priority: int, rank: int) -> int:
    """BullMQ's priority for a job of `user_priority` whose owner has `rank` jobs waiting
    ahead of it in its queue. 0 (a default job of an owner with none waiting) is BullMQ's
    plain wait list, which it empties before any prioritized job: the same order as a
    number below 1, and the cheaper add."""
    return user_priority * RANK_BAND + min(max(rank, 0), RANK_BAND - 1)


def band_floor(user_priority: int) -> int:
    """The lowest BullMQ score in the band of `user_priority` (a prioritized job's score is
    its priority times 2**32 plus an insertion counter)."""
    return (user_priority * RANK_BAND) << 32


def level_served(user_priority: int, *, first_score: float | None, plain: bool) -> int:
    """The rank level the queue serves now in the band of `user_priority`: that of the
    band's next job (`first_score`, the lowest score at or above the band's floor), 0 when
    none waits or jobs wait in the plain list (`plain`, rank 0 of band 0)."""
    if first_score is None or (plain and user_priority == 0):
        return 0
    level = (int(first_score) >> 32) - user_priority * RANK_BAND
    return level if 0 <= level < RANK_BAND else 0


def ready_in_queue(types: Collection[str], priority: int) -> ColumnElement[bool]:
    """A pending row of one of `types` (the kinds of one queue) in the band of `priority`
    that is due now: a job delayed until next week waits in no queue yet, so it does not
    count against its owner."""
    return and_(
        jobs.c.type.in_(list(types)),
        jobs.c.priority == priority,
        or_(jobs.c.run_at.is_(None), jobs.c.run_at <= utcnow()),
    )


async def waiting_ahead(db: Database, record: JobRecord, types: Collection[str]) -> int:
    """The rank of a job enqueued again (the reconciler): its owner's ready pending jobs of
    the same queue and priority created before it."""
    query = select(func.count()).where(
        jobs.c.owner_id == record.owner_id,
        jobs.c.status == JobStatus.PENDING.value,
        jobs.c.created_at < record.created_at,
        ready_in_queue(types, record.priority),
    )
    async with db.transaction(None) as conn:
        return int((await conn.execute(query)).scalar_one())
