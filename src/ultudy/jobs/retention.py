"""Retention of job rows: terminal rows older than `ULTUDY_JOB_ROW_RETENTION_DAYS` go.

Deleted by the worker in small batches (each its own short transaction) from its
reconciler loop, or by hand with `ultudy jobs prune --older-than 30d`. Cross-owner, so on
the system login (row-level security binds the app's login to one owner). What a job made
stays: documents, lessons and check-ins name their job in a plain `job_id` column (no
foreign key), so deleting the row neither cascades to them nor is blocked by them.

A terminal row never changes, so its `updated_at` is when it ended, and the (status,
updated_at) index finds the old ones without reading the others.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select

from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.db.types import utcnow
from ultudy.jobs.states import TERMINAL

logger = logging.getLogger(__name__)

BATCH_ROWS = 500
# a worker's pass deletes at most this many batches: a first run over years of rows
# spreads over passes instead of holding one worker's loop for minutes
BATCHES_PER_PASS = 10


async def delete_batch(db: Database, *, older_than: timedelta, limit: int = BATCH_ROWS) -> int:
    """Delete up to `limit` terminal rows that ended before `older_than` ago, oldest first."""
    cutoff = utcnow() - older_than
    old = (
        select(jobs.c.id)
        .where(jobs.c.status.in_([s.value for s in TERMINAL]), jobs.c.updated_at < cutoff)
        .order_by(jobs.c.updated_at)
        .limit(limit)
    )
    async with db.transaction(None) as conn:
        result = await conn.execute(delete(jobs).where(jobs.c.id.in_(old.scalar_subquery())))
    return int(result.rowcount)


async def prune(db: Database, *, older_than: timedelta, max_batches: int | None = None) -> int:
    """Delete old terminal rows batch by batch (all of them, or `max_batches`); the count."""
    deleted = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        done = await delete_batch(db, older_than=older_than)
        deleted += done
        batches += 1
        if done < BATCH_ROWS:
            break
    return deleted


async def prune_pass(db: Database, retention_days: int) -> int:
    """A worker's pass: a few batches, nothing when retention is 0 (keep)."""
    if retention_days <= 0:
        return 0
    deleted = await prune(
        db, older_than=timedelta(days=retention_days), max_batches=BATCHES_PER_PASS
    )
    if deleted:
        logger.info(
            "retention: deleted %d job row(s) ended over %d days ago", deleted, retention_days
        )
    return deleted
