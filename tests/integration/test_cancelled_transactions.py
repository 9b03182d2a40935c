"""A task cancelled in the middle of a statement of its transaction (a worker's forced
close at the end of its grace period) leaves no lock behind: the next write goes through
at once, not after the busy timeout (SQLite: the file's write lock)."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import select, update

from tests.support.backends import Backend
from ultudy.db import Database
from ultudy.db.models import jobs
from ultudy.jobs.store import JobStore
from ultudy.kinds import JobType

# Each cancellation lands somewhere in a statement; on the old code about one in four left
# the lock held, so 20 of them all but never pass by luck.
CANCELS = 20
NEXT_WRITE_S = 3.0  # far below the 10 s busy timeout a held lock makes a write wait


async def _touch_forever(db: Database, job_id: uuid.UUID, owner_id: str) -> None:
    async with db.transaction(owner_id) as conn:
        while True:
            await conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(progress=(jobs.c.progress + 1) % 100)
            )
            await conn.execute(select(jobs.c.progress).where(jobs.c.id == job_id))


async def test_a_transaction_cancelled_mid_statement_leaves_no_lock(backend: Backend) -> None:
    db = backend.database()
    store = JobStore(db)
    record = await store.create(
        owner_id="alice", type=JobType.LESSON_GENERATION, input_data={}, max_attempts=1
    )
    cancelled: list[asyncio.Task[None]] = []  # kept, as a worker keeps its job tasks
    try:
        for n in range(CANCELS):
            task = asyncio.create_task(_touch_forever(db, record.id, "alice"))
            cancelled.append(task)
            await asyncio.sleep(0.005 + n * 0.001)
            task.cancel()
            began = time.monotonic()
            await asyncio.wait_for(
                store.set_progress(record.id, n, "next", owner_id="alice"), NEXT_WRITE_S
            )
            assert time.monotonic() - began < NEXT_WRITE_S
        await asyncio.gather(*cancelled, return_exceptions=True)
        assert all(task.cancelled() for task in cancelled)
    finally:
        await db.dispose()
